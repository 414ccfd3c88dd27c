#include <gtest/gtest.h>

#include "conceptree/ingest.hpp"
#include "conceptree/progress.hpp"

namespace conceptree {
namespace {

TEST(ParamValidation, AcceptsDefaultsOnceRequiredValuesAreSet) {
  ImportConfig config{.format = ImportFormat::NpyDir, .input = "input-folder", .output = "out.h5"};
  EXPECT_NO_THROW(validate(config));
}

TEST(ParamValidation, RejectsOutOfRangeNumbersAndUnknownChoices) {
  ImportConfig config{.format = ImportFormat::NpyDir, .input = "input-folder", .output = "out.h5"};
  config.compression = 12;
  EXPECT_THROW(validate(config), FatalError);
  config.compression = 0;
  config.format.reset();
  EXPECT_THROW(validate(config), FatalError) << "--format is required";
  EXPECT_THROW(parse_choice_option<ImportFormat>("csv", "format"), FatalError);
  config.format = ImportFormat::Npy;
  config.output.clear();
  EXPECT_THROW(validate(config), FatalError);
}

TEST(Progress, LineShowsCountRateAndEta) {
  EXPECT_EQ(Progress::format_line("import", 50, 200, 10.0), "import  50/200 (25.0%)  10.0/s  ETA 0:15");
  EXPECT_EQ(Progress::format_line("scan", 7, 0, 3.5), "scan  7  3.5/s");
  EXPECT_EQ(Progress::format_line("x", 0, 10, 0.0), "x  0/10 (0.0%)  0.0/s  ETA --:--");
}

}  // namespace
}  // namespace conceptree
