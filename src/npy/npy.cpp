#include "conceptree/npy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <numeric>
#include <utility>
#include <cctype>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

constexpr unsigned char kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kPrefixBytes = 10;  // magic, version, 2-byte header length (version 1)

// The value following 'key': in the header dict, up to the next top-level comma or closing brace.
std::string dict_value(const std::string& item, const std::string& dict, const std::string& key) {
  const std::string quoted[] = {"'" + key + "'", "\"" + key + "\""};
  std::size_t at = std::string::npos;
  for (const auto& q : quoted) {
    at = dict.find(q);
    if (at != std::string::npos) {
      at += q.size();
      break;
    }
  }
  if (at == std::string::npos) throw InputError(item, "not a valid .npy header (no '" + key + "')");
  at = dict.find(':', at);
  if (at == std::string::npos) throw InputError(item, "not a valid .npy header");
  ++at;
  int depth = 0;
  std::size_t end = at;
  for (; end < dict.size(); ++end) {
    const char c = dict[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) break;
  }
  std::string value = dict.substr(at, end - at);
  const auto first = value.find_first_not_of(" \t");
  const auto last = value.find_last_not_of(" \t");
  return first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
}

std::vector<std::uint64_t> parse_shape(const std::string& item, const std::string& text) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') throw InputError(item, "bad .npy shape " + text);
  std::vector<std::uint64_t> shape;
  std::size_t at = 1;
  while (at < text.size() - 1) {
    while (at < text.size() - 1 && (text[at] == ' ' || text[at] == ',')) ++at;
    if (at >= text.size() - 1) break;
    std::size_t digits_end = at;
    while (digits_end < text.size() - 1 && std::isdigit(static_cast<unsigned char>(text[digits_end]))) ++digits_end;
    std::uint64_t extent = 0;
    if (digits_end == at || std::from_chars(text.data() + at, text.data() + digits_end, extent).ec != std::errc()) {
      throw InputError(item, "bad .npy shape " + text);
    }
    shape.push_back(extent);
    at = digits_end;
  }
  // numpy's own limit is 64 dimensions; a shape is checked against the file size afterwards.
  if (shape.size() > 64) throw InputError(item, "bad .npy shape: " + std::to_string(shape.size()) + " dimensions");
  return shape;
}

template <class T>
T load_scalar(const unsigned char* bytes, bool big_endian) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  if (big_endian != (std::endian::native == std::endian::big)) {
    auto* raw = reinterpret_cast<unsigned char*>(&value);
    std::reverse(raw, raw + sizeof(T));
  }
  return value;
}

}  // namespace

std::uint64_t NpyHeader::element_count() const {
  return std::accumulate(shape.begin(), shape.end(), std::uint64_t{1}, std::multiplies<>());
}

float half_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  std::uint32_t exponent = (half >> 10) & 0x1fu;
  std::uint32_t mantissa = half & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

NpyHeader parse_npy_header(const std::string& item, std::span<const unsigned char> prefix, std::uint64_t file_size) {
  if (prefix.size() < kPrefixBytes || !std::equal(std::begin(kMagic), std::end(kMagic), prefix.begin())) {
    throw InputError(item, "not a .npy file (bad magic bytes)");
  }
  const unsigned major = prefix[6];
  std::uint64_t header_length = 0;
  std::size_t header_start = 0;
  if (major == 1) {
    header_length = prefix[8] | (prefix[9] << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (prefix.size() < 12) throw InputError(item, "truncated .npy header");
    header_length = load_scalar<std::uint32_t>(&prefix[8], false);
    header_start = 12;
  } else {
    throw InputError(item, "unsupported .npy format version " + std::to_string(major));
  }
  if (header_start + header_length > prefix.size()) throw InputError(item, "truncated .npy header");
  const std::string dict(reinterpret_cast<const char*>(prefix.data() + header_start), header_length);

  NpyHeader header;
  header.data_offset = header_start + header_length;
  std::string descr = dict_value(item, dict, "descr");
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"')) {
    throw InputError(item, "unsupported dtype " + descr + " (structured arrays are not embeddings)");
  }
  descr = descr.substr(1, descr.size() - 2);
  header.descr = descr;
  if (descr.size() < 3) throw InputError(item, "unsupported dtype '" + descr + "'");
  header.big_endian = descr[0] == '>';
  header.kind = descr[1];
  const char* size_text = descr.data() + 2;
  if (std::from_chars(size_text, descr.data() + descr.size(), header.item_size).ec != std::errc() || header.item_size == 0 ||
      header.item_size > 16) {
    throw InputError(item, "unsupported dtype '" + descr + "'");
  }
  header.fortran_order = dict_value(item, dict, "fortran_order") == "True";
  header.shape = parse_shape(item, dict_value(item, dict, "shape"));

  // Checked without overflow: a shape whose byte count wraps around 2^64 must not pass as small.
  const bool empty = std::find(header.shape.begin(), header.shape.end(), 0) != header.shape.end();
  const std::uint64_t data_values = (file_size >= header.data_offset ? file_size - header.data_offset : 0) / header.item_size;
  std::uint64_t elements = 1;
  for (const std::uint64_t extent : header.shape) {
    if (empty) break;
    if (elements > data_values / extent) {
      throw InputError(item, "truncated .npy file: its shape " + dict_value(item, dict, "shape") + " needs more than the " +
                                 std::to_string(data_values) + " values of " + std::to_string(header.item_size) + " bytes it holds");
    }
    elements *= extent;
  }
  const std::uint64_t expected = header.data_offset + header.element_count() * header.item_size;
  if (file_size < expected) {
    throw InputError(item, "truncated .npy file: " + std::to_string(file_size) + " bytes, expected " +
                               std::to_string(expected));
  }
  return header;
}

NpyReader::NpyReader(fs::path path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw InputError(path_.string(), std::string("cannot open: ") + std::strerror(errno));
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  std::vector<unsigned char> prefix(static_cast<std::size_t>(std::min<off_t>(size, 1 << 16)));
  try {
    if (size < 0) throw InputError(path_.string(), "cannot read file size");
    read_bytes(0, prefix.size(), prefix.data());
    header_ = parse_npy_header(path_.string(), prefix, static_cast<std::uint64_t>(size));
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

NpyReader::NpyReader(NpyReader&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), header_(std::move(other.header_)) {}

NpyReader::~NpyReader() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t NpyReader::rows() const { return header_.shape.empty() ? 1 : header_.shape[0]; }

std::uint64_t NpyReader::row_size() const {
  return header_.shape.empty() ? 1
                               : std::accumulate(header_.shape.begin() + 1, header_.shape.end(), std::uint64_t{1},
                                                 std::multiplies<>());
}

void NpyReader::read_bytes(std::uint64_t offset, std::size_t size, void* out) const {
  auto* cursor = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t got = ::pread(fd_, cursor, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw InputError(path_.string(), got == 0 ? "unexpected end of file" : std::strerror(errno));
    cursor += got;
    offset += static_cast<std::uint64_t>(got);
    size -= static_cast<std::size_t>(got);
  }
}

std::vector<unsigned char> NpyReader::read_c_order_bytes(std::uint64_t first_row, std::uint64_t row_count) const {
  const std::size_t item = header_.item_size;
  if (first_row + row_count > rows()) throw InputError(path_.string(), "row range beyond the array's end");
  if (!header_.fortran_order || header_.shape.size() < 2) {
    std::vector<unsigned char> bytes(row_count * row_size() * item);
    read_bytes(header_.data_offset + first_row * row_size() * item, bytes.size(), bytes.data());
    return bytes;
  }
  // Fortran order stores the axis-reversed array: gather it whole, then reverse the axes.
  std::vector<unsigned char> stored(header_.element_count() * item);
  read_bytes(header_.data_offset, stored.size(), stored.data());
  const auto& shape = header_.shape;
  std::vector<std::uint64_t> fortran_stride(shape.size(), 1);
  for (std::size_t axis = 1; axis < shape.size(); ++axis) fortran_stride[axis] = fortran_stride[axis - 1] * shape[axis - 1];
  std::vector<unsigned char> bytes(row_count * row_size() * item);
  std::vector<std::uint64_t> index(shape.size(), 0);
  index[0] = first_row;
  for (std::uint64_t out = 0; out < row_count * row_size(); ++out) {
    std::uint64_t source = 0;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) source += index[axis] * fortran_stride[axis];
    std::memcpy(&bytes[out * item], &stored[source * item], item);
    for (std::size_t axis = shape.size(); axis-- > 0;) {
      if (++index[axis] < shape[axis] || axis == 0) break;
      index[axis] = 0;
    }
  }
  return bytes;
}

void NpyReader::read_rows_as_float(std::uint64_t first, std::uint64_t count, float* out) const {
  if (header_.kind != 'f' || (header_.item_size != 2 && header_.item_size != 4 && header_.item_size != 8)) {
    throw InputError(path_.string(), "dtype '" + header_.descr + "' is not a float type (expected float16/32/64)");
  }
  const auto bytes = read_c_order_bytes(first, count);
  const std::uint64_t n = count * row_size();
  const bool big = header_.big_endian;
  for (std::uint64_t i = 0; i < n; ++i) {
    const unsigned char* at = &bytes[i * header_.item_size];
    switch (header_.item_size) {
      case 2: out[i] = half_to_float(load_scalar<std::uint16_t>(at, big)); break;
      case 4: out[i] = load_scalar<float>(at, big); break;
      default: out[i] = static_cast<float>(load_scalar<double>(at, big)); break;
    }
  }
}

std::vector<float> NpyReader::read_all_as_float() const {
  std::vector<float> values(header_.element_count());
  read_rows_as_float(0, rows(), values.data());
  return values;
}

std::vector<std::uint64_t> NpyReader::read_all_as_uint64() const {
  const char kind = header_.kind;
  const std::size_t size = header_.item_size;
  if ((kind != 'i' && kind != 'u') || (size != 1 && size != 2 && size != 4 && size != 8)) {
    throw InputError(path_.string(), "dtype '" + header_.descr + "' is not an integer type");
  }
  const auto bytes = read_c_order_bytes(0, rows());
  std::vector<std::uint64_t> values(header_.element_count());
  const bool big = header_.big_endian;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const unsigned char* at = &bytes[i * size];
    std::int64_t value = 0;
    if (kind == 'i') {
      switch (size) {
        case 1: value = static_cast<std::int8_t>(*at); break;
        case 2: value = load_scalar<std::int16_t>(at, big); break;
        case 4: value = load_scalar<std::int32_t>(at, big); break;
        default: value = load_scalar<std::int64_t>(at, big); break;
      }
      if (value < 0) throw InputError(path_.string(), "negative value " + std::to_string(value) + " at index " + std::to_string(i));
      values[i] = static_cast<std::uint64_t>(value);
    } else {
      switch (size) {
        case 1: values[i] = *at; break;
        case 2: values[i] = load_scalar<std::uint16_t>(at, big); break;
        case 4: values[i] = load_scalar<std::uint32_t>(at, big); break;
        default: values[i] = load_scalar<std::uint64_t>(at, big); break;
      }
    }
  }
  return values;
}

namespace {

void write_npy_bytes(const fs::path& path, const std::string& descr, const void* data, std::size_t bytes,
                     std::span<const std::uint64_t> shape) {
  std::string shape_text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) shape_text += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  shape_text += ")";
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_text + ", }";
  // Version 1 header, padded with spaces so the data starts on a 64-byte boundary.
  const std::size_t unpadded = kPrefixBytes + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string contents(reinterpret_cast<const char*>(kMagic), sizeof(kMagic));
  contents += '\x01';
  contents += '\x00';
  contents += static_cast<char>(dict.size() & 0xff);
  contents += static_cast<char>(dict.size() >> 8);
  contents += dict;
  contents.append(static_cast<const char*>(data), bytes);
  write_file_atomically(path, contents);
}

}  // namespace

void write_npy(const fs::path& path, std::span<const float> data, std::span<const std::uint64_t> shape) {
  static_assert(std::endian::native == std::endian::little, "conceptree writes little-endian .npy");
  write_npy_bytes(path, "<f4", data.data(), data.size_bytes(), shape);
}

void write_npy(const fs::path& path, std::span<const std::uint64_t> data, std::span<const std::uint64_t> shape) {
  write_npy_bytes(path, "<u8", data.data(), data.size_bytes(), shape);
}

}  // namespace conceptree
