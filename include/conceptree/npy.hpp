#pragma once
// NumPy .npy files (format versions 1-3): read rows of float arrays without loading the whole file,
// and write float32/uint64 arrays. Hand-written because Debian ships no maintained C++ .npy library
// and the format is a short text header followed by raw little/big-endian data.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace conceptree {

struct NpyHeader {
  char kind = 'f';                // numpy dtype kind: 'f' float, 'i' signed, 'u' unsigned, 'b' bool, ...
  std::size_t item_size = 4;      // bytes per element
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
  std::uint64_t data_offset = 0;  // byte offset of the first element
  std::string descr;              // the dtype string as written, e.g. "<f4"

  std::uint64_t element_count() const;
};

// Throws InputError naming the file when it is unreadable, not .npy, truncated or of an
// unsupported dtype.
class NpyReader {
 public:
  explicit NpyReader(std::filesystem::path path);
  NpyReader(const NpyReader&) = delete;
  NpyReader& operator=(const NpyReader&) = delete;
  NpyReader(NpyReader&& other) noexcept;
  ~NpyReader();

  const NpyHeader& header() const { return header_; }
  const std::filesystem::path& path() const { return path_; }
  // Leading dimension (1 for a 0-d array) and the number of elements in one row of it.
  std::uint64_t rows() const;
  std::uint64_t row_size() const;

  // Rows [first, first+count) of a float16/32/64 array, converted to float32, row-major.
  void read_rows_as_float(std::uint64_t first, std::uint64_t count, float* out) const;
  std::vector<float> read_all_as_float() const;
  // The whole array of a non-negative integer type, e.g. offsets.
  std::vector<std::uint64_t> read_all_as_uint64() const;

 private:
  void read_bytes(std::uint64_t offset, std::size_t size, void* out) const;
  std::vector<unsigned char> read_c_order_bytes(std::uint64_t first_row, std::uint64_t row_count) const;

  std::filesystem::path path_;
  int fd_ = -1;
  NpyHeader header_;
};

// Parses the header bytes at the start of a .npy file; `file_size` checks for truncation.
NpyHeader parse_npy_header(const std::string& item, std::span<const unsigned char> prefix, std::uint64_t file_size);

// Writes a C-order little-endian array, through a temporary file and a rename.
void write_npy(const std::filesystem::path& path, std::span<const float> data, std::span<const std::uint64_t> shape);
void write_npy(const std::filesystem::path& path, std::span<const std::uint64_t> data,
               std::span<const std::uint64_t> shape);

// Converts an IEEE 754 half-precision value.
float half_to_float(std::uint16_t half);

}  // namespace conceptree
