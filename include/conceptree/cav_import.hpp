#pragma once
// Concept activation vectors learned elsewhere (e.g. the paper's released APM genre and mood
// CAVs) turned into a concept set, so similarity and hierarchy run on them without audio.

#include <cstdint>
#include <string>

#include "conceptree/params.hpp"

namespace conceptree {

struct CavImportConfig {
  std::string weights{};  // K x D .npy
  std::string bias{};     // K .npy
  std::string names{};    // K lines
  std::string types{};    // optional: K lines, or one type for all via --type
  std::string type{};     // one type for every concept
  std::string layer{};    // layer the CAVs apply to
  std::string output{};
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(weights, {.name = "weights", .help = ".npy of K x D CAV weights (one row per concept)", .required = true});
    v(bias, {.name = "bias", .help = ".npy of K biases", .required = true});
    v(names, {.name = "names", .help = "text file of K concept names, one per line", .required = true});
    v(types, {.name = "types", .help = "text file of K concept types, one per line"});
    v(type, {.name = "type", .help = "one type for every concept (e.g. genre)"});
    v(layer, {.name = "layer", .help = "name of the embedding layer the CAVs apply to (e.g. pool5)", .required = true});
    v(output, {.name = "output", .help = "concept set to write (HDF5)", .required = true, .short_name = "o"});
    v(overwrite, {.name = "overwrite", .help = "replace the output if it exists"});
  }
};

struct CavImportSummary {
  std::uint64_t concepts = 0;
  std::uint64_t dim = 0;
};

// Throws FatalError naming the file for mismatched sizes, NaN/Inf values or duplicate names.
CavImportSummary import_cavs(CavImportConfig config);

}  // namespace conceptree
