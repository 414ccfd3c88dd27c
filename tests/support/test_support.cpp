#include "support/test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>

namespace conceptree::testing {
namespace fs = std::filesystem;

ScratchDir::ScratchDir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "scratch";
  for (char& c : name)
    if (c == '/') c = '_';
  path_ = fs::temp_directory_path() / ("conceptree-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name);
  fs::remove_all(path_);
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string quoted_args(std::initializer_list<std::string> parts) { return quoted_args(std::vector<std::string>(parts)); }

std::string quoted_args(const std::vector<std::string>& parts) {
  std::string text;
  for (const auto& part : parts) {
    if (!text.empty()) text += ' ';
    text += shell_quote(part);
  }
  return text;
}

CommandResult run_command(const std::string& command_line) {
  const ScratchDir capture;
  const fs::path out = capture / "stdout";
  const fs::path err = capture / "stderr";
  const std::string full = command_line + " >" + shell_quote(out.string()) + " 2>" + shell_quote(err.string()) + " </dev/null";
  const int status = std::system(full.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(out);
  result.err = read_text(err);
  return result;
}

CommandResult run_cli(const std::string& arguments) { return run_command(shell_quote(CONCEPTREE_CLI) + " " + arguments); }

namespace {

// /usr/bin/python3 when `modules` import there, else empty; asked once per module list.
std::string python_with(const std::string& modules) {
  static std::mutex mutex;
  static std::map<std::string, std::string> answers;
  const std::lock_guard lock(mutex);
  const auto known = answers.find(modules);
  if (known != answers.end()) return known->second;
  const std::string candidate = "/usr/bin/python3";
  const bool usable = fs::exists(candidate) && std::system((candidate + " -c 'import " + modules + "' >/dev/null 2>&1").c_str()) == 0;
  return answers[modules] = usable ? candidate : std::string();
}

}  // namespace

std::string python_with_h5py() { return python_with("numpy, h5py"); }

std::string python_with_networkx() { return python_with("networkx"); }

CommandResult run_python_script(const std::string& python, const fs::path& script_path, const std::string& script,
                                std::initializer_list<std::string> arguments) {
  write_text(script_path, script);
  return run_command(shell_quote(python) + " " + shell_quote(script_path.string()) + " " + quoted_args(arguments));
}

void write_text(const fs::path& path, const std::string& contents) {
  std::ofstream stream(path, std::ios::binary);
  stream << contents;
}

std::string read_text_or_empty(const fs::path& path) { return fs::exists(path) ? read_text(path) : std::string(); }

std::string read_text(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::stringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

// A 16-bit PCM mono wav of `samples`.
void write_wav(const fs::path& path, const std::vector<std::int16_t>& samples, std::uint32_t rate) {
  std::ofstream out(path, std::ios::binary);
  const auto put32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  const auto put16 = [&](std::uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  const auto data_bytes = static_cast<std::uint32_t>(samples.size() * 2);
  out.write("RIFF", 4);
  put32(36 + data_bytes);
  out.write("WAVEfmt ", 8);
  put32(16);
  put16(1);
  put16(1);
  put32(rate);
  put32(rate * 2);
  put16(2);
  put16(16);
  out.write("data", 4);
  put32(data_bytes);
  out.write(reinterpret_cast<const char*>(samples.data()), static_cast<std::streamsize>(data_bytes));
}

std::vector<std::int16_t> tone(double seconds, double frequency, double amplitude) {
  std::vector<std::int16_t> samples(static_cast<std::size_t>(seconds * 16000));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    samples[i] = static_cast<std::int16_t>(amplitude * std::sin(2 * M_PI * frequency * static_cast<double>(i) / 16000));
  }
  return samples;
}

fs::path test_data() { return CONCEPTREE_TEST_DATA; }

fs::path musicnn_weights() { return fs::path(CONCEPTREE_MODELS) / "musicnn" / "MSD_vgg.h5"; }

fs::path msd_tags() { return fs::path(CONCEPTREE_MODELS) / "musicnn" / "msd_tags.txt"; }

fs::path shared_data() { return fs::path(CONCEPTREE_SHARED_DATA).lexically_normal(); }

namespace {

// What a folder of ../shared/data holds, for the skip message.
std::string shared_description(const std::string& relative) {
  const std::string folder = relative.substr(0, relative.find('/'));
  if (folder == "apm_cavs") return "the paper's released APM concept vectors, not redistributable";
  if (folder == "deezer_table1") return "the paper's released data, not redistributable";
  if (folder == "philharmonia_dev") return "Philharmonia Orchestra recordings, not redistributable";
  return "not redistributable";
}

}  // namespace

SharedFile shared_file(const std::string& relative) {
  SharedFile result;
  const fs::path root = shared_data();
  result.path = root / relative;
  std::error_code error;
  if (fs::is_regular_file(result.path, error)) {
    result.status = SharedFile::Status::found;
    return result;
  }
  const std::string needs = "needs ../shared/data/" + relative + " (" + shared_description(relative) + ")";
  if (!fs::exists(root, error)) {
    result.status = SharedFile::Status::skip;
    result.message = needs + "; " + root.string() + " does not exist";
  } else {
    result.status = SharedFile::Status::missing;
    result.message = needs + ": " + root.string() + " exists but " + result.path.string() + " is missing";
  }
  return result;
}

// std::regex would do, but GCC 12 warns inside it in sanitised builds.
std::vector<std::string> remote_references(const std::string& html) {
  std::string lower(html);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::string> remote;
  for (const std::string attribute : {"src", "href"}) {
    for (auto at = lower.find(attribute); at != std::string::npos; at = lower.find(attribute, at + 1)) {
      auto value = lower.find_first_not_of(" \t\n", at + attribute.size());
      if (value == std::string::npos || lower[value] != '=') continue;
      value = lower.find_first_not_of(" \t\n\"'", value + 1);
      if (value == std::string::npos) continue;
      const std::string start = lower.substr(value, 8);
      if (start.starts_with("http:") || start.starts_with("https:") || start.starts_with("//")) remote.push_back(html.substr(at, 60));
    }
  }
  return remote;
}

void expect_self_contained_page(const std::string& html, std::size_t scripts) {
  const auto count = [&](const std::string& part) {
    std::size_t n = 0;
    for (auto at = html.find(part); at != std::string::npos; at = html.find(part, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(remote_references(html), std::vector<std::string>{});
  EXPECT_EQ(count("<link"), 0u);
  EXPECT_EQ(count("<script src"), 0u);
  EXPECT_EQ(count("https://d3js.org v7.9.0"), 1u) << "d3's bundle is inlined";
  EXPECT_EQ(count("<script"), scripts);
  EXPECT_EQ(count("</script>"), scripts);
}

nlohmann::json page_data(const std::string& html, const std::string& variable) {
  const std::string start = "const " + variable + " = ";
  const auto begin = html.find(start);
  if (begin == std::string::npos) return nullptr;
  const auto end = html.find(";\n</script>", begin);
  if (end == std::string::npos) return nullptr;
  return nlohmann::json::parse(html.substr(begin + start.size(), end - begin - start.size()));
}

std::string chromium() {
  static const std::string path = [] {
    const CommandResult found = run_command("command -v chromium");
    return found.exit_code == 0 ? found.out.substr(0, found.out.find('\n')) : std::string();
  }();
  return path;
}

std::string chromium_command(const ScratchDir& profile, const std::string& arguments) {
  return fmt::format("{} --headless --no-sandbox --disable-gpu --hide-scrollbars --disable-background-networking --user-data-dir={} "
                     "--virtual-time-budget=5000 {}",
                     shell_quote(chromium()), shell_quote((profile / "profile").string()), arguments);
}

namespace {

std::string html_unescape(std::string text) {
  for (const auto& [entity, character] : {std::pair{"&lt;", "<"}, std::pair{"&gt;", ">"}, std::pair{"&quot;", "\""}, std::pair{"&amp;", "&"}}) {
    for (auto at = text.find(entity); at != std::string::npos; at = text.find(entity, at + 1)) text.replace(at, std::string(entity).size(), character);
  }
  return text;
}

}  // namespace

BrowserRun open_selftest(const fs::path& page, const std::string& value) {
  const ScratchDir profile;
  const std::string url = fmt::format("file://{}#selftest={}", fs::absolute(page).string(), value);
  const CommandResult result = run_command(chromium_command(profile, fmt::format("--enable-logging=stderr --v=0 --dump-dom {}", shell_quote(url))));
  BrowserRun run;
  run.log = result.err;
  std::istringstream lines(result.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(":CONSOLE") != std::string::npos) run.console.push_back(line);
  }
  const std::string open = "<pre id=\"selftest\">";
  const auto begin = result.out.find(open);
  const auto end = result.out.find("</pre>", begin);
  if (begin != std::string::npos && end != std::string::npos) {
    run.selftest = nlohmann::json::parse(html_unescape(result.out.substr(begin + open.size(), end - begin - open.size())), nullptr, false);
  }
  return run;
}

CommandResult take_screenshot(const fs::path& page, const std::string& fragment, const fs::path& png, const std::string& window_size) {
  const ScratchDir profile;
  const std::string url = fmt::format("file://{}{}", fs::absolute(page).string(), fragment);
  return run_command(chromium_command(profile, fmt::format("--window-size={} --screenshot={} {}", window_size, shell_quote(png.string()), shell_quote(url))));
}

fs::path test_artefact(const std::string& file_name) { return fs::path(CONCEPTREE_CLI).parent_path() / "tests" / file_name; }

}  // namespace conceptree::testing
