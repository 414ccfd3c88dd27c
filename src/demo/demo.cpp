#include "conceptree/demo.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/context.hpp"
#include "conceptree/settings_record.hpp"
#include "conceptree/report.hpp"
#include "conceptree/similarity.hpp"
#include "conceptree/version.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kSettingsFile = "demo.json";

// What the folder's outputs were made with; a rerun with other settings must not mix them.
nlohmann::ordered_json settings_of(DemoConfig config) {
  nlohmann::ordered_json settings = record_settings([&](auto&& visitor) { visit_except(config, {"output", "jobs", "overwrite"}, visitor); });
  settings["train"] = recorded_train_settings(config.train);
  settings["hierarchy"] = record_settings([&](auto&& visitor) { config.hierarchy.visit(visitor); });
  return settings;
}

void check_or_record_settings(const DemoConfig& config) {
  const fs::path path = fs::path(config.output) / kSettingsFile;
  const auto settings = settings_of(config);
  if (!config.overwrite && fs::exists(path)) {
    std::ifstream in(path);
    const auto recorded = nlohmann::ordered_json::parse(in, nullptr, false);
    if (recorded.is_discarded() || recorded.value("settings", nlohmann::ordered_json{}) != settings) {
      throw FatalError(fmt::format("{} was made with other settings ({}); pass --overwrite to redo it, or another -o",
                                   config.output, path.string()));
    }
    return;
  }
  fs::create_directories(config.output);
  nlohmann::ordered_json record = {{"tool_version", std::string("conceptree ") + kVersion}, {"settings", settings}};
  write_file_atomically(path, record.dump(2) + "\n");
}

std::string stage_names(const DemoSummary& summary) {
  std::string out;
  for (const auto& stage : summary.stages) out += fmt::format("{}{}{}", out.empty() ? "" : ", ", stage.name, stage.reused ? " (reused)" : "");
  return out;
}

}  // namespace

DemoPipeline::DemoPipeline(DemoConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void DemoPipeline::run() {
  validate(config_);
  const auto started = Clock::now();
  summary_ = DemoSummary{};
  check_or_record_settings(config_);
  const fs::path dir = config_.output;
  const fs::path audio = dir / "audio", memberships = dir / "memberships.tsv", truth = dir / "truth.tsv";
  const fs::path store = dir / "store.h5", concepts = dir / "concepts.h5", similarity = dir / "similarity.h5";
  const fs::path hierarchy = dir / "hierarchy.json", evaluation = dir / "evaluation.json", report = dir / "report.html";

  // A stage reuses its finished output unless asked to redo everything or an earlier stage ran.
  bool redo = config_.overwrite;
  constexpr int kStages = 7;
  auto stage = [&](const std::string& name, const fs::path& output, const std::string& what, bool always, const std::function<void(bool)>& work) {
    DemoStage record{name, output, false, 0};
    const auto stage_started = Clock::now();
    const int number = static_cast<int>(summary_.stages.size()) + 1;
    if (!always && !redo && fs::exists(output)) {
      record.reused = true;
      context_.info(fmt::format("[{}/{}] {}: reusing {}", number, kStages, name, output.string()));
    } else {
      context_.info(fmt::format("[{}/{}] {}: {}", number, kStages, name, what));
      work(redo || fs::exists(output));
      redo = true;
    }
    record.seconds = std::chrono::duration<double>(Clock::now() - stage_started).count();
    summary_.stages.push_back(record);
  };

  // The corpus writes its memberships last: their presence means the audio is complete.
  stage("corpus", memberships, fmt::format("rendering {} tracks with fluidsynth", config_.corpus.tracks), false, [&](bool) {
    DemoCorpusConfig corpus = config_.corpus;
    corpus.output = dir.string();
    corpus.jobs = config_.jobs;
    corpus.overwrite = true;  // the folder holds demo.json; stale audio is replaced file by file
    DemoCorpus renderer(corpus);
    renderer.run();
    summary_.audio_seconds = renderer.summary().audio_seconds;
  });

  stage("embed", store, fmt::format("{} embeddings of {}", choice_name(config_.embed.backbone), audio.string()), false, [&](bool replace) {
    EmbedConfig embed = config_.embed;
    embed.inputs = {audio.string()};
    embed.output = store.string();
    embed.jobs = config_.jobs;
    embed.overwrite = replace;
    AudioEmbedder embedder(embed);
    embedder.run();
  });

  stage("train", concepts, "one concept activation vector per concept", false, [&](bool replace) {
    TrainConfig train = config_.train;
    train.embeddings = store.string();
    train.memberships = memberships.string();
    train.output = concepts.string();
    train.seed = config_.corpus.seed;
    train.jobs = config_.jobs;
    train.overwrite = replace;
    ConceptTrainer trainer(train);
    trainer.run();
    summary_.concepts = trainer.summary().concepts_in_file;
    summary_.trained = trainer.summary().trained;
    summary_.kept = trainer.summary().kept;
    summary_.mean_test_balanced_accuracy = trainer.summary().mean_test_balanced_accuracy;
  });

  stage("similarity", similarity, "activation similarity on the test tracks", false, [&](bool replace) {
    SimilarityConfig measure;
    measure.concepts = concepts.string();
    measure.embeddings = store.string();
    measure.output = similarity.string();
    measure.jobs = config_.jobs;
    measure.overwrite = replace;
    SimilarityComputer computer(measure);
    computer.run();
  });

  const std::string hierarchy_what = config_.runs > 1 ? fmt::format("consensus of {} concept learnings, each link with its support", config_.runs)
                                                      : fmt::format("{} hierarchy", choice_name(config_.hierarchy.method));
  stage("hierarchy", hierarchy, hierarchy_what, false, [&](bool replace) {
    if (config_.runs > 1) {
      BootstrapConfig bootstrap;
      bootstrap.embeddings = store.string();
      bootstrap.memberships = memberships.string();
      bootstrap.output = hierarchy.string();
      bootstrap.runs = config_.runs;
      bootstrap.first_seed = config_.corpus.seed;
      bootstrap.train = config_.train;
      bootstrap.options = config_.hierarchy;
      bootstrap.jobs = config_.jobs;
      bootstrap.overwrite = true;  // runs left by other settings are redone, not reused
      HierarchyBootstrap runner(bootstrap);
      runner.run();
      summary_.mean_support = runner.summary().mean_support;
      return;
    }
    HierarchyConfig extract;
    extract.similarity = similarity.string();
    extract.output = hierarchy.string();
    extract.options = config_.hierarchy;
    extract.jobs = config_.jobs;
    extract.overwrite = replace;
    HierarchyExtractor extractor(extract);
    extractor.run();
  });

  // Evaluation and report are cheap, and the headline needs the evaluation: always redone.
  stage("evaluate", evaluation, "against the instrument -> family truth, next to the baselines", true, [&](bool) {
    EvaluateConfig evaluate;
    evaluate.hierarchy = hierarchy.string();
    evaluate.truth = truth.string();
    evaluate.similarity = similarity.string();
    evaluate.baseline_options = config_.hierarchy;
    evaluate.output = evaluation.string();
    evaluate.overwrite = true;
    HierarchyEvaluator evaluator(evaluate);
    evaluator.run();
    summary_.evaluation = evaluator.evaluation();
  });

  stage("report", report, "interactive HTML report", true, [&](bool) {
    ReportConfig write;
    write.concepts = concepts.string();
    write.similarity = similarity.string();
    write.hierarchy = hierarchy.string();
    write.evaluation = evaluation.string();
    write.truth = truth.string();
    write.output = report.string();
    write.overwrite = true;
    ReportWriter writer(write);
    writer.run();
  });

  summary_.report = report;
  summary_.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  context_.info(fmt::format("stages: {}", stage_names(summary_)));
}

std::string format_demo_headline(const DemoSummary& summary) {
  const Evaluation& evaluation = summary.evaluation;
  std::string out = fmt::format("demo finished in {:.0f} s", summary.seconds);
  if (summary.trained > 0) {
    out += fmt::format(": {} concepts kept of {} trained (mean test balanced accuracy {:.3f})", summary.kept, summary.trained,
                       summary.mean_test_balanced_accuracy);
  }
  out += fmt::format("\nhierarchy: {} concepts, {} links{}\n", evaluation.concepts, evaluation.links,
                     summary.mean_support > 0 ? fmt::format(" of mean bootstrap support {:.2f}", summary.mean_support) : "");
  if (evaluation.truth) {
    auto score = [&](const std::string& method, double TruthScores::*field) {
      for (const auto& [name, scores] : evaluation.truth->methods) {
        if (name == method) return std::isnan(scores.*field) ? std::string("n/a") : fmt::format("{:.3f}", scores.*field);
      }
      return std::string("n/a");
    };
    for (const auto& [label, field] : {std::pair{"family purity", &TruthScores::family_purity}, std::pair{"ancestor F1", &TruthScores::ancestor_f1},
                                       std::pair{"parent F1", &TruthScores::parent_f1}}) {
      out += fmt::format("  {:<14} {}  (top1 {}, random-top {})\n", label, score("hierarchy", field), score("top1", field),
                         score("random-top", field));
    }
  }
  out += fmt::format("report: {}\n", summary.report.string());
  return out;
}

}  // namespace conceptree
