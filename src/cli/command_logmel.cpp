#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/atomic_file.hpp"
#include "conceptree/audio.hpp"
#include "conceptree/error.hpp"
#include "conceptree/context.hpp"
#include "conceptree/logmel.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/params.hpp"

namespace conceptree::cli {

namespace {

struct LogMelCommandConfig {
  std::string input{};
  std::string output{};
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(input, {.name = "audio", .help = "audio file (wav, flac, ogg, opus, mp3)", .positional = true, .required = true});
    v(output, {.name = "output", .help = ".npy to write: (frames, 96) float32", .required = true, .short_name = "o"});
    v(overwrite, {.name = "overwrite", .help = "replace the output if it exists"});
  }
};

void run_logmel(LogMelCommandConfig config) {
  validate(config);
  refuse_to_overwrite(config.output, config.overwrite);
  AudioReader reader(config.input, kLogMelSampleRate);
  const AudioInfo info = reader.info();
  std::vector<float> samples;
  std::vector<float> block;
  while (reader.read(block, 1 << 16)) samples.insert(samples.end(), block.begin(), block.end());
  const FrameMatrix mel = LogMel().compute(samples);
  const std::uint64_t shape[] = {mel.rows, mel.cols};
  write_npy(config.output, mel.values, shape);
  command_context().info(fmt::format("{}: {}, {} Hz, {} channel(s), {:.2f} s -> {} log-mel frames in {}", config.input, info.format,
                       info.source_rate, info.channels, static_cast<double>(samples.size()) / kLogMelSampleRate, mel.rows,
                       config.output));
}

}  // namespace

void add_logmel_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("logmel", "compute the musicnn log-mel spectrogram of an audio file (.npy, frames x 96)");
  auto config = std::make_shared<LogMelCommandConfig>();
  bind_options(*command, *config);
  command->callback([config] { run_logmel(*config); });
}

}  // namespace conceptree::cli
