// libhdf5 trusts the metadata of the files it opens: a damaged file can make it dereference wild
// addresses, abort inside its cache or loop forever (seen: H5HG_read, H5HG__protect). It cannot be
// made to refuse such files, so a forked child reads every piece of metadata conceptree could
// touch first; if the library dies or hangs there, only the child does, and the caller gets an
// InputError naming the file and the object being read.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "conceptree/error.hpp"
#include "hdf5/hdf5.hpp"

namespace conceptree::h5 {

namespace {

// Longer strings than this in one id, name or attribute are not something conceptree writes or
// needs; a damaged global heap can claim gigabytes for one.
constexpr std::size_t kMaxStringBytes = std::size_t{64} << 20;
constexpr int kStatusRefused = 3;

struct ChildReport {
  int pipe;
  void say(const std::string& line) const {
    const std::string text = line + "\n";
    std::size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = ::write(pipe, text.data() + written, text.size() - written);
      if (n <= 0) return;
      written += static_cast<std::size_t>(n);
    }
  }
};

// Once libhdf5 has failed on a file's metadata, closing that file can fail too and leave the
// library unable to shut down cleanly; so any failure here refuses the file before the caller
// opens it.
[[noreturn]] void refuse(const ChildReport& report, const std::string& problem) {
  report.say("refused:damaged HDF5 file: " + problem);
  ::_exit(kStatusRefused);
}

bool strings_are_sane(hid_t memory_type, hid_t space, std::vector<char*>& pointers) {
  bool sane = std::all_of(pointers.begin(), pointers.end(),
                          [](const char* p) { return p == nullptr || strnlen(p, kMaxStringBytes + 1) <= kMaxStringBytes; });
  H5Dvlen_reclaim(memory_type, space, H5P_DEFAULT, pointers.data());
  return sane;
}

// Reads `count` variable-length strings through `read` (an attribute's or a dataset's) and refuses
// the file when one is absurdly long; false when the library cannot read them.
template <class Read>
bool read_variable_strings(hid_t stored, hid_t space, std::size_t count, Read&& read, const ChildReport& report, const std::string& where) {
  Handle type = string_type(H5Tget_cset(stored));
  std::vector<char*> pointers(count, nullptr);
  if (read(type.id(), pointers.data()) < 0) return false;
  if (!strings_are_sane(type.id(), space, pointers)) refuse(report, where + " holds a string longer than 64 MiB");
  return true;
}

// Reads one attribute whole, the way conceptree's readers would; false when it is unreadable.
bool read_attribute(hid_t attribute, const ChildReport& report, const std::string& where) {
  Handle stored(H5Aget_type(attribute));
  Handle space(H5Aget_space(attribute));
  if (!stored.valid() || !space.valid()) return false;
  const hssize_t count = H5Sget_simple_extent_npoints(space.id());
  if (count < 0) return false;
  if (count == 0) return true;  // an empty list (Keras writes them), or a null dataspace
  const H5T_class_t type_class = H5Tget_class(stored.id());
  if (type_class == H5T_STRING && H5Tis_variable_str(stored.id()) > 0) {
    return read_variable_strings(
        stored.id(), space.id(), static_cast<std::size_t>(count), [&](hid_t type, char** out) { return H5Aread(attribute, type, out); },
        report, where);
  }
  if (type_class == H5T_STRING || type_class == H5T_INTEGER || type_class == H5T_FLOAT) {
    const std::size_t size = H5Tget_size(stored.id());
    std::vector<char> buffer(static_cast<std::size_t>(count) * size);
    return H5Aread(attribute, stored.id(), buffer.data()) >= 0;
  }
  return true;
}

// Strings are read whole (their global heap is where damaged files crash the library); for numbers,
// the chunk index is walked and the first row read: the bulk of the values is plain data.
bool read_dataset_sample(hid_t dataset, const ChildReport& report, const std::string& where) {
  Handle stored(H5Dget_type(dataset));
  Handle space(H5Dget_space(dataset));
  if (!stored.valid() || !space.valid()) return false;
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) return false;
  std::vector<hsize_t> extent(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.id(), extent.data(), nullptr);
  (void)H5Dget_storage_size(dataset);
  if (std::any_of(extent.begin(), extent.end(), [](hsize_t d) { return d == 0; })) return true;
  if (H5Tget_class(stored.id()) == H5T_STRING && H5Tis_variable_str(stored.id()) > 0) {
    if (rank != 1 || extent[0] > (std::uint64_t{1} << 28)) return true;  // the readers refuse these shapes themselves
    return read_variable_strings(
        stored.id(), space.id(), extent[0],
        [&](hid_t type, char** out) { return H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out); }, report, where);
  }
  std::vector<hsize_t> start(extent.size(), 0);
  std::vector<hsize_t> block(extent.size(), 1);
  if (rank > 1) block.back() = std::min<hsize_t>(extent.back(), 1 << 20);
  if (H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr) < 0) return false;
  Handle memory_space(H5Screate_simple(rank, block.data(), nullptr));
  const std::size_t size = std::max<std::size_t>(H5Tget_size(stored.id()), 1);
  std::vector<char> buffer(block.back() * size * 2);
  Handle memory_type(H5Tget_native_type(stored.id(), H5T_DIR_ASCEND));
  if (!memory_type.valid() || H5Tget_size(memory_type.id()) > 2 * size) return true;
  return H5Dread(dataset, memory_type.id(), memory_space.id(), space.id(), H5P_DEFAULT, buffer.data()) >= 0;
}

herr_t visit_object(hid_t location, const char* name, const H5O_info_t* info, void* data) {
  const auto& report = *static_cast<const ChildReport*>(data);
  const std::string where = std::string("/") + (std::strcmp(name, ".") == 0 ? "" : name);
  report.say("at:" + where);
  Handle object(H5Oopen(location, name, H5P_DEFAULT));
  if (!object.valid()) refuse(report, "cannot open " + where);
  for (hsize_t i = 0; i < info->num_attrs; ++i) {
    Handle attribute(H5Aopen_by_idx(object.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT));
    if (!attribute.valid() || !read_attribute(attribute.id(), report, where + " (attribute " + std::to_string(i) + ")")) {
      refuse(report, "cannot read attribute " + std::to_string(i) + " of " + where);
    }
  }
  if (info->type == H5O_TYPE_DATASET && !read_dataset_sample(object.id(), report, where)) refuse(report, "cannot read " + where);
  return 0;
}

[[noreturn]] void probe_in_child(const std::string& name, int pipe) {
  const ChildReport report{pipe};
  // Whatever dies with the child (a sanitiser's report, a library's message) is not the user's
  // business: the parent reports the outcome once.
  const int null_device = ::open("/dev/null", O_WRONLY);
  if (null_device >= 0) ::dup2(null_device, STDERR_FILENO);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t file = H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) refuse(report, "the HDF5 library cannot open it (truncated or corrupt?)");
  if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, visit_object, const_cast<ChildReport*>(&report), H5O_INFO_ALL) < 0) {
    refuse(report, "the HDF5 library cannot list its objects");
  }
  if (H5Fclose(file) < 0) refuse(report, "the HDF5 library cannot close it");
  report.say("done");
  // No atexit handlers, no HDF5 shutdown, no leak report: the parent owns all of that.
  ::_exit(0);
}

std::string describe_signal(int signal_number) {
  const char* text = strsignal(signal_number);
  return text ? std::string(text) : "signal " + std::to_string(signal_number);
}

}  // namespace

void probe_file(const std::filesystem::path& path, std::chrono::milliseconds time_limit) {
  const std::string name = path.string();
  int pipe_ends[2];
  if (::pipe(pipe_ends) != 0) throw FatalError(name + ": cannot create a pipe to check the file");
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(pipe_ends[0]);
    ::close(pipe_ends[1]);
    throw FatalError(name + ": cannot fork to check the file");
  }
  if (child == 0) {
    ::close(pipe_ends[0]);
    probe_in_child(name, pipe_ends[1]);
  }
  ::close(pipe_ends[1]);

  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + time_limit;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd waiting{pipe_ends[0], POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(pipe_ends[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
    // Only the last lines matter; a file with millions of objects must not grow this without end.
    if (output.size() > (1u << 16)) output.erase(0, output.size() - (1u << 15));
  }
  ::close(pipe_ends[0]);
  if (timed_out) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }

  auto last_line_with = [&](const std::string& prefix) -> std::string {
    std::size_t at = output.rfind("\n" + prefix);
    if (at == std::string::npos) return output.rfind(prefix, 0) == 0 ? output.substr(prefix.size(), output.find('\n') - prefix.size()) : "";
    at += 1 + prefix.size();
    return output.substr(at, output.find('\n', at) - at);
  };
  const std::string object = last_line_with("at:");
  const std::string where = object.empty() ? "" : " while reading " + object;
  if (timed_out) {
    throw InputError(name, "damaged HDF5 file: the HDF5 library did not finish reading its metadata within " +
                               std::to_string(time_limit.count() / 1000) + " s" + where);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kStatusRefused) throw InputError(name, last_line_with("refused:"));
  if (WIFSIGNALED(status)) {
    throw InputError(name, "damaged HDF5 file: the HDF5 library crashed (" + describe_signal(WTERMSIG(status)) + ")" + where);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || output.find("done\n") == std::string::npos) {
    throw InputError(name, "damaged HDF5 file: the HDF5 library failed (exit status " +
                               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")" + where);
  }
}

}  // namespace conceptree::h5
