#pragma once
// TensorFlow's serialised TensorProto (tf.io.serialize_tensor), the format of the paper's released
// embeddings. Parsed by hand: one flat message of a few fields does not justify vendoring
// TensorFlow's .proto schema and a protobuf code generator into the build.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace conceptree {

struct FloatTensor {
  std::vector<std::uint64_t> shape;
  std::vector<float> values;  // row-major
};

// Decodes a DT_FLOAT (1) or DT_DOUBLE (2) tensor from `tensor_content` or the repeated value
// fields. Throws InputError(item, ...) for malformed bytes, other dtypes or a size mismatch.
FloatTensor parse_tensor_proto(const std::string& item, std::span<const unsigned char> bytes);

// Encodes a DT_FLOAT tensor with `tensor_content`, as tf.io.serialize_tensor does.
std::string serialize_tensor_proto(const FloatTensor& tensor);

}  // namespace conceptree
