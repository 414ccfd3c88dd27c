// Malformed inputs an adversarial user (or a fuzzer) found: each must end in an InputError naming
// the file, never a crash, a hang or silent garbage.

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "concepts/logistic.hpp"
#include "conceptree/audio.hpp"
#include "conceptree/concept_set.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/tensor_proto.hpp"
#include "hdf5/hdf5.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

using testing::input_error_from;
using testing::ScratchDir;

ConceptSet two_concepts() {
  ConceptSet set;
  set.layer = "penultimate";
  set.dim = 2;
  set.names = {"a", "b"};
  set.types = {"tag", "tag"};
  set.kept = {1, 1};
  set.weights = {1, 0, 0, 1};
  set.bias = {0, 0};
  set.splits.track_ids = {"t0", "t1", "t2"};
  for (TrackLists* lists : {&set.splits.train_positive, &set.splits.train_negative, &set.splits.val_positive,
                            &set.splits.val_negative, &set.splits.test_positive, &set.splits.test_negative}) {
    lists->add({0});
    lists->add({1, 2});
  }
  return set;
}

TEST(MalformedInput, AnArrayValuedAttributeWhereAScalarIsExpectedIsIgnoredNotOverrun) {
  ScratchDir dir;
  const auto path = dir / "concepts.h5";
  write_concept_set(path, two_concepts());
  {
    h5::File file(path, h5::Mode::ReadWrite);
    H5Adelete(file.id(), "format");
    const hsize_t count = 4;
    h5::Handle space(H5Screate_simple(1, &count, nullptr));
    h5::Handle attribute(H5Acreate2(file.id(), "format", H5T_NATIVE_DOUBLE, space.id(), H5P_DEFAULT, H5P_DEFAULT));
    const double values[4] = {1, 2, 3, 4};
    ASSERT_GE(H5Awrite(attribute.id(), H5T_NATIVE_DOUBLE, values), 0);
    EXPECT_FALSE(h5::double_attribute(file.id(), "format").has_value());
    EXPECT_FALSE(h5::string_attribute(file.id(), "format").has_value());
  }
  const auto error = input_error_from([&] { read_concept_set(path); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
}

TEST(MalformedInput, SplitOffsetsThatFallBackAreRefused) {
  ScratchDir dir;
  ConceptSet set = two_concepts();
  set.splits.test_positive.offsets = {0, 3, 1};
  set.splits.test_positive.indices = {0};
  const auto path = dir / "concepts.h5";
  write_concept_set(path, set);
  const auto error = input_error_from([&] { read_concept_set(path); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
  EXPECT_NE(error->problem().find("test/positive"), std::string::npos) << error->problem();
}

TEST(MalformedInput, ANonFiniteBiasIsNamedWithItsConcept) {
  ScratchDir dir;
  ConceptSet set = two_concepts();
  set.bias[1] = std::numeric_limits<float>::quiet_NaN();
  const auto path = dir / "concepts.h5";
  write_concept_set(path, set);
  const auto error = input_error_from([&] { read_concept_set(path); });
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->problem().find("'b'"), std::string::npos) << error->problem();
}

TEST(MalformedInput, ADatasetDeclaringMoreRowsThanTheFileHoldsIsRefusedBeforeAllocating) {
  ScratchDir dir;
  const auto path = dir / "huge.h5";
  {
    h5::File file(path, h5::Mode::Create);
    h5::Handle dataset = h5::create_extendable(file.id(), "/values", H5T_NATIVE_FLOAT, 0, {});
    h5::resize_rows(dataset.id(), std::uint64_t{1} << 40);
  }
  h5::File file(path, h5::Mode::ReadOnly);
  const auto error = input_error_from([&] { h5::read_vector<float>(file.id(), "/values", file.name()); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
  EXPECT_NE(error->problem().find("/values"), std::string::npos) << error->problem();
  EXPECT_NE(error->problem().find("1099511627776"), std::string::npos) << error->problem();
}

TEST(MalformedInput, ATruncatedHdf5FileIsNamedNotCrashedOn) {
  ScratchDir dir;
  const auto whole = dir / "whole.h5";
  write_concept_set(whole, two_concepts());
  const auto size = std::filesystem::file_size(whole);
  for (const double share : {0.1, 0.5, 0.9}) {
    const auto cut = dir / "cut.h5";
    std::filesystem::copy_file(whole, cut, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(cut, static_cast<std::uintmax_t>(static_cast<double>(size) * share));
    const auto error = input_error_from([&] { read_concept_set(cut); });
    ASSERT_TRUE(error.has_value()) << share;
    EXPECT_EQ(error->item(), cut.string());
  }
}

TEST(MalformedInput, EveryByteOfAConceptSetFlippedInTurnEndsCleanly) {
  ScratchDir dir;
  const auto whole = dir / "whole.h5";
  write_concept_set(whole, two_concepts());
  std::string bytes = testing::read_text(whole);
  const auto damaged = dir / "damaged.h5";
  // Every 97th byte: the superblock, object headers, heaps, B-trees and data all get hit.
  for (std::size_t at = 0; at < bytes.size(); at += 97) {
    std::string copy = bytes;
    copy[at] = static_cast<char>(copy[at] ^ 0x5a);
    testing::write_text(damaged, copy);
    try {
      read_concept_set(damaged);
    } catch (const InputError& error) {
      EXPECT_EQ(error.item(), damaged.string()) << "byte " << at << ": " << error.what();
    }
  }
}

TEST(MalformedInput, TheCliNamesADamagedHdf5FileAndExitsWithoutLibraryChatter) {
  ScratchDir dir;
  const auto whole = dir / "whole.h5";
  write_concept_set(whole, two_concepts());
  const std::string bytes = testing::read_text(whole);
  const auto damaged = dir / "damaged.h5";
  for (std::size_t at = 64; at < bytes.size(); at += 997) {
    std::string copy = bytes;
    copy[at] = static_cast<char>(copy[at] ^ 0xff);
    testing::write_text(damaged, copy);
    const auto result = testing::run_cli("info " + testing::shell_quote(damaged.string()));
    EXPECT_TRUE(result.exit_code == 0 || result.exit_code == 1) << "byte " << at << ": " << result.err;
    if (result.exit_code == 1) {
      EXPECT_NE(result.err.find(damaged.string()), std::string::npos) << "byte " << at << ": " << result.err;
    }
    EXPECT_EQ(result.err.find("HDF5"), result.err.find("HDF5 file")) << "byte " << at << ": " << result.err;
  }
}

// Every input the fuzzers found (fuzz/regressions/<target>/) through `conceptree info`, which
// reads any conceptree file: a clean end (0, or 1 naming the file), never a crash or a hang.
TEST(FuzzRegressions, EveryFoundInputEndsCleanlyInTheCli) {
  const std::filesystem::path regressions = std::filesystem::path(CONCEPTREE_SOURCE_DIR) / "fuzz" / "regressions";
  std::size_t replayed = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(regressions)) {
    if (!entry.is_regular_file()) continue;
    const auto result = testing::run_cli("info " + testing::shell_quote(entry.path().string()));
    EXPECT_TRUE(result.exit_code == 0 || result.exit_code == 1) << entry.path() << ": " << result.err;
    if (result.exit_code == 1) {
      EXPECT_NE(result.err.find(entry.path().string()), std::string::npos) << result.err;
    }
    ++replayed;
  }
  EXPECT_GE(replayed, 6u);
}

TEST(MalformedInput, JsonNestedDeeperThanAnyConceptreeFileIsRefused) {
  ScratchDir dir;
  const auto path = dir / "deep.json";
  const std::size_t depth = 100000;
  testing::write_text(path, R"({"nodes": [], "links": [], "params": )" + std::string(depth, '[') + std::string(depth, ']') + "}");
  const auto error = input_error_from([&] { read_hierarchy_json(path); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
  EXPECT_NE(error->problem().find("nested deeper"), std::string::npos) << error->problem();
}

std::string npy_with_shape(const std::string& shape, std::size_t data_bytes) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  header.resize(118, ' ');
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(header.size() & 0xff);
  file += static_cast<char>(header.size() >> 8);
  return file + header + std::string(data_bytes, '\0');
}

TEST(MalformedInput, AnNpyShapeWhoseByteCountWrapsAroundIsTruncationNotATinyArray) {
  ScratchDir dir;
  const auto path = dir / "wrap.npy";
  // 2^32 * 2^32 * 4 bytes is 0 modulo 2^64.
  testing::write_text(path, npy_with_shape("(4294967296, 4294967296)", 16));
  const auto error = input_error_from([&] { NpyReader reader(path); });
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->problem().find("truncated"), std::string::npos) << error->problem();
}

TEST(MalformedInput, AnNpyShapeTooLongForAnIntegerIsABadShape) {
  ScratchDir dir;
  const auto path = dir / "digits.npy";
  testing::write_text(path, npy_with_shape("(123456789012345678901234567890,)", 16));
  const auto error = input_error_from([&] { NpyReader reader(path); });
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->problem().find("shape"), std::string::npos) << error->problem();
}

TEST(MalformedInput, ATensorShapeDeclaringTrillionsOfValuesIsRefusedBeforeFillingThem) {
  const std::string bytes = serialize_tensor_proto({.shape = {1u << 20, 1u << 20}, .values = {1.0f}});
  // The declared shape is checked before the content is matched against it.
  const auto error = input_error_from([&] {
    parse_tensor_proto("huge.pb", {reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()});
  });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), "huge.pb");
}

TEST(MalformedInput, AWavDeclaringOneHertzIsRefused) {
  ScratchDir dir;
  const auto path = dir / "one_hertz.wav";
  testing::write_wav(path, testing::tone(0.1, 440), 16000);
  // The sample rate sits at byte 24 of a canonical wav header.
  std::string bytes = testing::read_text(path);
  const std::uint32_t one = 1;
  bytes.replace(24, 4, reinterpret_cast<const char*>(&one), 4);
  testing::write_text(path, bytes);
  const auto error = input_error_from([&] { read_audio(path, 16000); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
  EXPECT_NE(error->problem().find("1 Hz"), std::string::npos) << error->problem();
}

TEST(MalformedInput, ASampleNoAudioHasIsRefusedBeforeItOverflowsTheSpectrum) {
  const std::vector<float> samples = {0.1f, 1.6e38f, 0.2f};
  const auto error = input_error_from([&] { waveform_to_mono(samples, 1, 16000, 16000, "loud"); });
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->problem().find("frame 1"), std::string::npos) << error->problem();
}

TEST(MalformedInput, LogisticRegressionOnNonFiniteFramesThrowsInsteadOfDereferencingNothing) {
  const std::vector<float> frames = {std::numeric_limits<float>::quiet_NaN(), 1, 2, 3};
  const std::vector<std::uint8_t> labels = {1, 0, 1, 0};
  const std::vector<float> weights = {1, 1, 1, 1};
  const logistic::Problem problem{.frames = frames.data(), .rows = 4, .cols = 1, .labels = labels, .row_weights = weights};
  EXPECT_THROW(logistic::fit(problem, 1e-3, {}, {}), InputError);
}

}  // namespace
}  // namespace conceptree
