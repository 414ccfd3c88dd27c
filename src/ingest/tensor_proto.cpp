#include "conceptree/tensor_proto.hpp"

#include <bit>
#include <cstring>
#include <numeric>

#include "conceptree/error.hpp"
#include "conceptree/npy.hpp"

namespace conceptree {

namespace {

enum WireType : unsigned { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

enum TensorField : std::uint64_t {
  kDtype = 1,
  kShape = 2,
  kTensorContent = 4,
  kFloatVal = 5,
  kDoubleVal = 6,
  kHalfVal = 13,
};
constexpr std::uint64_t kShapeDim = 2;
constexpr std::uint64_t kDimSize = 1;
constexpr std::uint64_t kDtFloat = 1;
constexpr std::uint64_t kDtDouble = 2;
constexpr std::uint64_t kDtHalf = 19;

class WireReader {
 public:
  WireReader(const std::string& item, std::span<const unsigned char> bytes) : item_(item), bytes_(bytes) {}

  bool done() const { return at_ >= bytes_.size(); }

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) fail("truncated varint");
      const unsigned char byte = bytes_[at_++];
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    fail("varint longer than 10 bytes");
  }

  std::span<const unsigned char> take(std::uint64_t size) {
    if (size > bytes_.size() - at_) fail("field runs past the end of the data (truncated file?)");
    auto part = bytes_.subspan(at_, size);
    at_ += size;
    return part;
  }

  void skip(unsigned wire_type) {
    switch (wire_type) {
      case kVarint: varint(); break;
      case kFixed64: take(8); break;
      case kLengthDelimited: take(varint()); break;
      case kFixed32: take(4); break;
      default: fail("unsupported protobuf wire type " + std::to_string(wire_type));
    }
  }

  [[noreturn]] void fail(const std::string& problem) const { throw InputError(item_, "malformed TensorProto: " + problem); }

 private:
  const std::string& item_;
  std::span<const unsigned char> bytes_;
  std::size_t at_ = 0;
};

template <class T>
T load_little_endian(const unsigned char* at) {
  static_assert(std::endian::native == std::endian::little, "conceptree assumes a little-endian host");
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

std::vector<std::uint64_t> parse_shape(WireReader& outer, std::span<const unsigned char> bytes, const std::string& item) {
  std::vector<std::uint64_t> shape;
  WireReader reader(item, bytes);
  while (!reader.done()) {
    const std::uint64_t key = reader.varint();
    if ((key >> 3) == kShapeDim && (key & 7) == kLengthDelimited) {
      WireReader dim(item, reader.take(reader.varint()));
      std::uint64_t size = 0;
      while (!dim.done()) {
        const std::uint64_t dim_key = dim.varint();
        if ((dim_key >> 3) == kDimSize && (dim_key & 7) == kVarint) {
          size = dim.varint();
          if (static_cast<std::int64_t>(size) < 0) outer.fail("unknown (-1) dimension in shape");
        } else {
          dim.skip(static_cast<unsigned>(dim_key & 7));
        }
      }
      shape.push_back(size);
    } else {
      reader.skip(static_cast<unsigned>(key & 7));
    }
  }
  return shape;
}

// Appends a packed or single repeated numeric field.
template <class T, unsigned kWire>
void read_repeated(WireReader& reader, unsigned wire_type, std::vector<float>& out) {
  auto decode = [&](std::span<const unsigned char> data) {
    for (std::size_t i = 0; i + sizeof(T) <= data.size(); i += sizeof(T)) {
      out.push_back(static_cast<float>(load_little_endian<T>(&data[i])));
    }
  };
  if (wire_type == kLengthDelimited) {
    const auto data = reader.take(reader.varint());
    if (data.size() % sizeof(T) != 0) reader.fail("packed values are not a whole number of elements");
    decode(data);
  } else if (wire_type == kWire) {
    decode(reader.take(sizeof(T)));
  } else {
    reader.fail("unexpected wire type for a value field");
  }
}

}  // namespace

FloatTensor parse_tensor_proto(const std::string& item, std::span<const unsigned char> bytes) {
  WireReader reader(item, bytes);
  std::uint64_t dtype = 0;
  bool has_shape = false;
  FloatTensor tensor;
  std::span<const unsigned char> content;
  std::vector<float> listed_values;
  while (!reader.done()) {
    const std::uint64_t key = reader.varint();
    const auto wire_type = static_cast<unsigned>(key & 7);
    switch (key >> 3) {
      case kDtype:
        if (wire_type != kVarint) reader.fail("dtype is not a varint");
        dtype = reader.varint();
        break;
      case kShape:
        if (wire_type != kLengthDelimited) reader.fail("tensor_shape is not a message");
        tensor.shape = parse_shape(reader, reader.take(reader.varint()), item);
        has_shape = true;
        break;
      case kTensorContent:
        if (wire_type != kLengthDelimited) reader.fail("tensor_content is not bytes");
        content = reader.take(reader.varint());
        break;
      case kFloatVal: read_repeated<float, kFixed32>(reader, wire_type, listed_values); break;
      case kDoubleVal: read_repeated<double, kFixed64>(reader, wire_type, listed_values); break;
      case kHalfVal:
        if (wire_type == kLengthDelimited) {
          WireReader packed(item, reader.take(reader.varint()));
          while (!packed.done()) listed_values.push_back(half_to_float(static_cast<std::uint16_t>(packed.varint())));
        } else {
          listed_values.push_back(half_to_float(static_cast<std::uint16_t>(reader.varint())));
        }
        break;
      default: reader.skip(wire_type); break;
    }
  }
  if (dtype != kDtFloat && dtype != kDtDouble && dtype != kDtHalf) {
    throw InputError(item, "unsupported tensor dtype " + std::to_string(dtype) + " (expected 1 = float32, 2 = float64 or 19 = float16)");
  }
  if (!has_shape) reader.fail("no tensor_shape");
  // A protobuf message is at most 2 GiB, but a shape can declare anything (TensorFlow repeats the
  // last listed value to fill it): the product is bounded before it is used to allocate.
  constexpr std::uint64_t kMaxValues = std::uint64_t{1} << 31;
  std::uint64_t count = 1;
  for (const std::uint64_t extent : tensor.shape) {
    if (extent != 0 && count > kMaxValues / extent) {
      throw InputError(item, "the tensor's shape declares more than 2^31 values; conceptree reads at most 2^31 values per tensor");
    }
    count *= extent;
  }
  if (!content.empty()) {
    const std::size_t element_size = dtype == kDtFloat ? 4 : dtype == kDtDouble ? 8 : 2;
    if (content.size() != count * element_size) {
      throw InputError(item, "tensor_content holds " + std::to_string(content.size()) + " bytes, shape needs " +
                                 std::to_string(count * element_size));
    }
    tensor.values.resize(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      const unsigned char* at = &content[i * element_size];
      tensor.values[i] = dtype == kDtFloat    ? load_little_endian<float>(at)
                         : dtype == kDtDouble ? static_cast<float>(load_little_endian<double>(at))
                                              : half_to_float(load_little_endian<std::uint16_t>(at));
    }
    return tensor;
  }
  // TensorFlow repeats the last listed value to fill the shape.
  if (listed_values.empty() && count > 0) throw InputError(item, "tensor has a shape but no values");
  if (listed_values.size() > count) throw InputError(item, "more values than the shape holds");
  tensor.values = std::move(listed_values);
  if (count > 0) tensor.values.resize(count, tensor.values.back());
  return tensor;
}

namespace {
void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

void put_key(std::string& out, std::uint64_t field, unsigned wire_type) { put_varint(out, (field << 3) | wire_type); }
}  // namespace

std::string serialize_tensor_proto(const FloatTensor& tensor) {
  std::string shape;
  for (std::uint64_t size : tensor.shape) {
    std::string dim;
    if (size != 0) {
      put_key(dim, kDimSize, kVarint);
      put_varint(dim, size);
    }
    put_key(shape, kShapeDim, kLengthDelimited);
    put_varint(shape, dim.size());
    shape += dim;
  }
  std::string out;
  put_key(out, kDtype, kVarint);
  put_varint(out, kDtFloat);
  put_key(out, kShape, kLengthDelimited);
  put_varint(out, shape.size());
  out += shape;
  put_key(out, kTensorContent, kLengthDelimited);
  put_varint(out, tensor.values.size() * sizeof(float));
  out.append(reinterpret_cast<const char*>(tensor.values.data()), tensor.values.size() * sizeof(float));
  return out;
}

}  // namespace conceptree
