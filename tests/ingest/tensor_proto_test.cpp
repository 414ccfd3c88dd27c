#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/tensor_proto.hpp"

namespace conceptree {
namespace {

using ::testing::HasSubstr;

// Hand-written protobuf encoding of TensorProto, independent of the library's serialiser, so a
// shared misunderstanding of the wire format cannot make both sides agree.
namespace wire {

constexpr unsigned kVarint = 0;
constexpr unsigned kFixed64 = 1;
constexpr unsigned kBytes = 2;
constexpr unsigned kFixed32 = 5;

constexpr std::uint64_t kDtype = 1;
constexpr std::uint64_t kTensorShape = 2;
constexpr std::uint64_t kVersionNumber = 3;
constexpr std::uint64_t kTensorContent = 4;
constexpr std::uint64_t kFloatVal = 5;
constexpr std::uint64_t kDoubleVal = 6;
constexpr std::uint64_t kShapeDim = 2;
constexpr std::uint64_t kDimSize = 1;
constexpr std::uint64_t kDimName = 2;

constexpr std::uint64_t kDtFloat = 1;
constexpr std::uint64_t kDtDouble = 2;
constexpr std::uint64_t kDtInt32 = 3;

std::string varint(std::uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
  return out;
}

std::string key(std::uint64_t field, unsigned wire_type) { return varint((field << 3) | wire_type); }

std::string varint_field(std::uint64_t field, std::uint64_t value) { return key(field, kVarint) + varint(value); }

std::string bytes_field(std::uint64_t field, const std::string& payload) {
  return key(field, kBytes) + varint(payload.size()) + payload;
}

template <class T>
std::string raw(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

std::string shape(const std::vector<std::uint64_t>& dims) {
  std::string message;
  for (std::uint64_t size : dims) message += bytes_field(kShapeDim, varint_field(kDimSize, size));
  return bytes_field(kTensorShape, message);
}

}  // namespace wire

std::span<const unsigned char> as_bytes(const std::string& text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

std::vector<std::uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<std::uint32_t> bits;
  for (float value : values) bits.push_back(std::bit_cast<std::uint32_t>(value));
  return bits;
}

// Values with varied exponents and signs, so byte-order or truncation mistakes show.
std::vector<float> sample_values(std::size_t count) {
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    values[i] = std::ldexp(static_cast<float>(i % 97) + 0.125f, static_cast<int>(i % 41) - 20) * (i % 3 == 0 ? -1.0f : 1.0f);
  }
  return values;
}

std::optional<InputError> parse_error(const std::string& item, const std::string& bytes) {
  try {
    parse_tensor_proto(item, as_bytes(bytes));
  } catch (const InputError& error) {
    return error;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// serialize_tensor_proto -> parse_tensor_proto

class TensorProtoRoundTrip : public ::testing::TestWithParam<std::vector<std::uint64_t>> {};

TEST_P(TensorProtoRoundTrip, KeepsShapeAndExactValues) {
  FloatTensor tensor;
  tensor.shape = GetParam();
  std::size_t count = 1;
  for (std::uint64_t size : tensor.shape) count *= size;
  tensor.values = sample_values(count);

  const std::string bytes = serialize_tensor_proto(tensor);
  const FloatTensor parsed = parse_tensor_proto("round-trip.tensor", as_bytes(bytes));
  EXPECT_EQ(parsed.shape, tensor.shape);
  EXPECT_EQ(bits_of(parsed.values), bits_of(tensor.values));
}

INSTANTIATE_TEST_SUITE_P(PaperShapes, TensorProtoRoundTrip,
                         ::testing::Values(std::vector<std::uint64_t>{29, 128}, std::vector<std::uint64_t>{128},
                                           std::vector<std::uint64_t>{1, 5, 3}));

TEST(TensorProtoSerialize, MatchesTheBytesTensorFlowWrites) {
  // tf.io.serialize_tensor(tf.zeros((29, 128))) starts with these bytes: dtype, then the shape
  // message with one dim message per axis, then tensor_content's key and 14848-byte length.
  FloatTensor tensor;
  tensor.shape = {29, 128};
  tensor.values.assign(29 * 128, 0.0f);
  const std::string bytes = serialize_tensor_proto(tensor);
  const std::string expected_prefix = "\x08\x01"
                                      "\x12\x09"
                                      "\x12\x02\x08\x1d"
                                      "\x12\x03\x08\x80\x01"
                                      "\x22\x80\x74";
  ASSERT_GE(bytes.size(), expected_prefix.size());
  EXPECT_EQ(bytes.substr(0, expected_prefix.size()), expected_prefix);
  EXPECT_EQ(bytes.size(), expected_prefix.size() + 29 * 128 * 4);
}

// ---------------------------------------------------------------------------------------------
// Hand-built TensorProtos

TEST(TensorProtoParse, PackedFloatValWithOneValuePerElement) {
  const std::vector<float> values = {1.5f, -2.25f, 3e-8f, 7.0f};
  const std::string bytes = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({2, 2}) +
                            wire::bytes_field(wire::kFloatVal, wire::raw(values));
  const FloatTensor tensor = parse_tensor_proto("packed.tensor", as_bytes(bytes));
  EXPECT_EQ(tensor.shape, (std::vector<std::uint64_t>{2, 2}));
  EXPECT_EQ(bits_of(tensor.values), bits_of(values));
}

TEST(TensorProtoParse, FewerFloatValsThanTheShapeRepeatTheLast) {
  // TensorFlow writes tf.fill((2, 3), 4.0) as a single float_val 4.0; fewer values repeat the last.
  const std::string bytes = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({2, 3}) +
                            wire::bytes_field(wire::kFloatVal, wire::raw(std::vector<float>{1.5f, -2.25f}));
  const FloatTensor tensor = parse_tensor_proto("fill.tensor", as_bytes(bytes));
  EXPECT_EQ(tensor.shape, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(tensor.values, (std::vector<float>{1.5f, -2.25f, -2.25f, -2.25f, -2.25f, -2.25f}));

  const std::string single = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({4}) +
                             wire::key(wire::kFloatVal, wire::kFixed32) + wire::raw(std::vector<float>{4.0f});
  EXPECT_EQ(parse_tensor_proto("single.tensor", as_bytes(single)).values, std::vector<float>(4, 4.0f));
}

TEST(TensorProtoParse, UnpackedRepeatedFloatValsAccumulate) {
  std::string bytes = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({3});
  for (float value : {0.5f, -1.0f, 8.0f}) bytes += wire::key(wire::kFloatVal, wire::kFixed32) + wire::raw(std::vector<float>{value});
  EXPECT_EQ(parse_tensor_proto("unpacked.tensor", as_bytes(bytes)).values, (std::vector<float>{0.5f, -1.0f, 8.0f}));
}

TEST(TensorProtoParse, DoubleTensorContentIsRoundedToFloat) {
  const std::vector<double> values = {0.1, -1e10, 1.0 / 3.0, 42.0, -0.0, 6.02214076e23};
  const std::string bytes = wire::varint_field(wire::kDtype, wire::kDtDouble) + wire::shape({3, 2}) +
                            wire::bytes_field(wire::kTensorContent, wire::raw(values));
  const FloatTensor tensor = parse_tensor_proto("double.tensor", as_bytes(bytes));
  EXPECT_EQ(tensor.shape, (std::vector<std::uint64_t>{3, 2}));
  std::vector<float> expected;
  for (double value : values) expected.push_back(static_cast<float>(value));
  EXPECT_EQ(bits_of(tensor.values), bits_of(expected));
}

TEST(TensorProtoParse, PackedDoubleValAndFieldsInAnyOrder) {
  // Protobuf allows fields in any order; the shape here comes after the values.
  const std::string bytes = wire::bytes_field(wire::kDoubleVal, wire::raw(std::vector<double>{2.5, -0.75})) +
                            wire::varint_field(wire::kDtype, wire::kDtDouble) + wire::shape({2});
  EXPECT_EQ(parse_tensor_proto("double-val.tensor", as_bytes(bytes)).values, (std::vector<float>{2.5f, -0.75f}));
}

TEST(TensorProtoParse, UnknownFieldsAndDimNamesAreSkipped) {
  const std::string dim_with_name = wire::varint_field(wire::kDimSize, 2) + wire::bytes_field(wire::kDimName, "frames");
  const std::string shape = wire::bytes_field(wire::kTensorShape, wire::bytes_field(wire::kShapeDim, dim_with_name));
  const std::string bytes = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::varint_field(wire::kVersionNumber, 7) +
                            shape + wire::key(15, wire::kFixed64) + std::string(8, '\x01') +
                            wire::bytes_field(wire::kTensorContent, wire::raw(std::vector<float>{9.0f, -9.0f}));
  const FloatTensor tensor = parse_tensor_proto("extra-fields.tensor", as_bytes(bytes));
  EXPECT_EQ(tensor.shape, std::vector<std::uint64_t>{2});
  EXPECT_EQ(tensor.values, (std::vector<float>{9.0f, -9.0f}));
}

TEST(TensorProtoParse, ScalarAndEmptyTensors) {
  const std::string scalar = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({}) +
                             wire::bytes_field(wire::kFloatVal, wire::raw(std::vector<float>{3.25f}));
  const FloatTensor parsed_scalar = parse_tensor_proto("scalar.tensor", as_bytes(scalar));
  EXPECT_TRUE(parsed_scalar.shape.empty());
  EXPECT_EQ(parsed_scalar.values, std::vector<float>{3.25f});

  FloatTensor empty;
  empty.shape = {0, 128};
  const FloatTensor parsed_empty = parse_tensor_proto("empty.tensor", as_bytes(serialize_tensor_proto(empty)));
  EXPECT_EQ(parsed_empty.shape, (std::vector<std::uint64_t>{0, 128}));
  EXPECT_TRUE(parsed_empty.values.empty());
}

// ---------------------------------------------------------------------------------------------
// Errors: InputError naming the item, never a crash or a silently wrong tensor.

TEST(TensorProtoErrors, EveryTruncationIsAnInputError) {
  FloatTensor tensor;
  tensor.shape = {1, 5, 3};
  tensor.values = sample_values(15);
  const std::string bytes = serialize_tensor_proto(tensor);
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    const auto error = parse_error("cut.tensor", bytes.substr(0, length));
    ASSERT_TRUE(error.has_value()) << "a tensor cut to " << length << " of " << bytes.size() << " bytes parsed";
    EXPECT_EQ(error->item(), "cut.tensor");
  }
  const auto inside_content = parse_error("cut.tensor", bytes.substr(0, bytes.size() - 3));
  ASSERT_TRUE(inside_content.has_value());
  EXPECT_THAT(inside_content->problem(), HasSubstr("truncated"));
}

TEST(TensorProtoErrors, TruncatedVarintAndPackedValues) {
  const std::string dangling_varint = wire::varint_field(wire::kDtype, wire::kDtFloat) + "\x12\x80";
  EXPECT_TRUE(parse_error("varint.tensor", dangling_varint).has_value());

  const std::string partial_float = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({1}) +
                                    wire::bytes_field(wire::kFloatVal, std::string(6, '\0'));
  const auto error = parse_error("packed.tensor", partial_float);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), "packed.tensor");
}

TEST(TensorProtoErrors, NonFloatDtype) {
  const std::string bytes = wire::varint_field(wire::kDtype, wire::kDtInt32) + wire::shape({2}) +
                            wire::bytes_field(wire::kTensorContent, wire::raw(std::vector<std::int32_t>{1, 2}));
  const auto error = parse_error("ints.tensor", bytes);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), "ints.tensor");
  EXPECT_THAT(error->problem(), HasSubstr("dtype 3"));

  const std::string no_dtype = wire::shape({2}) + wire::bytes_field(wire::kTensorContent, wire::raw(std::vector<float>{1, 2}));
  EXPECT_TRUE(parse_error("no-dtype.tensor", no_dtype).has_value());
}

TEST(TensorProtoErrors, ContentSizeDoesNotMatchTheShape) {
  const std::string too_short = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({2, 3}) +
                                wire::bytes_field(wire::kTensorContent, wire::raw(sample_values(5)));
  const auto error = parse_error("short.tensor", too_short);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), "short.tensor");
  EXPECT_THAT(error->problem(), HasSubstr("20 bytes"));

  const std::string too_long = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({2, 3}) +
                               wire::bytes_field(wire::kTensorContent, wire::raw(sample_values(7)));
  EXPECT_TRUE(parse_error("long.tensor", too_long).has_value());

  // Float-sized content for a double tensor: right byte count for 6 floats, half of what 6 doubles need.
  const std::string double_as_float = wire::varint_field(wire::kDtype, wire::kDtDouble) + wire::shape({2, 3}) +
                                      wire::bytes_field(wire::kTensorContent, wire::raw(sample_values(6)));
  EXPECT_TRUE(parse_error("double.tensor", double_as_float).has_value());
}

TEST(TensorProtoErrors, MoreListedValuesThanTheShapeOrNoneAtAll) {
  const std::string too_many = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({2}) +
                               wire::bytes_field(wire::kFloatVal, wire::raw(std::vector<float>{1, 2, 3}));
  EXPECT_TRUE(parse_error("many.tensor", too_many).has_value());

  const std::string no_values = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::shape({2});
  EXPECT_TRUE(parse_error("none.tensor", no_values).has_value());

  const std::string no_shape = wire::varint_field(wire::kDtype, wire::kDtFloat) +
                               wire::bytes_field(wire::kTensorContent, wire::raw(std::vector<float>{1}));
  EXPECT_TRUE(parse_error("no-shape.tensor", no_shape).has_value());
}

TEST(TensorProtoErrors, UnknownDimensionAndBadWireTypes) {
  // tf.TensorShape([None]) serialises its dim size as -1: a ten-byte varint.
  const std::string unknown_dim = wire::varint_field(wire::kDtype, wire::kDtFloat) +
                                  wire::bytes_field(wire::kTensorShape,
                                                    wire::bytes_field(wire::kShapeDim, wire::varint_field(wire::kDimSize, ~std::uint64_t{0}))) +
                                  wire::bytes_field(wire::kFloatVal, wire::raw(std::vector<float>{1}));
  EXPECT_TRUE(parse_error("unknown-dim.tensor", unknown_dim).has_value());

  const std::string dtype_as_bytes = wire::bytes_field(wire::kDtype, "x") + wire::shape({1}) +
                                     wire::bytes_field(wire::kFloatVal, wire::raw(std::vector<float>{1}));
  EXPECT_TRUE(parse_error("dtype-bytes.tensor", dtype_as_bytes).has_value());

  const std::string group_wire_type = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::key(9, 3);
  EXPECT_TRUE(parse_error("group.tensor", group_wire_type).has_value());

  const std::string endless_varint = wire::varint_field(wire::kDtype, wire::kDtFloat) + wire::key(wire::kVersionNumber, wire::kVarint) +
                                     std::string(11, '\xff');
  EXPECT_TRUE(parse_error("endless.tensor", endless_varint).has_value());
}

}  // namespace
}  // namespace conceptree
