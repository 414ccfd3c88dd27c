#pragma once
// One self-contained, offline HTML page of explanations (`conceptree explain --html`): a track
// selector; per track its log-mel spectrogram, a timeline heat map of concept activations whose
// rows are grouped by the hierarchy and collapse/expand like the report's tree, the summary as
// sentences, and audio playback with a cursor moving over both when the audio file is reachable.
// d3 and the page's own script and style are inlined (as in report.html); labels are escaped.

#include <filesystem>
#include <span>
#include <string>

#include "conceptree/explain.hpp"

namespace conceptree {

struct ExplainPageTrack {
  TrackExplanation explanation;
  FrameMatrix logmel;              // the track's musicnn log-mel (frames x 96); empty when explained from a store
  double logmel_hop_seconds = 0;   // seconds between log-mel frames
  std::string audio;               // how the page reaches the audio: a path relative to the page's folder, or empty
};

// The page's HTML. `hierarchy` may be null (rows are then a flat list, best score first).
std::string explain_page_html(const ConceptExplainer& explainer, const Hierarchy* hierarchy, std::span<const ExplainPageTrack> tracks);

}  // namespace conceptree
