#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/npy.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

using conceptree::testing::input_error_from;

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ScratchDir;
using namespace std::string_literals;

// Float comparisons in this file are on bit patterns: a reader that is "close" is still wrong.
std::vector<std::uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<std::uint32_t> bits;
  bits.reserve(values.size());
  for (float value : values) bits.push_back(std::bit_cast<std::uint32_t>(value));
  return bits;
}

// Runs `body` under the Debian python3 with numpy, with `folder` bound to the scratch folder and
// `np`/`os` imported. Empty when there is no such python.
std::optional<testing::CommandResult> run_numpy(const fs::path& folder, const std::string& body) {
  const std::string python = testing::python_with_h5py();
  if (python.empty()) return std::nullopt;
  const std::string script = std::string("import os, sys\nimport numpy as np\nfolder = sys.argv[1]\n") + body;
  return testing::run_command(python + " -c " + testing::shell_quote(script) + " " +
                              testing::shell_quote(folder.string()));
}

// Skips the test without numpy and stops it when the generating script fails.
#define WRITE_WITH_NUMPY_OR_SKIP(folder, body)                                          \
  do {                                                                                  \
    const auto numpy_result = run_numpy(folder, body);                                  \
    if (!numpy_result) GTEST_SKIP() << "/usr/bin/python3 with numpy and h5py not found"; \
    ASSERT_EQ(numpy_result->exit_code, 0) << numpy_result->err;                         \
  } while (false)

std::vector<float> iota_floats(std::size_t count, float start = 0) {
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = start + static_cast<float>(i);
  return values;
}

// ---------------------------------------------------------------------------------------------
// write_npy -> NpyReader

TEST(NpyRoundTrip, Float32MatrixKeepsShapeHeaderAndExactBits) {
  const ScratchDir scratch;
  const fs::path path = scratch / "frames.npy";
  const std::vector<float> values = {0.0f, -0.0f, 1.0f / 3.0f, -2.5e-38f, 1e-45f /* subnormal */,
                                     3.4028235e38f, -7.25f, 123456.789f, 1e-7f, -1.0f, 42.0f, 0.1f};
  const std::vector<std::uint64_t> shape = {3, 4};
  write_npy(path, values, shape);

  const NpyReader reader(path);
  const NpyHeader& header = reader.header();
  EXPECT_EQ(header.descr, "<f4");
  EXPECT_EQ(header.kind, 'f');
  EXPECT_EQ(header.item_size, 4u);
  EXPECT_FALSE(header.big_endian);
  EXPECT_FALSE(header.fortran_order);
  EXPECT_EQ(header.shape, shape);
  // numpy aligns the data to 64 bytes; memory-mapping readers rely on it.
  EXPECT_EQ(header.data_offset % 64, 0u);
  EXPECT_EQ(header.data_offset + values.size() * 4, fs::file_size(path));
  EXPECT_EQ(reader.rows(), 3u);
  EXPECT_EQ(reader.row_size(), 4u);
  EXPECT_EQ(bits_of(reader.read_all_as_float()), bits_of(values));
}

TEST(NpyRoundTrip, Uint64VectorKeepsFullRange) {
  const ScratchDir scratch;
  const fs::path path = scratch / "offsets.npy";
  const std::vector<std::uint64_t> values = {0, 1, 255, 256, 4294967296ull, (1ull << 63) + 5,
                                             std::numeric_limits<std::uint64_t>::max()};
  const std::vector<std::uint64_t> shape = {values.size()};
  write_npy(path, values, shape);

  const NpyReader reader(path);
  EXPECT_EQ(reader.header().descr, "<u8");
  EXPECT_EQ(reader.header().kind, 'u');
  EXPECT_EQ(reader.header().item_size, 8u);
  EXPECT_EQ(reader.header().shape, shape);
  EXPECT_EQ(reader.rows(), values.size());
  EXPECT_EQ(reader.row_size(), 1u);
  EXPECT_EQ(reader.read_all_as_uint64(), values);
}

TEST(NpyRoundTrip, ZeroDimensionalArrayIsOneRowOfOne) {
  const ScratchDir scratch;
  const fs::path path = scratch / "scalar.npy";
  const std::vector<float> value = {-6.5f};
  write_npy(path, value, std::span<const std::uint64_t>());

  const NpyReader reader(path);
  EXPECT_TRUE(reader.header().shape.empty());
  EXPECT_EQ(reader.header().element_count(), 1u);
  EXPECT_EQ(reader.rows(), 1u);
  EXPECT_EQ(reader.row_size(), 1u);
  EXPECT_EQ(reader.read_all_as_float(), value);
}

TEST(NpyRoundTrip, ThreeDimensionalRowsAreTheLeadingAxis) {
  const ScratchDir scratch;
  const fs::path path = scratch / "cube.npy";
  const auto values = iota_floats(24);
  const std::vector<std::uint64_t> shape = {2, 3, 4};
  write_npy(path, values, shape);

  const NpyReader reader(path);
  EXPECT_EQ(reader.header().shape, shape);
  EXPECT_EQ(reader.rows(), 2u);
  EXPECT_EQ(reader.row_size(), 12u);
  std::vector<float> second(12);
  reader.read_rows_as_float(1, 1, second.data());
  EXPECT_EQ(second, iota_floats(12, 12));
}

// ---------------------------------------------------------------------------------------------
// read_rows_as_float

TEST(NpyReadRows, ReturnsExactlyTheRequestedRowRange) {
  const ScratchDir scratch;
  const fs::path path = scratch / "rows.npy";
  const std::vector<std::uint64_t> shape = {5, 3};
  write_npy(path, iota_floats(15, 100), shape);
  const NpyReader reader(path);

  // A sentinel after the requested rows catches writes past the end of the range.
  std::vector<float> middle(2 * 3 + 1, -1.0f);
  reader.read_rows_as_float(1, 2, middle.data());
  EXPECT_EQ(middle, (std::vector<float>{103, 104, 105, 106, 107, 108, -1}));

  std::vector<float> last(3);
  reader.read_rows_as_float(4, 1, last.data());
  EXPECT_EQ(last, (std::vector<float>{112, 113, 114}));

  std::vector<float> first(3);
  reader.read_rows_as_float(0, 1, first.data());
  EXPECT_EQ(first, (std::vector<float>{100, 101, 102}));

  std::vector<float> untouched = {-1.0f};
  reader.read_rows_as_float(5, 0, untouched.data());
  EXPECT_EQ(untouched, std::vector<float>{-1.0f});
}

TEST(NpyReadRows, RangeBeyondTheEndIsAnInputErrorNamingTheFile) {
  const ScratchDir scratch;
  const fs::path path = scratch / "rows.npy";
  const std::vector<std::uint64_t> shape = {5, 3};
  write_npy(path, iota_floats(15), shape);
  const NpyReader reader(path);
  std::vector<float> out(3 * 6);
  for (const auto& [first, count] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{{4, 2}, {5, 1}, {0, 6}}) {
    const auto error = input_error_from([&] { reader.read_rows_as_float(first, count, out.data()); });
    ASSERT_TRUE(error.has_value()) << "rows " << first << "+" << count;
    EXPECT_EQ(error->item(), path.string());
  }
}

// ---------------------------------------------------------------------------------------------
// half_to_float

TEST(HalfToFloat, ConvertsNormalSubnormalAndSpecialValues) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0xc000), -2.0f);
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);                         // largest finite half
  EXPECT_EQ(half_to_float(0x0400), std::ldexp(1.0f, -14));            // smallest normal
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));            // smallest subnormal
  EXPECT_EQ(half_to_float(0x03ff), std::ldexp(1023.0f, -24));         // largest subnormal
  EXPECT_EQ(half_to_float(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(std::bit_cast<std::uint32_t>(half_to_float(0x0000)), 0x00000000u);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(half_to_float(0x8000)), 0x80000000u);  // -0 keeps its sign
  EXPECT_EQ(half_to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(half_to_float(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7c01)));  // signalling NaN must not turn into inf
}

// ---------------------------------------------------------------------------------------------
// Files written by numpy itself

TEST(NpyFromNumpy, LittleAndBigEndianFloat32) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "a = (np.arange(12, dtype=np.float64) / 3.0 - 2.0).reshape(4, 3)\n"
                     "np.save(os.path.join(folder, 'little.npy'), a.astype('<f4'))\n"
                     "np.save(os.path.join(folder, 'big.npy'), a.astype('>f4'))\n");
  std::vector<float> expected(12);
  for (int i = 0; i < 12; ++i) expected[i] = static_cast<float>(i / 3.0 - 2.0);

  const NpyReader little(scratch / "little.npy");
  EXPECT_FALSE(little.header().big_endian);
  EXPECT_EQ(little.header().shape, (std::vector<std::uint64_t>{4, 3}));
  EXPECT_EQ(bits_of(little.read_all_as_float()), bits_of(expected));

  const NpyReader big(scratch / "big.npy");
  EXPECT_TRUE(big.header().big_endian);
  EXPECT_EQ(big.header().descr, ">f4");
  EXPECT_EQ(bits_of(big.read_all_as_float()), bits_of(expected));
  std::vector<float> row(3);
  big.read_rows_as_float(2, 1, row.data());
  EXPECT_EQ(bits_of(row), bits_of({expected[6], expected[7], expected[8]}));
}

TEST(NpyFromNumpy, Float64IsRoundedToFloat32) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "a = np.arange(10, dtype='<f8') / 7.0 - 0.3\n"
                     "np.save(os.path.join(folder, 'double.npy'), a.reshape(5, 2))\n"
                     "np.save(os.path.join(folder, 'big_double.npy'), a.reshape(5, 2).astype('>f8'))\n");
  std::vector<float> expected(10);
  for (int i = 0; i < 10; ++i) expected[i] = static_cast<float>(i / 7.0 - 0.3);

  for (const char* name : {"double.npy", "big_double.npy"}) {
    const NpyReader reader(scratch / name);
    EXPECT_EQ(reader.header().item_size, 8u) << name;
    EXPECT_EQ(bits_of(reader.read_all_as_float()), bits_of(expected)) << name;
  }
}

TEST(NpyFromNumpy, Float16IsWidenedExactly) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "a = np.array([1.0, -2.0, 65504.0, 2.0**-24, 0.5, -0.0, np.inf], dtype='<f2')\n"
                     "np.save(os.path.join(folder, 'half.npy'), a)\n");
  const NpyReader reader(scratch / "half.npy");
  EXPECT_EQ(reader.header().descr, "<f2");
  EXPECT_EQ(reader.header().item_size, 2u);
  const std::vector<float> expected = {1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), 0.5f, -0.0f,
                                       std::numeric_limits<float>::infinity()};
  EXPECT_EQ(bits_of(reader.read_all_as_float()), bits_of(expected));
}

TEST(NpyFromNumpy, FortranOrderIsReturnedInRowMajorOrder) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "np.save(os.path.join(folder, 'f2d.npy'), np.asfortranarray(np.arange(12, dtype='<f4').reshape(3, 4)))\n"
                     "np.save(os.path.join(folder, 'f3d.npy'), np.asfortranarray(np.arange(24, dtype='<f4').reshape(2, 3, 4)))\n"
                     "np.save(os.path.join(folder, 'f2d_int.npy'), np.asfortranarray(np.arange(6, dtype='<i8').reshape(2, 3)))\n");

  const NpyReader matrix(scratch / "f2d.npy");
  ASSERT_TRUE(matrix.header().fortran_order);
  EXPECT_EQ(matrix.header().shape, (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(matrix.read_all_as_float(), iota_floats(12));
  std::vector<float> rows(8);
  matrix.read_rows_as_float(1, 2, rows.data());
  EXPECT_EQ(rows, iota_floats(8, 4));
  std::vector<float> row(4);
  matrix.read_rows_as_float(2, 1, row.data());
  EXPECT_EQ(row, iota_floats(4, 8));

  const NpyReader cube(scratch / "f3d.npy");
  ASSERT_TRUE(cube.header().fortran_order);
  EXPECT_EQ(cube.row_size(), 12u);
  EXPECT_EQ(cube.read_all_as_float(), iota_floats(24));
  std::vector<float> second(12);
  cube.read_rows_as_float(1, 1, second.data());
  EXPECT_EQ(second, iota_floats(12, 12));

  const NpyReader integers(scratch / "f2d_int.npy");
  ASSERT_TRUE(integers.header().fortran_order);
  EXPECT_EQ(integers.read_all_as_uint64(), (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(NpyFromNumpy, HeaderVersionsOneTwoAndThree) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "a = np.arange(6, dtype='<f4').reshape(2, 3) - 2.5\n"
                     "for v in (1, 2, 3):\n"
                     "    with open(os.path.join(folder, 'v%d.npy' % v), 'wb') as f:\n"
                     "        np.lib.format.write_array(f, a, version=(v, 0))\n");
  const std::vector<float> expected = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f};
  for (int version = 1; version <= 3; ++version) {
    const fs::path path = scratch / fmt::format("v{}.npy", version);
    ASSERT_EQ(static_cast<int>(testing::read_text(path).at(6)), version) << "numpy wrote another version";
    const NpyReader reader(path);
    // Version 2+ has a 4-byte header length, so the header starts 2 bytes later.
    EXPECT_EQ(reader.header().data_offset % 64, 0u) << path;
    EXPECT_EQ(reader.header().shape, (std::vector<std::uint64_t>{2, 3})) << path;
    EXPECT_EQ(reader.read_all_as_float(), expected) << path;
  }
}

TEST(NpyFromNumpy, ZeroAndOneDimensionalShapes) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "np.save(os.path.join(folder, 'scalar.npy'), np.array(7.75, dtype='<f4'))\n"
                     "np.save(os.path.join(folder, 'vector.npy'), np.array([3.0, -1.0, 0.25, 9.0, 11.0], dtype='<f4'))\n"
                     "np.save(os.path.join(folder, 'empty.npy'), np.zeros((0, 4), dtype='<f4'))\n");
  const NpyReader scalar(scratch / "scalar.npy");
  EXPECT_TRUE(scalar.header().shape.empty());
  EXPECT_EQ(scalar.rows(), 1u);
  EXPECT_EQ(scalar.read_all_as_float(), std::vector<float>{7.75f});

  const NpyReader vector(scratch / "vector.npy");
  EXPECT_EQ(vector.header().shape, std::vector<std::uint64_t>{5});
  EXPECT_EQ(vector.rows(), 5u);
  EXPECT_EQ(vector.row_size(), 1u);
  std::vector<float> middle(2);
  vector.read_rows_as_float(2, 2, middle.data());
  EXPECT_EQ(middle, (std::vector<float>{0.25f, 9.0f}));

  const NpyReader empty(scratch / "empty.npy");
  EXPECT_EQ(empty.rows(), 0u);
  EXPECT_EQ(empty.row_size(), 4u);
  EXPECT_TRUE(empty.read_all_as_float().empty());
}

TEST(NpyFromNumpy, IntegerTypesReadAsUint64) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "np.save(os.path.join(folder, 'i4.npy'), np.array([0, 5, 2**31 - 1], dtype='<i4'))\n"
                     "np.save(os.path.join(folder, 'big_i2.npy'), np.array([0, 300, 32767], dtype='>i2'))\n"
                     "np.save(os.path.join(folder, 'u1.npy'), np.array([0, 200, 255], dtype='u1'))\n"
                     "np.save(os.path.join(folder, 'big_u8.npy'), np.array([1, 2**64 - 1], dtype='>u8'))\n");
  EXPECT_EQ(NpyReader(scratch / "i4.npy").read_all_as_uint64(), (std::vector<std::uint64_t>{0, 5, 2147483647}));
  EXPECT_EQ(NpyReader(scratch / "big_i2.npy").read_all_as_uint64(), (std::vector<std::uint64_t>{0, 300, 32767}));
  EXPECT_EQ(NpyReader(scratch / "u1.npy").read_all_as_uint64(), (std::vector<std::uint64_t>{0, 200, 255}));
  EXPECT_EQ(NpyReader(scratch / "big_u8.npy").read_all_as_uint64(),
            (std::vector<std::uint64_t>{1, std::numeric_limits<std::uint64_t>::max()}));
}

// ---------------------------------------------------------------------------------------------
// Errors: always an InputError whose item is the file, so a batch import can skip and name it.

TEST(NpyErrors, MissingFile) {
  const ScratchDir scratch;
  const fs::path path = scratch / "absent.npy";
  const auto error = input_error_from([&] { NpyReader reader(path); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
  EXPECT_THAT(error->what(), HasSubstr(path.string()));
}

TEST(NpyErrors, NotNpyMagic) {
  const ScratchDir scratch;
  for (const std::string& contents : {std::string("this is a text file, not numpy data\n"), std::string(),
                                      "\x93NUMPX\x01\x00\x10\x00{}              "s}) {
    const fs::path path = scratch / "fake.npy";
    testing::write_text(path, contents);
    const auto error = input_error_from([&] { NpyReader reader(path); });
    ASSERT_TRUE(error.has_value()) << contents;
    EXPECT_EQ(error->item(), path.string());
    EXPECT_THAT(error->problem(), HasSubstr("magic"));
  }
}

TEST(NpyErrors, UnsupportedFormatVersion) {
  const ScratchDir scratch;
  const fs::path path = scratch / "v9.npy";
  write_npy(path, iota_floats(4), std::vector<std::uint64_t>{4});
  std::string bytes = testing::read_text(path);
  bytes[6] = '\x09';
  testing::write_text(path, bytes);
  const auto error = input_error_from([&] { NpyReader reader(path); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
  EXPECT_THAT(error->problem(), HasSubstr("version"));
}

TEST(NpyErrors, TruncatedDataOrHeader) {
  const ScratchDir scratch;
  const fs::path whole = scratch / "whole.npy";
  const std::vector<std::uint64_t> shape = {4, 8};
  write_npy(whole, iota_floats(32), shape);
  const std::string bytes = testing::read_text(whole);
  // One byte short, one row short, no data at all, inside the header dict, inside the fixed prefix.
  for (std::size_t length : {bytes.size() - 1, bytes.size() - 4 * 8, std::size_t{64}, std::size_t{40}, std::size_t{9}}) {
    const fs::path path = scratch / "cut.npy";
    testing::write_text(path, bytes.substr(0, length));
    const auto error = input_error_from([&] {
      const NpyReader reader(path);
      reader.read_all_as_float();
    });
    ASSERT_TRUE(error.has_value()) << "cut at " << length << " of " << bytes.size();
    EXPECT_EQ(error->item(), path.string());
  }
  const fs::path cut = scratch / "cut.npy";
  testing::write_text(cut, bytes.substr(0, bytes.size() - 1));
  const auto error = input_error_from([&] { NpyReader reader(cut); });
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->problem(), HasSubstr("truncated"));
}

TEST(NpyErrors, IntegerArrayReadAsFloat) {
  const ScratchDir scratch;
  const fs::path path = scratch / "ints.npy";
  write_npy(path, std::vector<std::uint64_t>{1, 2, 3}, std::vector<std::uint64_t>{3});
  const NpyReader reader(path);
  const auto error = input_error_from([&] { reader.read_all_as_float(); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
  EXPECT_THAT(error->problem(), HasSubstr("u8"));
}

TEST(NpyErrors, FloatArrayReadAsIntegers) {
  const ScratchDir scratch;
  const fs::path path = scratch / "floats.npy";
  write_npy(path, iota_floats(3), std::vector<std::uint64_t>{3});
  const NpyReader reader(path);
  const auto error = input_error_from([&] { reader.read_all_as_uint64(); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
}

TEST(NpyErrors, NumpyIntegerAndBoolDtypesAreNotFloats) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "np.save(os.path.join(folder, 'i4.npy'), np.arange(6, dtype='<i4').reshape(2, 3))\n"
                     "np.save(os.path.join(folder, 'bool.npy'), np.array([True, False]))\n");
  for (const char* name : {"i4.npy", "bool.npy"}) {
    const fs::path path = scratch / name;
    const auto error = input_error_from([&] {
      const NpyReader reader(path);
      reader.read_all_as_float();
    });
    ASSERT_TRUE(error.has_value()) << name;
    EXPECT_EQ(error->item(), path.string());
  }
}

TEST(NpyErrors, ObjectAndStructuredDtypes) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "np.save(os.path.join(folder, 'object.npy'), np.array([1, 'a', None], dtype=object), allow_pickle=True)\n"
                     "np.save(os.path.join(folder, 'structured.npy'), np.zeros(3, dtype=[('a', '<f4'), ('b', '<i4')]))\n"
                     "np.save(os.path.join(folder, 'complex.npy'), np.zeros(3, dtype='<c8'))\n");
  for (const char* name : {"object.npy", "structured.npy", "complex.npy"}) {
    const fs::path path = scratch / name;
    const auto error = input_error_from([&] {
      const NpyReader reader(path);
      reader.read_all_as_float();
    });
    ASSERT_TRUE(error.has_value()) << name;
    EXPECT_EQ(error->item(), path.string()) << name;
  }
}

TEST(NpyErrors, NegativeIntegersAreNotOffsets) {
  const ScratchDir scratch;
  WRITE_WITH_NUMPY_OR_SKIP(scratch.path(),
                     "np.save(os.path.join(folder, 'i8.npy'), np.array([0, 4, -1, 9], dtype='<i8'))\n"
                     "np.save(os.path.join(folder, 'i1.npy'), np.array([3, -128], dtype='i1'))\n"
                     "np.save(os.path.join(folder, 'big_i4.npy'), np.array([-2], dtype='>i4'))\n");
  for (const char* name : {"i8.npy", "i1.npy", "big_i4.npy"}) {
    const fs::path path = scratch / name;
    const NpyReader reader(path);
    const auto error = input_error_from([&] { reader.read_all_as_uint64(); });
    ASSERT_TRUE(error.has_value()) << name;
    EXPECT_EQ(error->item(), path.string());
    EXPECT_THAT(error->problem(), HasSubstr("negative")) << name;
  }
}

}  // namespace
}  // namespace conceptree
