#pragma once
// A killed import's leftovers, shared by the import tests of this folder.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "conceptree/error.hpp"
#include "conceptree/ingest.hpp"

namespace conceptree::testing {

// What an import killed once it had stored the tracks of its input leaves: their records in
// OUTPUT.partial, then a record cut short. Made by a run whose last step, moving the store into
// place, fails: OUTPUT is a folder.
inline void leave_killed_partial(ImportConfig config) {
  std::filesystem::create_directories(std::filesystem::path(config.output) / "in the way");
  config.overwrite = true;
  EXPECT_THROW(EmbeddingImporter(config).run(), FatalError);
  std::filesystem::remove_all(config.output);
  std::ofstream torn(config.output + ".partial", std::ios::app | std::ios::binary);
  torn << std::string("\x40\0\0\0\0\0\0\0torn", 12);
}

}  // namespace conceptree::testing
