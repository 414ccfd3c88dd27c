// Serialised TensorFlow tensors (`import --format tf-tensors`), the paper's released embeddings.

#include <cstdint>

#include "conceptree/tensor_proto.hpp"
#include "fuzz_support.hpp"

using namespace conceptree;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::expect_clean_outcome([&] {
    const FloatTensor tensor = parse_tensor_proto("input.tensor", {data, size});
    // A decoded tensor must re-encode: the writer trusts what the parser accepted.
    (void)serialize_tensor_proto(tensor);
  });
  return 0;
}
