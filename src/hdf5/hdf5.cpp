#include "hdf5/hdf5.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>

#include <unistd.h>

#include "conceptree/error.hpp"

namespace conceptree::h5 {

namespace {

// HDF5's error printing is one setting for the process (or thread), so the scopes that silence
// it are counted: the first saves the host's setting, the last restores it.
std::mutex silenced_mutex;
int silenced_scopes = 0;
H5E_auto2_t host_error_function = nullptr;
void* host_error_data = nullptr;

void check(herr_t status, const std::string& what) {
  if (status < 0) throw FatalError("HDF5: " + what + " failed");
}

hid_t checked_id(hid_t id, const std::string& what) {
  if (id < 0) throw FatalError("HDF5: " + what + " failed");
  return id;
}

std::string name_of(hid_t object, ssize_t (*get)(hid_t, char*, std::size_t)) {
  const ssize_t length = get(object, nullptr, 0);
  if (length <= 0) return "?";
  std::string name(static_cast<std::size_t>(length), '\0');
  get(object, name.data(), name.size() + 1);
  return name;
}

// Read failures come from the file's contents, so they name the file and the object, as any
// InputError does: HDF5 knows both from the identifier.
[[noreturn]] void throw_unreadable(hid_t object, const std::string& problem) {
  throw InputError(name_of(object, H5Fget_name), name_of(object, H5Iget_name) + ": " + problem);
}

void check_read(herr_t status, hid_t object, const std::string& what) {
  if (status < 0) throw_unreadable(object, what + " failed (damaged or truncated file?)");
}

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size)
                                    : std::numeric_limits<std::uint64_t>::max();
}


// Creates the groups above `path` ourselves, with time tracking off: HDF5's own intermediate
// groups would record their creation time and make identical runs write different bytes.
void create_parent_groups(hid_t location, const std::string& path);

Handle link_creation_with_parents() {
  Handle list(checked_id(H5Pcreate(H5P_LINK_CREATE), "property list"));
  check(H5Pset_create_intermediate_group(list.id(), 1), "property list");
  return list;
}

}  // namespace

Handle string_type(H5T_cset_t character_set) {
  Handle type(checked_id(H5Tcopy(H5T_C_S1), "string type"));
  check(H5Tset_size(type.id(), H5T_VARIABLE), "string type");
  check(H5Tset_cset(type.id(), character_set), "string type");
  return type;
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = H5I_INVALID_HID;
}

LibraryErrorsSilenced::LibraryErrorsSilenced() {
  std::lock_guard lock(silenced_mutex);
  if (silenced_scopes++ == 0) {
    H5Eget_auto2(H5E_DEFAULT, &host_error_function, &host_error_data);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
}

LibraryErrorsSilenced& LibraryErrorsSilenced::operator=(LibraryErrorsSilenced&& other) noexcept {
  if (this != &other) {
    release();
    active_ = other.active_;
    other.active_ = false;
  }
  return *this;
}

LibraryErrorsSilenced::~LibraryErrorsSilenced() { release(); }

void LibraryErrorsSilenced::release() {
  if (!active_) return;
  active_ = false;
  std::lock_guard lock(silenced_mutex);
  if (--silenced_scopes == 0) H5Eset_auto2(H5E_DEFAULT, host_error_function, host_error_data);
}

File::File(const std::filesystem::path& path, Mode mode) : name_(path.string()) {
  if (mode == Mode::Create) {
    // The 1.8 format keeps the files readable by every h5py still in use.
    Handle access(checked_id(H5Pcreate(H5P_FILE_ACCESS), "file access list"));
    check(H5Pset_libver_bounds(access.id(), H5F_LIBVER_V18, H5F_LIBVER_V18), "format bounds");
    Handle creation(checked_id(H5Pcreate(H5P_FILE_CREATE), "file creation list"));
    check(H5Pset_link_creation_order(creation.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), "link order");
    check(H5Pset_obj_track_times(creation.id(), false), "time tracking");
    const hid_t id = H5Fcreate(name_.c_str(), H5F_ACC_TRUNC, creation.id(), access.id());
    if (id < 0) throw FatalError(name_ + ": cannot create HDF5 file");
    handle_ = Handle(id);
    return;
  }
  if (!std::filesystem::exists(path)) throw InputError(name_, "no such file");
  if (!is_hdf5(path)) throw InputError(name_, "not an HDF5 file");
  probe_file(path);
  const hid_t id = H5Fopen(name_.c_str(), mode == Mode::ReadOnly ? H5F_ACC_RDONLY : H5F_ACC_RDWR, H5P_DEFAULT);
  if (id < 0) throw InputError(name_, "cannot open HDF5 file (truncated or corrupt?)");
  handle_ = Handle(id);
}

void File::flush() const { check(H5Fflush(handle_.id(), H5F_SCOPE_GLOBAL), name_ + ": flush"); }

void File::close() {
  if (!handle_.valid()) return;
  const herr_t status = H5Fclose(handle_.id());
  // The identifier is gone whether or not the close succeeded.
  handle_ = Handle();
  if (status < 0) throw FatalError(name_ + ": closing the HDF5 file failed");
}

bool is_hdf5(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  char signature[8] = {};
  stream.read(signature, sizeof(signature));
  return stream.gcount() == 8 && std::memcmp(signature, "\x89HDF\r\n\x1a\n", 8) == 0;
}

bool exists(hid_t location, const std::string& path) {
  std::string prefix;
  std::size_t start = path.front() == '/' ? 1 : 0;
  if (start) prefix = "/";
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    prefix += path.substr(start, end - start);
    if (H5Lexists(location, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    prefix += '/';
    start = end + 1;
  }
  return true;
}

Handle create_group(hid_t location, const std::string& path) {
  if (exists(location, path)) return Handle(checked_id(H5Gopen2(location, path.c_str(), H5P_DEFAULT), "open " + path));
  create_parent_groups(location, path);
  Handle links = link_creation_with_parents();
  Handle creation(checked_id(H5Pcreate(H5P_GROUP_CREATE), "group creation list"));
  check(H5Pset_link_creation_order(creation.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), "link order");
  // Same inputs, same bytes: no modification times in the file.
  check(H5Pset_obj_track_times(creation.id(), false), "time tracking");
  return Handle(checked_id(H5Gcreate2(location, path.c_str(), links.id(), creation.id(), H5P_DEFAULT), "create group " + path));
}

namespace {
void create_parent_groups(hid_t location, const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return;
  create_group(location, path.substr(0, slash));
}
}  // namespace

Handle open_dataset(hid_t location, const std::string& path, const std::string& file_name) {
  if (!exists(location, path)) throw InputError(file_name, "no dataset " + path);
  const hid_t id = H5Dopen2(location, path.c_str(), H5P_DEFAULT);
  if (id < 0) throw InputError(file_name, path + " is not a readable dataset");
  return Handle(id);
}

Handle open_group(hid_t location, const std::string& path, const std::string& file_name) {
  if (!exists(location, path)) throw InputError(file_name, "no group " + path);
  const hid_t id = H5Gopen2(location, path.c_str(), H5P_DEFAULT);
  if (id < 0) throw InputError(file_name, path + " is not a group");
  return Handle(id);
}

std::vector<std::uint64_t> dims(hid_t dataset) {
  Handle space(checked_id(H5Dget_space(dataset), "dataspace"));
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) throw FatalError("HDF5: dataspace rank failed");
  std::vector<hsize_t> extent(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.id(), extent.data(), nullptr);
  return {extent.begin(), extent.end()};
}

std::uint64_t check_value_count(hid_t dataset, std::size_t memory_value_size) {
  const auto extent = dims(dataset);
  std::uint64_t count = 1;
  for (auto d : extent) {
    if (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / d) throw_unreadable(dataset, "declares more values than can be counted");
    count *= d;
  }
  if (count == 0) return 0;
  Handle stored(checked_id(H5Dget_type(dataset), "dataset type"));
  const double stored_value_size = static_cast<double>(std::max<std::size_t>(H5Tget_size(stored.id()), 1));
  // Deflate cannot shrink data by more than about 1032:1; a dataset declaring far more than that
  // over what it stores is damaged (conceptree never writes sparse datasets).
  constexpr double kMaxCompression = 1100;
  const double stored_bytes = static_cast<double>(H5Dget_storage_size(dataset));
  if (static_cast<double>(count) * stored_value_size > stored_bytes * kMaxCompression + double(1 << 20)) {
    throw_unreadable(dataset, "declares " + std::to_string(count) + " values but stores only " +
                                  std::to_string(static_cast<std::uint64_t>(stored_bytes)) + " bytes (damaged or truncated file?)");
  }
  const double needed = static_cast<double>(count) * static_cast<double>(memory_value_size);
  if (needed > static_cast<double>(physical_memory_bytes())) {
    throw_unreadable(dataset, "reading its " + std::to_string(count) + " values needs " +
                                  std::to_string(static_cast<std::uint64_t>(needed / double(1 << 20))) + " MiB, more than this machine's " +
                                  std::to_string(physical_memory_bytes() >> 20) + " MiB of memory");
  }
  return count;
}

std::vector<std::string> member_names(hid_t group) {
  H5G_info_t info;
  check(H5Gget_info(group, &info), "group info");
  H5_index_t index = H5_INDEX_CRT_ORDER;
  Handle creation(H5Gget_create_plist(group));
  unsigned order_flags = 0;
  if (!creation.valid() || H5Pget_link_creation_order(creation.id(), &order_flags) < 0 ||
      !(order_flags & H5P_CRT_ORDER_TRACKED)) {
    index = H5_INDEX_NAME;
  }
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t length = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (length < 0) throw FatalError("HDF5: member name failed");
    std::string name(static_cast<std::size_t>(length), '\0');
    H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

Handle create_extendable(hid_t location, const std::string& path, hid_t type, std::uint64_t columns,
                         const ChunkedLayout& layout) {
  const int rank = columns == 0 ? 1 : 2;
  const hsize_t initial[2] = {0, columns};
  const hsize_t maximum[2] = {H5S_UNLIMITED, columns};
  const hsize_t chunk[2] = {std::max<hsize_t>(1, layout.chunk_rows), std::max<hsize_t>(1, columns)};
  Handle space(checked_id(H5Screate_simple(rank, initial, maximum), "dataspace"));
  Handle creation(checked_id(H5Pcreate(H5P_DATASET_CREATE), "dataset creation list"));
  check(H5Pset_chunk(creation.id(), rank, chunk), "chunking");
  check(H5Pset_obj_track_times(creation.id(), false), "time tracking");
  if (layout.shuffle) check(H5Pset_shuffle(creation.id()), "shuffle filter");
  if (layout.deflate_level > 0) check(H5Pset_deflate(creation.id(), static_cast<unsigned>(layout.deflate_level)), "deflate filter");
  // Last, so it sums the bytes as stored: a damaged chunk then fails to read instead of giving
  // other numbers. HDF5 refuses it on variable-length data (whose chunks hold heap references).
  if (H5Tis_variable_str(type) <= 0 && H5Tget_class(type) != H5T_VLEN) check(H5Pset_fletcher32(creation.id()), "checksum filter");
  create_parent_groups(location, path);
  Handle links = link_creation_with_parents();
  return Handle(checked_id(H5Dcreate2(location, path.c_str(), type, space.id(), links.id(), creation.id(), H5P_DEFAULT),
                           "create dataset " + path));
}

void resize_rows(hid_t dataset, std::uint64_t rows) {
  auto extent = dims(dataset);
  extent[0] = rows;
  std::vector<hsize_t> size(extent.begin(), extent.end());
  check(H5Dset_extent(dataset, size.data()), "resize dataset");
}

namespace {
// Selects rows [first, first+count) along the first dimension; returns the file and memory spaces.
std::pair<Handle, Handle> select_rows(hid_t dataset, std::uint64_t first, std::uint64_t count) {
  const auto extent = dims(dataset);
  if (extent.empty()) throw FatalError("HDF5: cannot select rows of a scalar dataset");
  if (first + count > extent[0]) throw FatalError("HDF5: row range beyond the dataset's end");
  Handle file_space(checked_id(H5Dget_space(dataset), "dataspace"));
  std::vector<hsize_t> start(extent.size(), 0);
  std::vector<hsize_t> block(extent.begin(), extent.end());
  start[0] = first;
  block[0] = count;
  check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr), "select rows");
  Handle memory_space(checked_id(H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr), "dataspace"));
  return {std::move(file_space), std::move(memory_space)};
}
}  // namespace

void append_rows(hid_t dataset, hid_t memory_type, const void* data, std::uint64_t rows) {
  if (rows == 0) return;
  const std::uint64_t existing = dims(dataset)[0];
  resize_rows(dataset, existing + rows);
  auto [file_space, memory_space] = select_rows(dataset, existing, rows);
  check(H5Dwrite(dataset, memory_type, memory_space.id(), file_space.id(), H5P_DEFAULT, data), "append rows");
}

void read_rows(hid_t dataset, hid_t memory_type, std::uint64_t first, std::uint64_t count, void* out) {
  if (count == 0) return;
  auto [file_space, memory_space] = select_rows(dataset, first, count);
  check_read(H5Dread(dataset, memory_type, memory_space.id(), file_space.id(), H5P_DEFAULT, out),
             dataset, "reading rows " + std::to_string(first) + ".." + std::to_string(first + count));
}

Handle create_extendable_strings(hid_t location, const std::string& path, std::uint64_t chunk_rows) {
  Handle type = string_type();
  return create_extendable(location, path, type.id(), 0, {.chunk_rows = chunk_rows, .deflate_level = 4});
}

void append_strings(hid_t dataset, std::span<const std::string> values) {
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& value : values) pointers.push_back(value.c_str());
  Handle type = string_type();
  append_rows(dataset, type.id(), pointers.data(), pointers.size());
}

std::vector<std::string> read_strings(hid_t dataset) {
  const auto extent = dims(dataset);
  if (extent.size() != 1) throw_unreadable(dataset, "expected a 1-D list of strings, found " + std::to_string(extent.size()) + " dimensions");
  Handle stored_type(checked_id(H5Dget_type(dataset), "dataset type"));
  // Each string costs at least its std::string, whatever its stored width.
  check_value_count(dataset, std::max<std::size_t>(sizeof(std::string), H5Tget_size(stored_type.id())));
  std::vector<std::string> values;
  values.reserve(extent[0]);
  if (H5Tget_class(stored_type.id()) == H5T_INTEGER) {
    std::vector<long long> numbers(extent[0]);
    read_rows(dataset, H5T_NATIVE_LLONG, 0, extent[0], numbers.data());
    for (long long number : numbers) values.push_back(std::to_string(number));
    return values;
  }
  if (H5Tget_class(stored_type.id()) != H5T_STRING) throw_unreadable(dataset, "holds neither strings nor integers");
  if (H5Tis_variable_str(stored_type.id()) > 0) {
    std::vector<char*> pointers(extent[0], nullptr);
    Handle type = string_type(H5Tget_cset(stored_type.id()));
    read_rows(dataset, type.id(), 0, extent[0], pointers.data());
    for (char* p : pointers) values.emplace_back(p ? p : "");
    Handle space(checked_id(H5Dget_space(dataset), "dataspace"));
    H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, pointers.data());
  } else {
    const std::size_t width = H5Tget_size(stored_type.id());
    std::vector<char> buffer(extent[0] * width);
    Handle type(checked_id(H5Tcopy(stored_type.id()), "string type"));
    read_rows(dataset, type.id(), 0, extent[0], buffer.data());
    for (std::uint64_t i = 0; i < extent[0]; ++i) {
      const char* start = &buffer[i * width];
      values.emplace_back(start, strnlen(start, width));
    }
  }
  return values;
}

void write_strings(hid_t location, const std::string& path, std::span<const std::string> values) {
  Handle dataset = create_extendable_strings(location, path, std::clamp<std::uint64_t>(values.size(), 1, 4096));
  append_strings(dataset.id(), values);
}

void write_dataset(hid_t location, const std::string& path, hid_t memory_type, const void* data,
                   std::span<const std::uint64_t> shape) {
  Handle file_type(checked_id(H5Tcopy(memory_type), "data type"));
  if (H5Tget_size(memory_type) > 1) check(H5Tset_order(file_type.id(), H5T_ORDER_LE), "byte order");
  std::vector<hsize_t> extent(shape.begin(), shape.end());
  Handle space(checked_id(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), "dataspace"));
  create_parent_groups(location, path);
  Handle links = link_creation_with_parents();
  Handle creation(checked_id(H5Pcreate(H5P_DATASET_CREATE), "dataset creation list"));
  check(H5Pset_obj_track_times(creation.id(), false), "time tracking");
  Handle dataset(checked_id(H5Dcreate2(location, path.c_str(), file_type.id(), space.id(), links.id(), creation.id(), H5P_DEFAULT),
                            "create dataset " + path));
  std::uint64_t count = 1;
  for (auto d : shape) count *= d;
  if (count > 0) check(H5Dwrite(dataset.id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write " + path);
}

void write_floats(hid_t location, const std::string& path, std::span<const float> values,
                  std::span<const std::uint64_t> shape) {
  write_dataset(location, path, H5T_NATIVE_FLOAT, values.data(), shape);
}

void write_uint64s(hid_t location, const std::string& path, std::span<const std::uint64_t> values) {
  const std::uint64_t shape[] = {values.size()};
  write_dataset(location, path, H5T_NATIVE_UINT64, values.data(), shape);
}

void read_dataset(hid_t dataset, hid_t memory_type, void* out) {
  check_read(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), dataset, "reading the values");
}

namespace {
void write_scalar_attribute(hid_t object, const std::string& name, hid_t type, const void* value) {
  if (H5Aexists(object, name.c_str()) > 0) check(H5Adelete(object, name.c_str()), "delete attribute " + name);
  Handle space(checked_id(H5Screate(H5S_SCALAR), "dataspace"));
  Handle attribute(checked_id(H5Acreate2(object, name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                              "create attribute " + name));
  check(H5Awrite(attribute.id(), type, value), "write attribute " + name);
}

// Reading an attribute fills a buffer sized for every value it holds: one value, or it is not
// the scalar conceptree expects (an array-valued attribute would overrun a single value).
bool holds_one_value(hid_t attribute) {
  Handle space(H5Aget_space(attribute));
  return space.valid() && H5Sget_simple_extent_npoints(space.id()) == 1;
}

template <class T>
std::optional<T> numeric_attribute(hid_t object, const std::string& name, hid_t memory_type) {
  if (H5Aexists(object, name.c_str()) <= 0) return std::nullopt;
  Handle attribute(checked_id(H5Aopen(object, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  if (!holds_one_value(attribute.id())) return std::nullopt;
  Handle type(checked_id(H5Aget_type(attribute.id()), "attribute type"));
  const H5T_class_t type_class = H5Tget_class(type.id());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) return std::nullopt;
  T value{};
  if (H5Aread(attribute.id(), memory_type, &value) < 0) return std::nullopt;
  return value;
}
}  // namespace

void set_attribute(hid_t object, const std::string& name, const std::string& value) {
  Handle type = string_type();
  const char* pointer = value.c_str();
  write_scalar_attribute(object, name, type.id(), &pointer);
}

void set_attribute(hid_t object, const std::string& name, double value) {
  write_scalar_attribute(object, name, H5T_NATIVE_DOUBLE, &value);
}

void set_attribute(hid_t object, const std::string& name, std::uint64_t value) {
  write_scalar_attribute(object, name, H5T_NATIVE_UINT64, &value);
}

std::optional<std::string> string_attribute(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return std::nullopt;
  Handle attribute(checked_id(H5Aopen(object, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  if (!holds_one_value(attribute.id())) return std::nullopt;
  Handle stored(checked_id(H5Aget_type(attribute.id()), "attribute type"));
  if (H5Tget_class(stored.id()) != H5T_STRING) return std::nullopt;
  if (H5Tis_variable_str(stored.id()) > 0) {
    Handle type = string_type(H5Tget_cset(stored.id()));
    char* pointer = nullptr;
    check_read(H5Aread(attribute.id(), type.id(), &pointer), object, "reading attribute " + name);
    std::string value = pointer ? pointer : "";
    H5free_memory(pointer);
    return value;
  }
  std::string value(H5Tget_size(stored.id()), '\0');
  check_read(H5Aread(attribute.id(), stored.id(), value.data()), object, "reading attribute " + name);
  value.resize(strnlen(value.c_str(), value.size()));
  return value;
}

std::optional<double> double_attribute(hid_t object, const std::string& name) {
  return numeric_attribute<double>(object, name, H5T_NATIVE_DOUBLE);
}

std::optional<std::uint64_t> uint64_attribute(hid_t object, const std::string& name) {
  return numeric_attribute<std::uint64_t>(object, name, H5T_NATIVE_UINT64);
}

std::vector<std::string> attribute_names(hid_t object) {
  H5O_info_t info;
  check(H5Oget_info2(object, &info, H5O_INFO_NUM_ATTRS), "object info");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const ssize_t length = H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (length < 0) continue;
    std::string name(static_cast<std::size_t>(length), '\0');
    H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

std::string attribute_as_text(hid_t object, const std::string& name) {
  if (auto text = string_attribute(object, name)) return *text;
  Handle attribute(checked_id(H5Aopen(object, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  Handle type(checked_id(H5Aget_type(attribute.id()), "attribute type"));
  if (H5Tget_class(type.id()) == H5T_INTEGER) {
    if (auto value = uint64_attribute(object, name)) return std::to_string(*value);
  }
  if (auto value = double_attribute(object, name)) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.6g", *value);
    return buffer;
  }
  return "(unsupported attribute type)";
}

StorageInfo storage_info(hid_t dataset) {
  StorageInfo info;
  info.stored_bytes = H5Dget_storage_size(dataset);
  Handle type(checked_id(H5Dget_type(dataset), "dataset type"));
  const std::size_t size = H5Tget_size(type.id());
  switch (H5Tget_class(type.id())) {
    case H5T_FLOAT: info.type_name = "float" + std::to_string(8 * size); break;
    case H5T_INTEGER:
      info.type_name = std::string(H5Tget_sign(type.id()) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(8 * size);
      break;
    case H5T_STRING: info.type_name = "string"; break;
    default: info.type_name = "other"; break;
  }
  Handle creation(checked_id(H5Dget_create_plist(dataset), "creation list"));
  if (H5Pget_layout(creation.id()) == H5D_CHUNKED) {
    hsize_t chunk[H5S_MAX_RANK];
    const int rank = H5Pget_chunk(creation.id(), H5S_MAX_RANK, chunk);
    info.chunk_dims.assign(chunk, chunk + std::max(rank, 0));
  }
  const int filters = H5Pget_nfilters(creation.id());
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0;
    std::size_t values_count = 4;
    unsigned values[4] = {};
    char name[64] = {};
    const H5Z_filter_t filter = H5Pget_filter2(creation.id(), static_cast<unsigned>(i), &flags, &values_count, values,
                                               sizeof(name), name, nullptr);
    if (!info.filters.empty()) info.filters += "+";
    if (filter == H5Z_FILTER_DEFLATE) info.filters += "deflate(" + std::to_string(values_count ? values[0] : 0) + ")";
    else if (filter == H5Z_FILTER_SHUFFLE) info.filters += "shuffle";
    else if (filter == H5Z_FILTER_FLETCHER32) info.filters += "fletcher32";
    else info.filters += name;
  }
  return info;
}

}  // namespace conceptree::h5
