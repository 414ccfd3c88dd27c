#include "conceptree/explain_page.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "conceptree/error.hpp"
#include "conceptree/version.hpp"
#include "explain/assets.hpp"
#include "report/assets.hpp"
#include "report/html_page.hpp"

namespace conceptree {
namespace {

using Json = nlohmann::ordered_json;

// More spectrogram columns than this a second add bytes, not detail a reader can see at page width.
constexpr double kMaxSpectrogramColumnsPerSecond = 20;

double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

std::uint8_t quantised(double unit) { return static_cast<std::uint8_t>(std::lround(std::clamp(unit, 0.0, 1.0) * 255.0)); }

// Activations and spectrograms travel as bytes: as JSON numbers they would be several times larger.
std::string base64(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t left = bytes.size() - i;
    const std::uint32_t group = (std::uint32_t{bytes[i]} << 16) | (left > 1 ? std::uint32_t{bytes[i + 1]} << 8 : 0) | (left > 2 ? bytes[i + 2] : 0);
    text += kAlphabet[(group >> 18) & 63];
    text += kAlphabet[(group >> 12) & 63];
    text += left > 1 ? kAlphabet[(group >> 6) & 63] : '=';
    text += left > 2 ? kAlphabet[group & 63] : '=';
  }
  return text;
}

// The log-mel averaged over groups of frames to at most kMaxSpectrogramColumnsPerSecond columns a
// second, then quantised between the track's own quietest and loudest values: the page draws it,
// nobody reads values off it. Column-major: each column's bands, lowest first.
Json spectrogram_json(const FrameMatrix& logmel, double hop_seconds) {
  if (logmel.rows == 0 || logmel.cols == 0 || hop_seconds <= 0) return nullptr;
  const auto group = static_cast<std::uint64_t>(std::max(1.0, std::ceil(1.0 / (hop_seconds * kMaxSpectrogramColumnsPerSecond))));
  const std::uint64_t columns = (logmel.rows + group - 1) / group, bands = logmel.cols;
  std::vector<double> means(columns * bands, 0.0);
  for (std::uint64_t column = 0; column < columns; ++column) {
    const std::uint64_t first = column * group, last = std::min(logmel.rows, first + group);
    for (std::uint64_t frame = first; frame < last; ++frame)
      for (std::uint64_t band = 0; band < bands; ++band) means[column * bands + band] += logmel.values[frame * bands + band];
    for (std::uint64_t band = 0; band < bands; ++band) means[column * bands + band] /= static_cast<double>(last - first);
  }
  const auto [low, high] = std::minmax_element(means.begin(), means.end());
  const double range = *high > *low ? *high - *low : 1.0;
  std::vector<std::uint8_t> bytes(means.size());
  for (std::size_t i = 0; i < means.size(); ++i) bytes[i] = quantised((means[i] - *low) / range);
  return {{"columns", columns},
          {"bands", bands},
          {"seconds_per_column", static_cast<double>(group) * hop_seconds},
          {"data", base64(bytes)}};
}

Json track_json(const ExplainPageTrack& track, std::size_t concepts) {
  const TrackExplanation& e = track.explanation;
  if (e.scores.size() != concepts || e.present.size() != concepts || e.activations.size() != e.frames * concepts || e.frame_seconds.size() != e.frames)
    throw FatalError(fmt::format("explanation of {} does not have the explainer's {} concepts", e.id, concepts));
  const double spectrogram_seconds = static_cast<double>(track.logmel.rows) * track.logmel_hop_seconds;
  // The explainer's frames start at multiples of one hop. A store that records no hop puts them all
  // at 0 s, and the explainer's segments then count a second per frame: so does the page. A single
  // frame is taken to last the track.
  const double measured_hop = e.frames > 1 ? e.frame_seconds[1] - e.frame_seconds[0] : 0.0;
  const double frame_hop = measured_hop > 0 ? measured_hop : e.frames == 1 && spectrogram_seconds > 0 ? spectrogram_seconds : 1.0;
  // Concept-major, so each heat-map row is one run of bytes.
  std::vector<std::uint8_t> activations(e.activations.size());
  for (std::uint64_t t = 0; t < e.frames; ++t)
    for (std::size_t c = 0; c < concepts; ++c) activations[c * e.frames + t] = quantised(e.activations[t * concepts + c]);
  Json scores = Json::array(), present = Json::array(), segments = Json::array(), summary = Json::array();
  for (std::size_t c = 0; c < concepts; ++c) {
    scores.push_back(rounded(e.scores[c], 3));
    if (e.present[c]) present.push_back(c);
  }
  for (const auto& segment : e.segments) segments.push_back({segment.concept_column, rounded(segment.start, 3), rounded(segment.end, 3)});
  for (const auto& entry : e.summary)
    summary.push_back({{"path", entry.path}, {"start", rounded(entry.start, 3)}, {"end", rounded(entry.end, 3)}, {"score", rounded(entry.score, 3)}});
  return {{"id", e.id},
          {"audio", track.audio.empty() ? Json(nullptr) : Json(track.audio)},
          {"frames", e.frames},
          {"frame_hop", frame_hop},
          {"seconds", std::max(static_cast<double>(e.frames) * frame_hop, spectrogram_seconds)},
          {"activations", base64(activations)},
          {"scores", std::move(scores)},
          {"present", std::move(present)},
          {"segments", std::move(segments)},
          {"summary", std::move(summary)},
          {"spectrogram", spectrogram_json(track.logmel, track.logmel_hop_seconds)}};
}

// Parent -> child links between the explainer's columns. A hierarchy node that is not one (a
// concept the set did not keep) has no row, so links through it are not drawn.
Json column_links(const ConceptExplainer& explainer, const Hierarchy& hierarchy) {
  std::unordered_map<std::string, std::uint32_t> column_of;
  for (std::size_t c = 0; c < explainer.names().size(); ++c) column_of.emplace(explainer.names()[c], static_cast<std::uint32_t>(c));
  Json links = Json::array();
  for (const auto& link : hierarchy.links) {
    const auto parent = column_of.find(hierarchy.nodes[link.parent].id), child = column_of.find(hierarchy.nodes[link.child].id);
    if (parent != column_of.end() && child != column_of.end()) links.push_back({parent->second, child->second});
  }
  return links;
}

}  // namespace

std::string explain_page_html(const ConceptExplainer& explainer, const Hierarchy* hierarchy, std::span<const ExplainPageTrack> tracks) {
  Json concepts = Json::array();
  for (std::size_t c = 0; c < explainer.names().size(); ++c) concepts.push_back({{"id", explainer.names()[c]}, {"label", explainer.labels()[c]}});
  Json track_entries = Json::array();
  for (const auto& track : tracks) track_entries.push_back(track_json(track, explainer.names().size()));
  const Json data = {{"tool_version", fmt::format("conceptree {}", kVersion)},
                     {"calibrated", explainer.calibrated()},
                     {"hierarchy", hierarchy != nullptr},
                     {"concepts", std::move(concepts)},
                     {"links", hierarchy ? column_links(explainer, *hierarchy) : Json::array()},
                     {"tracks", std::move(track_entries)}};
  return html_page::fill_template(
      explain_assets::explain_html(),
      {{"<!-- conceptree:style -->", fmt::format("<style>\n{}\n</style>", explain_assets::explain_css())},
       {"<!-- conceptree:data -->", fmt::format("<script>\nconst EXPLAIN_DATA = {};\n</script>", html_page::script_safe_json(data))},
       {"<!-- conceptree:d3 -->", html_page::inline_script("d3.min.js", report_assets::d3_js())},
       {"<!-- conceptree:script -->", html_page::inline_script("explain.js", explain_assets::explain_js())}});
}

}  // namespace conceptree
