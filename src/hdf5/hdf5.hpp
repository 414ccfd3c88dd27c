#pragma once
// A thin RAII layer over the HDF5 C API: handles that close themselves, errors that name the file,
// and the few dataset shapes conceptree writes (extendable row tables, string lists, attributes).

#include <hdf5.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace conceptree::h5 {

// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept;
  ~Handle() { reset(); }

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

enum class Mode { ReadOnly, ReadWrite, Create };

// Every call below throws InputError(<file>, ...) (opening) or FatalError (writing) on failure.
// HDF5 prints its own error stack by default; conceptree reports errors itself, once. Printing is
// off while at least one of these lives (each open File holds one), and the setting the host
// process had is restored after the last, so a host's own HDF5 use keeps its error reports.
class LibraryErrorsSilenced {
 public:
  LibraryErrorsSilenced();
  LibraryErrorsSilenced(LibraryErrorsSilenced&& other) noexcept : active_(other.active_) { other.active_ = false; }
  LibraryErrorsSilenced& operator=(LibraryErrorsSilenced&& other) noexcept;
  ~LibraryErrorsSilenced();

 private:
  void release();
  bool active_ = true;
};

class File {
 public:
  File(const std::filesystem::path& path, Mode mode);
  hid_t id() const { return handle_.id(); }
  const std::string& name() const { return name_; }
  void flush() const;
  // Closes now, reporting errors (the destructor cannot).
  void close();

 private:
  LibraryErrorsSilenced silenced_;  // before the handle: outlives it
  std::string name_;
  Handle handle_;
};

// Does a file start with the HDF5 signature? Cheap, and says nothing about its contents.
bool is_hdf5(const std::filesystem::path& path);

// Reads every object's metadata, attributes and strings of an HDF5 file in a forked child, where
// a crash or hang of libhdf5 on a damaged file cannot take this process down; throws
// InputError(path, ...) naming the object being read when the child dies, hangs past
// `time_limit` or finds an absurd string. Every File opened for reading is probed first.
void probe_file(const std::filesystem::path& path, std::chrono::milliseconds time_limit = std::chrono::seconds(60));

bool exists(hid_t location, const std::string& path);
Handle create_group(hid_t location, const std::string& path);  // creates intermediate groups too
Handle open_dataset(hid_t location, const std::string& path, const std::string& file_name);
Handle open_group(hid_t location, const std::string& path, const std::string& file_name);

std::vector<std::uint64_t> dims(hid_t dataset);
// The number of values a dataset declares, checked before anything is allocated for it: the
// product does not overflow, the file really stores that much (allowing for compression), and
// `memory_value_size` bytes per value fit in this machine's memory. Throws InputError naming the
// file and dataset otherwise.
std::uint64_t check_value_count(hid_t dataset, std::size_t memory_value_size);
// Names of a group's direct members, in creation order where tracked, else alphabetical.
std::vector<std::string> member_names(hid_t group);

struct ChunkedLayout {
  std::uint64_t chunk_rows = 4096;
  int deflate_level = 0;  // 0: no compression
  bool shuffle = false;
};

// An extendable dataset whose first dimension starts at 0 and grows by appends.
Handle create_extendable(hid_t location, const std::string& path, hid_t type, std::uint64_t columns,
                         const ChunkedLayout& layout);
// Appends `rows` rows (row-major, `columns` values each) to an extendable 1-D (columns == 0) or 2-D dataset.
void append_rows(hid_t dataset, hid_t memory_type, const void* data, std::uint64_t rows);
// Shrinks or grows the first dimension.
void resize_rows(hid_t dataset, std::uint64_t rows);
// Reads rows [first, first+count) along the first dimension into `out`, converting to memory_type.
void read_rows(hid_t dataset, hid_t memory_type, std::uint64_t first, std::uint64_t count, void* out);

// The memory type of variable-length strings. HDF5 converts no string between character sets:
// reads take the stored set (ASCII from some writers), writes are UTF-8.
Handle string_type(H5T_cset_t character_set = H5T_CSET_UTF8);

// Variable-length UTF-8 strings.
Handle create_extendable_strings(hid_t location, const std::string& path, std::uint64_t chunk_rows);
void append_strings(hid_t dataset, std::span<const std::string> values);
std::vector<std::string> read_strings(hid_t dataset);  // integer datasets are rendered as decimal text
void write_strings(hid_t location, const std::string& path, std::span<const std::string> values);

// The HDF5 memory type of a C++ arithmetic type.
template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  else static_assert(sizeof(T) == 0, "no HDF5 type for this C++ type");
}

// Fixed-size numeric datasets written whole, stored with the little-endian type of T.
void write_dataset(hid_t location, const std::string& path, hid_t memory_type, const void* data,
                   std::span<const std::uint64_t> shape);
template <class T>
void write_vector(hid_t location, const std::string& path, std::span<const T> values,
                  std::span<const std::uint64_t> shape = {}) {
  const std::uint64_t flat[] = {values.size()};
  write_dataset(location, path, native_type<T>(), values.data(), shape.empty() ? std::span<const std::uint64_t>(flat) : shape);
}
void write_floats(hid_t location, const std::string& path, std::span<const float> values,
                  std::span<const std::uint64_t> shape);
void write_uint64s(hid_t location, const std::string& path, std::span<const std::uint64_t> values);

// A whole numeric dataset converted to T; `shape` receives its dimensions when given.
void read_dataset(hid_t dataset, hid_t memory_type, void* out);
template <class T>
std::vector<T> read_vector(hid_t location, const std::string& path, const std::string& file_name,
                           std::vector<std::uint64_t>* shape = nullptr) {
  Handle dataset = open_dataset(location, path, file_name);
  const auto extent = dims(dataset.id());
  const std::uint64_t count = check_value_count(dataset.id(), sizeof(T));
  std::vector<T> values(count);
  if (count > 0) read_dataset(dataset.id(), native_type<T>(), values.data());
  if (shape) *shape = extent;
  return values;
}

// Attributes on any object; read_* returns nullopt when the attribute is absent.
void set_attribute(hid_t object, const std::string& name, const std::string& value);
void set_attribute(hid_t object, const std::string& name, double value);
void set_attribute(hid_t object, const std::string& name, std::uint64_t value);
std::optional<std::string> string_attribute(hid_t object, const std::string& name);
std::optional<double> double_attribute(hid_t object, const std::string& name);
std::optional<std::uint64_t> uint64_attribute(hid_t object, const std::string& name);
std::vector<std::string> attribute_names(hid_t object);
// Any scalar attribute rendered as text (numbers and strings), for `conceptree info`.
std::string attribute_as_text(hid_t object, const std::string& name);

// A dataset's storage facts, for `conceptree info`.
struct StorageInfo {
  std::vector<std::uint64_t> chunk_dims;  // empty when contiguous
  std::string filters;                    // e.g. "shuffle+deflate(4)"
  std::uint64_t stored_bytes = 0;
  std::string type_name;                  // "float32", "uint64", "string", ...
};
StorageInfo storage_info(hid_t dataset);

}  // namespace conceptree::h5
