// Where the musicnn weights that ship with conceptree are found at run time.

#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

#include "conceptree/backbone.hpp"
#include "conceptree/error.hpp"
#include "conceptree/text_list.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

constexpr const char* kWeightsInDataDir = "musicnn/MSD_vgg.h5";

// The file this code was loaded from: the conceptree binary, or a shared library (the Python
// module) that holds it. dladdr, not /proc/self/exe, since inside Python the executable is python.
fs::path loaded_from() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&shipped_musicnn_weights), &info) == 0 || info.dli_fname == nullptr) return {};
  std::error_code error;
  const fs::path path = fs::canonical(info.dli_fname, error);
  return error ? fs::path{} : path;
}

}  // namespace

fs::path shipped_musicnn_weights() {
  std::vector<fs::path> candidates;
  // An install is relocatable: <prefix>/bin/conceptree or <prefix>/lib/... beside <prefix>/share.
  if (const fs::path self = loaded_from(); !self.empty()) {
    candidates.push_back(self.parent_path().parent_path() / "share" / "conceptree" / kWeightsInDataDir);
  }
  candidates.push_back(fs::path(CONCEPTREE_INSTALL_DATADIR) / kWeightsInDataDir);
  candidates.push_back(fs::path(CONCEPTREE_SOURCE_MODELS_DIR) / kWeightsInDataDir);
  std::vector<std::string> looked_at;
  for (const auto& candidate : candidates) {
    std::error_code error;
    if (fs::is_regular_file(candidate, error)) return candidate;
    looked_at.push_back(candidate.string());
  }
  throw InputError("musicnn weights", fmt::format("MSD_vgg.h5 is not where conceptree installs it (looked at {}); pass --weights",
                                                  fmt::join(looked_at, ", ")));
}

std::vector<std::string> musicnn_tag_names(const fs::path& weights) {
  constexpr const char* kTagsFile = "msd_tags.txt";
  std::error_code error;
  fs::path tags = weights.parent_path() / kTagsFile;
  if (!fs::is_regular_file(tags, error)) tags = shipped_musicnn_weights().parent_path() / kTagsFile;
  std::vector<std::string> names = read_text_list(tags);
  if (names.size() != MusicnnVgg::kTagCount)
    throw InputError(tags.string(), fmt::format("{} tag names; musicnn-vgg has {}", names.size(), MusicnnVgg::kTagCount));
  return names;
}

}  // namespace conceptree
