#include "conceptree/cav_import.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unordered_set>

#include "conceptree/concept_set.hpp"
#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/names.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/text_list.hpp"

namespace conceptree {
namespace fs = std::filesystem;

CavImportSummary import_cavs(CavImportConfig config) {
  validate(config);
  refuse_to_overwrite(config.output, config.overwrite);
  if (!config.types.empty() && !config.type.empty()) throw FatalError("give --types or --type, not both");
  try {
    ConceptSet set;
    const NpyReader weights(config.weights);
    const NpyReader bias(config.bias);
    set.names = read_text_list(config.names);
    const std::size_t k = set.names.size();
    const auto& shape = weights.header().shape;
    if (shape.size() != 2 || shape[0] != k) {
      throw InputError(config.weights, "expected a (" + std::to_string(k) + ", D) array for " + std::to_string(k) + " names in " + config.names);
    }
    if (bias.header().element_count() != k) throw InputError(config.bias, "expected " + std::to_string(k) + " biases, one per name");
    set.layer = config.layer;
    set.dim = shape[1];
    set.weights = weights.read_all_as_float();
    set.bias = bias.read_all_as_float();
    std::unordered_set<std::string> seen;
    for (std::size_t i = 0; i < k; ++i) {
      // A list holds no blank line before its last entry, so entry i is on line i + 1.
      check_name(set.names[i], config.names + ":" + std::to_string(i + 1), "concept name");
      if (!seen.insert(set.names[i]).second) throw InputError(config.names, "duplicate concept name '" + set.names[i] + "'");
      const bool finite = std::isfinite(set.bias[i]) &&
                          std::all_of(set.weights.begin() + static_cast<std::ptrdiff_t>(i * set.dim),
                                      set.weights.begin() + static_cast<std::ptrdiff_t>((i + 1) * set.dim),
                                      [](float x) { return std::isfinite(x); });
      if (!finite) throw InputError(config.weights, "concept '" + set.names[i] + "' (row " + std::to_string(i) + ") has NaN or Inf values");
    }
    set.types = config.types.empty() ? std::vector<std::string>(k, config.type) : read_text_list(config.types);
    if (set.types.size() != k) throw InputError(config.types, std::to_string(set.types.size()) + " types for " + std::to_string(k) + " names");
    for (std::size_t i = 0; i < k; ++i) check_name(set.types[i], config.types.empty() ? "--type" : config.types + ":" + std::to_string(i + 1), "concept type");
    set.kept.assign(k, 1);
    set.text_attributes = {{"source", "cavs import " + fs::absolute(config.weights).string()}};
    write_concept_set(config.output, set);
    return {k, set.dim};
  } catch (const InputError& error) {
    throw FatalError(error.what());
  }
}

}  // namespace conceptree
