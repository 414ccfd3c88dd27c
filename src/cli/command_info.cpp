#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/error.hpp"
#include "conceptree/info.hpp"
#include "conceptree/memberships.hpp"
#include "conceptree/strings.hpp"

namespace conceptree::cli {

namespace {

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string join_numbers(const std::vector<std::uint64_t>& values, const char* separator) {
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += separator;
    text += std::to_string(values[i]);
  }
  return text;
}

void print_store(const std::string& path) {
  const StoreSummary s = summarize_store(path);
  fmt::print("{}: embedding store, {}\n", path, human_bytes(s.file_bytes));
  fmt::print("  tracks            {}\n", s.tracks);
  fmt::print("  frames            {} (per track: min {}, median {}, max {})\n", s.total_frames, s.min_frames,
             s.median_frames, s.max_frames);
  for (const auto& layer : s.layers) {
    const double raw = static_cast<double>(s.total_frames * layer.layer.dim * 4);
    fmt::print("  layer {:<12} dim {}, {}, chunks {}, {}{}\n", layer.layer.name, layer.layer.dim, layer.type_name,
               layer.chunk_dims.empty() ? "none" : join_numbers(layer.chunk_dims, "x"),
               layer.filters.empty() ? "uncompressed" : layer.filters,
               raw > 0 && !layer.filters.empty() ? fmt::format(" ({:.0f}% of raw)", 100.0 * layer.stored_bytes / raw) : "");
  }
  for (const auto& [name, value] : s.attributes) fmt::print("  {:<17} {}\n", name, value);
}

void print_memberships(const std::string& path, const std::string& store_path) {
  BatchErrors errors(false);
  const Memberships memberships = read_memberships(path, errors);
  std::vector<std::string> known;
  if (!store_path.empty()) known = EmbeddingStore(store_path).ids();
  const auto v = validate_memberships(memberships, known);
  fmt::print("{}: concept memberships\n", path);
  fmt::print("  concepts          {}\n", v.concepts);
  for (const auto& [type, count] : v.concepts_per_type) fmt::print("    type {:<12} {}\n", type.empty() ? "(none)" : type, count);
  fmt::print("  tracks            {} distinct\n", v.distinct_tracks);
  fmt::print("  memberships       {}\n", v.memberships);
  fmt::print("  concept size      min {}, median {}, max {}{}\n", v.min_size, v.median_size, v.max_size,
             v.checked_against_store ? " (tracks in the store)" : "");
  fmt::print("  duplicates        {} repeated pairs dropped\n", v.duplicate_pairs);
  if (v.type_conflicts > 0) fmt::print("  type conflicts    {} concepts given several types (first kept)\n", v.type_conflicts);
  if (errors.count() > 0) fmt::print("  bad lines         {} skipped\n", errors.count());
  if (v.checked_against_store) {
    const std::string examples = join(v.unknown_examples, ", ");
    fmt::print("  unknown ids       {} tracks ({} memberships) not in {}{}\n", v.unknown_tracks, v.unknown_memberships,
               store_path, examples.empty() ? "" : ", e.g. " + examples);
  }
  const std::string empties = join(v.empty_concepts, ", ", 5);
  fmt::print("  empty concepts    {}{}{}\n", v.empty_concepts.size(), empties.empty() ? "" : ": ", empties);
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto store = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("info", "summarise a conceptree file (embedding store, memberships)");
  command->add_option("file", *file, "file to summarise")->required();
  command->add_option("--embeddings", *store, "memberships: check track ids against this embedding store");
  command->callback([file, store] {
    switch (detect_file_kind(*file)) {
      case FileKind::EmbeddingStore: print_store(*file); break;
      case FileKind::Memberships: print_memberships(*file, *store); break;
      case FileKind::OtherHdf5: throw InputError(*file, "an HDF5 file, but not one conceptree wrote");
      case FileKind::Unknown: throw InputError(*file, "unknown kind of file (expected a .h5 store or .tsv/.json memberships)");
    }
  });
}

}  // namespace conceptree::cli
