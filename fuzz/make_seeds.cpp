// Writes valid example inputs for every harness, with conceptree's own writers where it has one,
// into OUT/<target>/: the starting corpora of scripts/fuzz.sh and of the short run in scripts/test.sh.
//   make_seeds OUT

#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "conceptree/evaluate.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/tensor_proto.hpp"
#include "fuzz_fixtures.hpp"

using namespace conceptree;
namespace fs = std::filesystem;

namespace {

class SeedWriter {
 public:
  explicit SeedWriter(fs::path root) : root_(std::move(root)) {}

  fs::path path(const std::string& target, const std::string& name) const {
    fs::create_directories(root_ / target);
    return root_ / target / name;
  }
  void text(const std::string& target, const std::string& name, const std::string& contents) const {
    std::ofstream(path(target, name), std::ios::binary) << contents;
  }

 private:
  fs::path root_;
};

// The .npy layouts write_npy does not produce: other dtypes, byte orders, Fortran order, format 2.
std::string npy_by_hand(const std::string& descr, bool fortran_order, const std::string& shape, const std::string& data, int major_version = 1) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran_order ? "True" : "False") + ", 'shape': " + shape + ", }";
  const std::size_t prefix = major_version == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file = "\x93NUMPY";
  file += static_cast<char>(major_version);
  file += '\0';
  const std::size_t length = header.size();
  file += static_cast<char>(length & 0xff);
  file += static_cast<char>((length >> 8) & 0xff);
  if (major_version > 1) file += std::string(2, '\0');
  return file + header + data;
}

template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  return {reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)};
}

void npy_seeds(const SeedWriter& out, const fuzz::TinyPipeline& run) {
  const std::vector<float> frames(run.frames.begin(), run.frames.begin() + 12);
  write_npy(out.path("npy", "frames_4x3.npy"), frames, std::vector<std::uint64_t>{4, 3});
  write_npy(out.path("npy", "vector_3.npy"), std::span<const float>(frames).first(3), std::vector<std::uint64_t>{3});
  write_npy(out.path("npy", "offsets.npy"), std::vector<std::uint64_t>{0, 2, 4}, std::vector<std::uint64_t>{3});
  const std::vector<double> doubles{0.5, -1.25, 3, 4};
  out.text("npy", "f8_fortran_2x2.npy", npy_by_hand("<f8", true, "(2, 2)", raw_bytes(doubles)));
  const std::vector<std::uint16_t> halves{0x3c00, 0xc000, 0x3800};
  out.text("npy", "f2_3.npy", npy_by_hand("<f2", false, "(3,)", raw_bytes(halves)));
  out.text("npy", "big_endian_f4_1x2.npy", npy_by_hand(">f4", false, "(1, 2)", std::string("\x3f\x80\x00\x00\x40\x00\x00\x00", 8)));
  out.text("npy", "i4_offsets_v2.npy", npy_by_hand("<i4", false, "(3,)", raw_bytes(std::vector<std::int32_t>{0, 1, 3}), 2));
  out.text("npy", "scalar_f4.npy", npy_by_hand("<f4", false, "()", raw_bytes(std::vector<float>{2.5f})));
}

void put_varint(std::string& out, std::uint64_t value) {
  for (; value >= 0x80; value >>= 7) out += static_cast<char>((value & 0x7f) | 0x80);
  out += static_cast<char>(value);
}

// dtype and shape [rows, cols] of a TensorProto, before its values.
std::string tensor_head(std::uint64_t dtype, std::uint64_t rows, std::uint64_t cols) {
  std::string dims;
  for (const std::uint64_t size : {rows, cols}) {
    std::string dim;
    put_varint(dim, (1 << 3) | 0);
    put_varint(dim, size);
    put_varint(dims, (2 << 3) | 2);
    put_varint(dims, dim.size());
    dims += dim;
  }
  std::string head;
  put_varint(head, (1 << 3) | 0);
  put_varint(head, dtype);
  put_varint(head, (2 << 3) | 2);
  put_varint(head, dims.size());
  return head + dims;
}

void tensor_seeds(const SeedWriter& out) {
  out.text("tensor_proto", "float_content_2x3.tensor", serialize_tensor_proto({{2, 3}, {1, 2, 3, 4, 5, 6}}));
  std::string packed_doubles = tensor_head(2, 1, 2);
  const std::string doubles = raw_bytes(std::vector<double>{0.25, -8});
  put_varint(packed_doubles, (6 << 3) | 2);
  put_varint(packed_doubles, doubles.size());
  out.text("tensor_proto", "double_val_packed_1x2.tensor", packed_doubles + doubles);
  // One listed value fills the shape, as TensorFlow writes a constant tensor.
  std::string filled = tensor_head(1, 2, 2);
  put_varint(filled, (5 << 3) | 5);
  out.text("tensor_proto", "float_val_filled_2x2.tensor", filled + raw_bytes(std::vector<float>{7}));
  std::string halves = tensor_head(19, 1, 2);
  put_varint(halves, (13 << 3) | 2);
  put_varint(halves, 4);
  put_varint(halves, 0x3c00);
  put_varint(halves, 0x4000);
  out.text("tensor_proto", "half_val_1x2.tensor", halves);
}

void text_seeds(const SeedWriter& out) {
  out.text("memberships_tsv", "typed_with_header.tsv", "concept\ttrack_id\ttype\na\tt0\tgenre\na\tt1\tgenre\nb\tt1\tmood\nb\ttrack\n");
  out.text("memberships_tsv", "crlf_duplicates.tsv", "a\tt0\r\na\tt0\r\n\r\nc\t1\r\nc\tt1\ttag\r\nc\tt0\tmood\r\n");
  out.text("memberships_json", "lists.json", R"({"a": ["t0", "t1"], "b": ["track", 1]})");
  out.text("memberships_json", "typed.json", R"({"a": {"type": "genre", "tracks": ["t0"]}, "b": {"tracks": ["t1", "t0"]}, "": []})");
  out.text("hierarchy_json", "minimal.json", R"({"nodes": [{"id": "a"}, {"id": "b", "label": "B"}], "links": [{"source": "a", "target": "b"}]})");
  out.text("truth_tsv", "families.tsv", "child\tparent\na\t\nb\ta\nc\ta\nd\t\ne\td\n");
  out.text("truth_tsv", "deep_multi_parent.tsv", "b\ta\nc\tb\nc\td\ne\tc\r\n\n");
  out.text("labels_tsv", "labels.tsv", "a\tFamily A\nb\tB, with\ttabs\n");
  out.text("labels_tsv", "ids.txt", "t0\nt1\ntrack\n\n");
}

void pipeline_seeds(const SeedWriter& out, const fuzz::TinyPipeline& run) {
  out.text("hierarchy_json", "extracted.json", format_hierarchy(run.hierarchy, HierarchyFormat::Json));

  const Taxonomy truth = taxonomy_from_pairs({{"a", ""}, {"b", "a"}, {"c", "a"}, {"d", ""}, {"e", "d"}}, "truth.tsv");
  const ProxyEmbeddings proxy{.ids = {"a", "b", "c", "d", "e"}, .vectors = {0, 0, 1, 0, 0, 1, 5, 5, 6, 5}, .dim = 2};
  EvaluateConfig config;
  config.baselines = true;
  config.random_draws = 2;
  const Evaluation evaluation =
      evaluate_hierarchy(run.hierarchy, {.truth = &truth, .proxy = &proxy, .similarity = &run.similarity}, config, fuzz::quiet_context());
  out.text("evaluation_json", "truth_and_proxy.json", evaluation_json(evaluation));
  out.text("evaluation_json", "proxy_only.json", R"({"proxy": {"metric": "l2", "hierarchy": {"mean": 1.5, "ci95": [1, 2], "n": 3}}})");

  run.write_store(out.path("store_h5", "store.h5"), {.chunk_bytes = 256});
  run.write_store(out.path("store_h5", "store_deflate.h5"), {.deflate_level = 4, .chunk_bytes = 64});

  write_concept_set(out.path("concept_set_h5", "trained.h5"), run.concepts);
  ConceptSet imported;
  imported.layer = "pool5";
  imported.dim = 2;
  imported.names = {"x", "y"};
  imported.types = {"", "tag"};
  imported.kept = {1, 1};
  imported.weights = {1, 0, 0.5f, 0.5f};
  imported.bias = {0, -1};
  write_concept_set(out.path("concept_set_h5", "imported.h5"), imported);

  write_similarity(out.path("similarity_h5", "activation.h5"), run.similarity);
  write_similarity(out.path("similarity_h5", "cosine.h5"), cosine_similarity(run.concepts));
}

// A short tone in each container libsndfile writes that conceptree reads.
void audio_seeds(const SeedWriter& out) {
  struct Container {
    const char* name;
    int format;
    int channels;
    int rate;
  };
  const Container containers[] = {
      {"pcm16_mono_8k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 8000},
      {"float_stereo_44k.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2, 44100},
      {"pcm24_stereo_22k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 2, 22050},
      {"vorbis_mono_16k.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 1, 16000},
      {"opus_mono_48k.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 1, 48000},
      {"mp3_mono_16k.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 1, 16000},
      {"pcm8_mono_11k.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_S8, 1, 11025},
  };
  for (const Container& container : containers) {
    SF_INFO info{};
    info.samplerate = container.rate;
    info.channels = container.channels;
    info.format = container.format;
    const fs::path path = out.path("audio", container.name);
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file) {
      std::fprintf(stderr, "make_seeds: libsndfile cannot write %s (%s); no such seed\n", container.name, sf_strerror(nullptr));
      continue;
    }
    const std::size_t frames = static_cast<std::size_t>(container.rate) / 20;
    std::vector<float> samples(frames * static_cast<std::size_t>(container.channels));
    for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = 0.5f * static_cast<float>(std::sin(0.05 * static_cast<double>(i)));
    sf_writef_float(file, samples.data(), static_cast<sf_count_t>(frames));
    sf_close(file);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  const SeedWriter out{fs::path(argv[1])};
  const fuzz::TinyPipeline run;
  npy_seeds(out, run);
  tensor_seeds(out);
  text_seeds(out);
  pipeline_seeds(out, run);
  audio_seeds(out);
  return 0;
}
