#include "conceptree/concept_set.hpp"

#include <algorithm>
#include <cmath>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/version.hpp"
#include "hdf5/hdf5.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

// Every per-concept metric, declared once for writing and reading.
struct RealMetric {
  const char* name;
  double ConceptMetrics::*member;
};
struct CountMetric {
  const char* name;
  std::uint64_t ConceptMetrics::*member;
};
constexpr RealMetric kRealMetrics[] = {
    {"train_balanced_accuracy", &ConceptMetrics::train_balanced_accuracy},
    {"val_balanced_accuracy", &ConceptMetrics::val_balanced_accuracy},
    {"test_balanced_accuracy", &ConceptMetrics::test_balanced_accuracy},
    {"test_roc_auc", &ConceptMetrics::test_roc_auc},
    {"regularization", &ConceptMetrics::regularization},
};
constexpr CountMetric kCountMetrics[] = {
    {"n_tracks", &ConceptMetrics::n_tracks},
    {"n_train_frames", &ConceptMetrics::n_train_frames},
    {"solver_evaluations", &ConceptMetrics::solver_evaluations},
};

struct SplitPart {
  const char* path;
  TrackLists ConceptSplits::*member;
};
constexpr SplitPart kSplitParts[] = {
    {"train/positive", &ConceptSplits::train_positive}, {"train/negative", &ConceptSplits::train_negative},
    {"val/positive", &ConceptSplits::val_positive},     {"val/negative", &ConceptSplits::val_negative},
    {"test/positive", &ConceptSplits::test_positive},   {"test/negative", &ConceptSplits::test_negative},
};

std::string cav_path(const std::string& layer, const char* what) { return "/cav/" + layer + "/" + what; }

struct CalibrationPart {
  const char* name;
  ScoreLists ConceptCalibration::*member;
};
constexpr CalibrationPart kCalibrationParts[] = {{"test_positive", &ConceptCalibration::test_positive},
                                                 {"test_negative", &ConceptCalibration::test_negative}};

std::string calibration_path(const std::string& layer, const CalibrationPart& part, const char* what) {
  return "/calibration/" + layer + "/" + part.name + "/" + what;
}

}  // namespace

std::pair<double, double> balanced_accuracy_interval(double balanced_accuracy, std::uint64_t positives, std::uint64_t negatives) {
  if (positives == 0 || negatives == 0 || !std::isfinite(balanced_accuracy)) return {0.0, 1.0};
  constexpr double z = 1.959963984540054;
  const double n = 4.0 / (1.0 / static_cast<double>(positives) + 1.0 / static_cast<double>(negatives));
  const double p = std::clamp(balanced_accuracy, 0.0, 1.0), z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

void write_concept_set(const fs::path& path, const ConceptSet& set) {
  const std::size_t k = set.size();
  if (set.types.size() != k || set.kept.size() != k || set.bias.size() != k || set.weights.size() != k * set.dim ||
      (!set.metrics.empty() && set.metrics.size() != k) ||
      (!set.calibration.empty() && (set.calibration.test_positive.size() != k || set.calibration.test_negative.size() != k))) {
    throw FatalError(path.string() + ": concept set arrays disagree in size");
  }
  AtomicOutput output(path);
  {
    h5::File file(output.temp_path(), h5::Mode::Create);
    const hid_t root = file.id();
    h5::set_attribute(root, "format", std::string(kConceptSetFormat));
    h5::set_attribute(root, "format_version", std::uint64_t{1});
    h5::set_attribute(root, "tool_version", std::string("conceptree ") + kVersion);
    h5::set_attribute(root, "layer", set.layer);
    for (const auto& [name, value] : set.text_attributes) h5::set_attribute(root, name, value);
    for (const auto& [name, value] : set.number_attributes) h5::set_attribute(root, name, value);

    h5::write_strings(root, "/concepts/names", set.names);
    h5::write_strings(root, "/concepts/types", set.types);
    h5::write_vector<std::uint8_t>(root, "/concepts/kept", set.kept);
    if (!set.metrics.empty()) {
      std::vector<double> reals(k);
      for (const auto& metric : kRealMetrics) {
        for (std::size_t i = 0; i < k; ++i) reals[i] = set.metrics[i].*metric.member;
        h5::write_vector<double>(root, std::string("/concepts/metrics/") + metric.name, reals);
      }
      std::vector<std::uint64_t> counts(k);
      for (const auto& metric : kCountMetrics) {
        for (std::size_t i = 0; i < k; ++i) counts[i] = set.metrics[i].*metric.member;
        h5::write_vector<std::uint64_t>(root, std::string("/concepts/metrics/") + metric.name, counts);
      }
    }
    const std::uint64_t weight_shape[] = {k, set.dim};
    h5::write_vector<float>(root, cav_path(set.layer, "weights"), set.weights, weight_shape);
    h5::write_vector<float>(root, cav_path(set.layer, "bias"), set.bias);

    if (!set.calibration.empty()) {
      for (const auto& part : kCalibrationParts) {
        const ScoreLists& lists = set.calibration.*part.member;
        h5::write_vector<std::uint64_t>(root, calibration_path(set.layer, part, "offsets"), lists.offsets);
        h5::write_vector<float>(root, calibration_path(set.layer, part, "scores"), lists.scores);
      }
    }
    if (!set.splits.empty()) {
      h5::write_strings(root, "/splits/track_ids", set.splits.track_ids);
      for (const auto& part : kSplitParts) {
        const TrackLists& lists = set.splits.*part.member;
        h5::write_vector<std::uint64_t>(root, std::string("/splits/") + part.path + "/offsets", lists.offsets);
        h5::write_vector<std::uint32_t>(root, std::string("/splits/") + part.path + "/indices", lists.indices);
      }
    }
    std::vector<std::string> skipped_names, skipped_reasons;
    std::vector<std::uint64_t> skipped_sizes;
    for (const auto& skipped : set.skipped) {
      skipped_names.push_back(skipped.name);
      skipped_reasons.push_back(skipped.reason);
      skipped_sizes.push_back(skipped.n_tracks);
    }
    h5::write_strings(root, "/skipped/names", skipped_names);
    h5::write_strings(root, "/skipped/reasons", skipped_reasons);
    h5::write_vector<std::uint64_t>(root, "/skipped/n_tracks", skipped_sizes);
    file.close();
  }
  output.commit();
}

std::vector<std::string> concept_set_layers(const fs::path& path) {
  h5::File file(path, h5::Mode::ReadOnly);
  const auto format = h5::string_attribute(file.id(), "format");
  if (!format || *format != kConceptSetFormat) throw InputError(path.string(), "not a conceptree concept set");
  h5::Handle cav = h5::open_group(file.id(), "/cav", file.name());
  return h5::member_names(cav.id());
}

ConceptSet read_concept_set(const fs::path& path, const std::string& layer) {
  const auto layers = concept_set_layers(path);
  if (layers.empty()) throw InputError(path.string(), "no CAV layer under /cav");
  ConceptSet set;
  set.layer = layer.empty() ? layers.front() : layer;
  if (std::find(layers.begin(), layers.end(), set.layer) == layers.end()) {
    throw InputError(path.string(), "no CAVs for layer '" + set.layer + "'");
  }
  h5::File file(path, h5::Mode::ReadOnly);
  const hid_t root = file.id();
  const std::string& name = file.name();
  set.names = h5::read_strings(h5::open_dataset(root, "/concepts/names", name).id());
  set.types = h5::read_strings(h5::open_dataset(root, "/concepts/types", name).id());
  set.kept = h5::read_vector<std::uint8_t>(root, "/concepts/kept", name);
  std::vector<std::uint64_t> shape;
  set.weights = h5::read_vector<float>(root, cav_path(set.layer, "weights"), name, &shape);
  set.bias = h5::read_vector<float>(root, cav_path(set.layer, "bias"), name);
  const std::size_t k = set.names.size();
  if (shape.size() != 2 || shape[0] != k || set.bias.size() != k || set.types.size() != k || set.kept.size() != k) {
    throw InputError(path.string(), "concept set arrays disagree in size (names, types, kept, weights, bias)");
  }
  set.dim = shape[1];
  if (set.dim == 0) throw InputError(path.string(), cav_path(set.layer, "weights") + " has no column");
  // One NaN weight or bias would turn every similarity it touches into NaN, silently.
  if (const auto bad = std::find_if_not(set.weights.begin(), set.weights.end(), [](float w) { return std::isfinite(w); }); bad != set.weights.end()) {
    const auto position = static_cast<std::size_t>(bad - set.weights.begin());
    throw InputError(path.string(), "a non-finite CAV weight for concept '" + set.names[position / set.dim] + "'");
  }
  if (const auto bad = std::find_if_not(set.bias.begin(), set.bias.end(), [](float b) { return std::isfinite(b); }); bad != set.bias.end()) {
    throw InputError(path.string(), "a non-finite CAV bias for concept '" + set.names[static_cast<std::size_t>(bad - set.bias.begin())] + "'");
  }
  for (const char* text : {"source", "backbone", "store", "memberships", "large"}) {
    if (auto value = h5::string_attribute(root, text)) set.text_attributes.emplace_back(text, *value);
  }
  for (const char* number : {"seed", "min_tracks", "max_tracks", "min_accuracy", "negative_ratio", "min_negatives"}) {
    if (auto value = h5::double_attribute(root, number)) set.number_attributes.emplace_back(number, *value);
  }
  if (h5::exists(root, "/concepts/metrics")) {
    set.metrics.resize(k);
    for (const auto& metric : kRealMetrics) {
      const auto values = h5::read_vector<double>(root, std::string("/concepts/metrics/") + metric.name, name);
      if (values.size() != k) throw InputError(path.string(), std::string("metric ") + metric.name + " has the wrong length");
      for (std::size_t i = 0; i < k; ++i) set.metrics[i].*metric.member = values[i];
    }
    for (const auto& metric : kCountMetrics) {
      const auto values = h5::read_vector<std::uint64_t>(root, std::string("/concepts/metrics/") + metric.name, name);
      if (values.size() != k) throw InputError(path.string(), std::string("metric ") + metric.name + " has the wrong length");
      for (std::size_t i = 0; i < k; ++i) set.metrics[i].*metric.member = values[i];
    }
  }
  if (h5::exists(root, "/splits/track_ids")) {
    set.splits.track_ids = h5::read_strings(h5::open_dataset(root, "/splits/track_ids", name).id());
    for (const auto& part : kSplitParts) {
      TrackLists& lists = set.splits.*part.member;
      lists.offsets = h5::read_vector<std::uint64_t>(root, std::string("/splits/") + part.path + "/offsets", name);
      lists.indices = h5::read_vector<std::uint32_t>(root, std::string("/splits/") + part.path + "/indices", name);
      if (lists.offsets.size() != k + 1 || lists.offsets.front() != 0 || !std::is_sorted(lists.offsets.begin(), lists.offsets.end()) ||
          lists.offsets.back() != lists.indices.size()) {
        throw InputError(path.string(), std::string("split ") + part.path + " is inconsistent: its offsets must rise from 0 to the number of indices");
      }
      for (auto index : lists.indices)
        if (index >= set.splits.track_ids.size()) throw InputError(path.string(), std::string("split ") + part.path + " indexes past /splits/track_ids");
    }
  }
  if (h5::exists(root, "/calibration/" + set.layer)) {
    for (const auto& part : kCalibrationParts) {
      ScoreLists& lists = set.calibration.*part.member;
      lists.offsets = h5::read_vector<std::uint64_t>(root, calibration_path(set.layer, part, "offsets"), name);
      lists.scores = h5::read_vector<float>(root, calibration_path(set.layer, part, "scores"), name);
      if (lists.offsets.size() != k + 1 || lists.offsets.front() != 0 || !std::is_sorted(lists.offsets.begin(), lists.offsets.end()) ||
          lists.offsets.back() != lists.scores.size()) {
        throw InputError(path.string(), std::string("calibration ") + part.name + " is inconsistent");
      }
    }
  }
  if (h5::exists(root, "/skipped/names")) {
    const auto names = h5::read_strings(h5::open_dataset(root, "/skipped/names", name).id());
    const auto reasons = h5::read_strings(h5::open_dataset(root, "/skipped/reasons", name).id());
    const auto sizes = h5::read_vector<std::uint64_t>(root, "/skipped/n_tracks", name);
    for (std::size_t i = 0; i < names.size() && i < reasons.size() && i < sizes.size(); ++i) {
      set.skipped.push_back({names[i], sizes[i], reasons[i]});
    }
  }
  return set;
}

}  // namespace conceptree
