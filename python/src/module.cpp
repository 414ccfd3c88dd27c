// conceptree's Python module: the library's in-memory cores over numpy arrays, and every command's
// file driver. Parameters come from the same declarations as the CLI's options (the config
// structs' visit()), so names, defaults, ranges and help never drift apart.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <omp.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "conceptree/atomic_file.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/bootstrap.hpp"
#include "conceptree/cav_import.hpp"
#include "conceptree/concepts.hpp"
#include "conceptree/context.hpp"
#include "conceptree/corpus.hpp"
#include "conceptree/demo.hpp"
#include "conceptree/embed.hpp"
#include "conceptree/evaluate.hpp"
#include "conceptree/explain.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/ingest.hpp"
#include "conceptree/memberships.hpp"
#include "conceptree/progress.hpp"
#include "conceptree/report.hpp"
#include "conceptree/similarity.hpp"
#include "conceptree/store.hpp"
#include "conceptree/synth.hpp"
#include "conceptree/tcav.hpp"
#include "conceptree/version.hpp"

namespace py = pybind11;
using namespace conceptree;

namespace {

// ---------------------------------------------------------------------------------------------
// Options: Python keywords onto a config struct, through the struct's own declarations.

std::string python_name(const char* option) {
  std::string name(option);
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

std::string path_text(py::handle value) {
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  return py::str(py::module_::import("os").attr("fspath")(value)).cast<std::string>();
}

template <class T>
void assign_option(T& field, py::handle value, const std::string& key) {
  try {
    if constexpr (Choice<T>) {
      field = parse_choice_option<T>(py::str(value).cast<std::string>(), key);
    } else if constexpr (IsOptionalChoice<T>::value) {
      if (value.is_none() || py::str(value).cast<std::string>().empty()) {
        field.reset();
      } else {
        field = parse_choice_option<typename IsOptionalChoice<T>::type>(py::str(value).cast<std::string>(), key);
      }
    } else if constexpr (std::is_same_v<T, std::string>) {
      field = path_text(value);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (py::isinstance<py::str>(value) || py::hasattr(value, "__fspath__")) {
        field = {path_text(value)};
      } else {
        field.clear();
        for (py::handle item : value) field.push_back(path_text(item));
      }
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      if (py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value)) {
        field = {value.cast<double>()};
      } else {
        field = value.cast<std::vector<double>>();
      }
    } else {
      field = value.cast<T>();
    }
  } catch (const py::cast_error&) {
    throw py::type_error("option '" + key + "': cannot use a " + std::string(py::str(value.get_type().attr("__name__"))) + " here");
  } catch (const py::error_already_set&) {
    throw py::type_error("option '" + key + "': cannot use a " + std::string(py::str(value.get_type().attr("__name__"))) + " here");
  }
}

// Sets the fields of `config` named by `options` (underscores for dashes), leaving out the
// `excluded` ones; an unknown keyword is a TypeError listing the valid ones.
template <class Config>
void apply_options(Config& config, const py::dict& options, std::initializer_list<std::string_view> excluded = {}) {
  std::set<std::string> used;
  std::vector<std::string> valid;
  config.visit([&](auto& field, const ParamSpec& spec) {
    for (std::string_view name : excluded)
      if (name == spec.name) return;
    const std::string key = python_name(spec.name);
    valid.push_back(key);
    if (!options.contains(key)) return;
    assign_option(field, options[key.c_str()], key);
    used.insert(key);
  });
  for (auto item : options) {
    const std::string key = py::str(item.first);
    if (!used.contains(key)) {
      std::string list;
      for (const auto& name : valid) list += (list.empty() ? "" : ", ") + name;
      throw py::type_error("unknown option '" + key + "'; the options are: " + list);
    }
  }
}

std::string format_default(const auto& field) {
  using T = std::decay_t<decltype(field)>;
  if constexpr (std::is_same_v<T, bool>) {
    return field ? "True" : "False";
  } else if constexpr (Choice<T>) {
    return std::string(1, '\'').append(choice_name(field)).append(1, '\'');
  } else if constexpr (IsOptionalChoice<T>::value) {
    return field ? std::string(1, '\'').append(choice_name(*field)).append(1, '\'') : std::string("None");
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "'" + field + "'";
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    std::string text = "[";
    for (const auto& item : field) text += (text.size() > 1 ? ", '" : "'") + item + "'";
    return text + "]";
  } else if constexpr (std::is_same_v<T, std::vector<double>>) {
    std::string text = "[";
    for (double item : field) text += (text.size() > 1 ? ", " : "") + py::str(py::float_(item)).cast<std::string>();
    return text + "]";
  } else {
    return py::str(py::cast(field)).cast<std::string>();
  }
}

std::string format_bound(double bound) {
  if (std::isinf(bound)) return bound < 0 ? "-inf" : "inf";
  char text[32];
  std::snprintf(text, sizeof(text), "%g", bound);
  return text;
}

// The options of `Config` as a docstring section: name (default, range or choices): help.
template <class Config>
std::string options_doc(Config config, std::initializer_list<std::string_view> excluded = {}) {
  std::string doc = "\n\nOptions (keywords; the CLI's --options with '_' for '-'):\n";
  config.visit([&](auto& field, const ParamSpec& spec) {
    for (std::string_view name : excluded)
      if (name == spec.name) return;
    doc += "  " + python_name(spec.name) + " = " + format_default(field);
    using T = std::decay_t<decltype(field)>;
    std::vector<std::string> choices = spec.choices;
    if constexpr (Choice<T>) {
      choices = choice_names<T>();
    } else if constexpr (IsOptionalChoice<T>::value) {
      choices = choice_names<typename IsOptionalChoice<T>::type>();
    }
    if (!choices.empty()) {
      doc += " (one of";
      for (const auto& choice : choices) doc += " '" + choice + "'";
      doc += ")";
    } else if (std::isfinite(spec.min) || std::isfinite(spec.max)) {
      doc += " (in [" + format_bound(spec.min) + ", " + format_bound(spec.max) + "])";
    }
    doc += ": " + std::string(spec.help) + "\n";
  });
  return doc;
}

// ---------------------------------------------------------------------------------------------
// A call's context: messages to the "conceptree" logger, progress to an optional callback, and a
// stop request when the callback raises or the user presses Ctrl-C. The computation runs without
// the GIL; the callbacks take it back.

class CallContext {
 public:
  explicit CallContext(py::object progress) : progress_(std::move(progress)) {
    logger_ = py::module_::import("logging").attr("getLogger")("conceptree");
    context_.messages = [this](MessageLevel level, std::string_view text) {
      py::gil_scoped_acquire gil;
      try {
        logger_.attr(level == MessageLevel::Warning ? "warning" : "info")("%s", std::string(text));
      } catch (py::error_already_set& error) {
        remember(error);
      }
    };
    context_.progress = [this](const ProgressUpdate& update) {
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) {
        py::error_already_set interrupted;
        remember(interrupted);
        return;
      }
      if (progress_.is_none()) return;
      try {
        progress_(py::dict(py::arg("label") = std::string(update.label), py::arg("done") = update.done, py::arg("total") = update.total,
                           py::arg("rate") = update.rate_per_second, py::arg("finished") = update.finished));
      } catch (py::error_already_set& error) {
        remember(error);
      }
    };
  }
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;

  // Runs `job(context)` without the GIL; a Python exception raised by a callback (or Ctrl-C)
  // comes out as itself.
  template <class Job>
  auto run(Job&& job) {
    try {
      py::gil_scoped_release release;
      return job(static_cast<const Context&>(context_));
    } catch (const Cancelled&) {
      rethrow_remembered();
      throw;
    } catch (...) {
      rethrow_remembered();
      throw;
    }
  }

 private:
  void remember(py::error_already_set& error) {
    if (!error_) error_.emplace(std::move(error));
    context_.request_stop();
  }
  void rethrow_remembered() {
    if (!error_) return;
    py::error_already_set error = std::move(*error_);
    error_.reset();
    throw error;
  }

  Context context_;
  py::object progress_;
  py::object logger_;
  std::optional<py::error_already_set> error_;
};

// ---------------------------------------------------------------------------------------------
// Frames: a (rows, dim) float32 matrix, offsets and ids, held by numpy (never copied when already
// C-contiguous float32), or by a store loaded into memory.

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using OffsetArray = py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>;

struct Frames {
  FloatArray data;
  OffsetArray offsets;
  std::vector<std::string> track_ids;
  std::string layer;
  double frame_hop_seconds = 0;

  FrameView view() const {
    return {.data = data.data(),
            .dim = static_cast<std::size_t>(data.shape(1)),
            .offsets = std::span<const std::uint64_t>(offsets.data(), static_cast<std::size_t>(offsets.size())),
            .track_ids = track_ids,
            .layer = layer};
  }
};

Frames make_frames(const py::object& data, const py::object& offsets, std::vector<std::string> track_ids, std::string layer, double frame_hop_seconds) {
  Frames frames;
  frames.data = FloatArray::ensure(data);
  if (!frames.data) throw py::value_error("frames: data must be convertible to a float32 array");
  if (frames.data.ndim() != 2) throw py::value_error("frames: data must be 2-D (rows, dim), not " + std::to_string(frames.data.ndim()) + "-D");
  frames.offsets = OffsetArray::ensure(offsets);
  if (!frames.offsets || frames.offsets.ndim() != 1) throw py::value_error("frames: offsets must be a 1-D array of integers");
  frames.track_ids = std::move(track_ids);
  frames.layer = std::move(layer);
  frames.frame_hop_seconds = frame_hop_seconds;
  const FrameView view = frames.view();
  check_frame_view(view);
  if (view.rows() != static_cast<std::uint64_t>(frames.data.shape(0))) {
    throw py::value_error("frames: offsets end at row " + std::to_string(view.rows()) + " but data has " + std::to_string(frames.data.shape(0)) + " rows");
  }
  return frames;
}

template <class T>
py::array_t<T> vector_array(std::vector<T> values) {
  auto owner = std::make_unique<std::vector<T>>(std::move(values));
  const auto size = static_cast<py::ssize_t>(owner->size());
  T* data = owner->data();
  py::capsule base(owner.get(), [](void* p) { delete static_cast<std::vector<T>*>(p); });
  owner.release();
  return py::array_t<T>({size}, {static_cast<py::ssize_t>(sizeof(T))}, data, base);
}

Frames read_store(const std::filesystem::path& path, const std::string& layer, const py::object& progress) {
  CallContext call(progress);
  auto loaded = call.run([&](const Context& context) {
    const EmbeddingStore store(path, layer);
    return std::make_pair(std::make_shared<StoreFrames>(store, context), store.provenance().frame_hop_seconds);
  });
  const std::shared_ptr<StoreFrames> store_frames = loaded.first;
  auto* owner = new std::shared_ptr<StoreFrames>(store_frames);
  py::capsule base(owner, [](void* p) { delete static_cast<std::shared_ptr<StoreFrames>*>(p); });
  Frames frames;
  const auto rows = static_cast<py::ssize_t>(store_frames->offsets().back());
  const auto dim = static_cast<py::ssize_t>(store_frames->dim());
  frames.data = FloatArray({rows, dim}, {dim * static_cast<py::ssize_t>(sizeof(float)), static_cast<py::ssize_t>(sizeof(float))},
                                                       store_frames->data(), base);
  frames.offsets = vector_array(store_frames->offsets());
  frames.track_ids = store_frames->track_ids();
  frames.layer = store_frames->layer();
  frames.frame_hop_seconds = loaded.second;
  return frames;
}

void write_store(const std::filesystem::path& path, const Frames& frames, const std::string& backbone, bool overwrite) {
  refuse_to_overwrite(path, overwrite);
  const FrameView view = frames.view();
  py::gil_scoped_release release;
  AtomicOutput output(path);
  auto writer = EmbeddingStoreWriter::create(output.temp_path(), {{.name = frames.layer.empty() ? std::string("embedding") : frames.layer, .dim = view.dim}},
                                             {.backbone = backbone, .source = "python", .sample_rate = 0, .frame_hop_seconds = frames.frame_hop_seconds});
  for (std::size_t t = 0; t < view.track_count(); ++t) {
    const std::uint64_t count = view.offsets[t + 1] - view.offsets[t];
    writer.append(view.track_ids[t], std::span<const float>(view.data + view.offsets[t] * view.dim, count * view.dim), count);
    if ((t + 1) % 1024 == 0) writer.commit();
  }
  writer.close();
  output.commit();
}

// ---------------------------------------------------------------------------------------------
// Memberships: a file, or {concept: [track, ...]} / {concept: {"type": ..., "tracks": [...]}}.

Memberships memberships_from_python(const py::handle& value) {
  if (py::isinstance<py::str>(value) || py::hasattr(value, "__fspath__")) {
    BatchErrors errors(true, default_context());
    return read_memberships(path_text(value), errors);
  }
  if (!py::isinstance<py::dict>(value)) throw py::type_error("memberships: a path or a dict {concept: [track ids]}");
  Memberships memberships;
  for (auto item : value.cast<py::dict>()) {
    Concept concept_entry;
    concept_entry.name = py::str(item.first);
    py::handle tracks = item.second;
    if (py::isinstance<py::dict>(item.second)) {
      const auto entry = item.second.cast<py::dict>();
      if (entry.contains("type")) concept_entry.type = py::str(entry["type"]);
      if (!entry.contains("tracks")) throw py::value_error("memberships: concept '" + concept_entry.name + "' has no 'tracks'");
      tracks = entry["tracks"];
    }
    std::unordered_set<std::string> seen;
    for (py::handle track : tracks) {
      std::string id = py::str(track);
      ++memberships.pairs_read;
      if (seen.insert(id).second) {
        concept_entry.tracks.push_back(std::move(id));
      } else {
        ++memberships.duplicate_pairs;
      }
    }
    memberships.concepts.push_back(std::move(concept_entry));
  }
  return memberships;
}

ResolvedMemberships resolve_for_training(const Memberships& memberships, const FrameView& frames, bool strict, const Context& context) {
  ResolvedMemberships resolved = resolve_memberships(memberships, frames.track_ids);
  if (resolved.unknown_memberships > 0) {
    std::string examples;
    for (const auto& id : resolved.unknown_examples) examples += (examples.empty() ? "" : ", ") + id;
    const std::string message = std::to_string(resolved.unknown_memberships) + " memberships name tracks not in the frames (e.g. " + examples + ")";
    if (strict) throw FatalError(message + " (stopped by strict)");
    context.warning(message + "; they are ignored");
  }
  return resolved;
}

// ---------------------------------------------------------------------------------------------
// Views of a result's arrays that keep the result alive (no copy).

template <class T>
py::array_t<T> matrix_view(const std::vector<T>& values, std::size_t rows, std::size_t cols, py::handle owner) {
  return py::array_t<T>({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)},
                        {static_cast<py::ssize_t>(cols * sizeof(T)), static_cast<py::ssize_t>(sizeof(T))}, values.data(), owner);
}

template <class T>
py::array_t<T> vector_view(const std::vector<T>& values, py::handle owner) {
  return py::array_t<T>({static_cast<py::ssize_t>(values.size())}, {static_cast<py::ssize_t>(sizeof(T))}, values.data(), owner);
}

py::dict attributes_dict(const auto& pairs) {
  py::dict result;
  for (const auto& [key, value] : pairs) result[py::str(key)] = value;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Stages

ConceptSet train(const Frames& frames, const py::handle& memberships, const py::object& progress, const py::kwargs& options) {
  TrainConfig config;
  apply_options(config, options, {"embeddings", "memberships", "output", "layer", "overwrite"});
  const Memberships parsed = memberships_from_python(memberships);
  CallContext call(progress);
  return call.run([&](const Context& context) {
    const FrameView view = frames.view();
    const ResolvedMemberships resolved = resolve_for_training(parsed, view, config.strict, context);
    return learn_concepts(view, resolved, config, nullptr, context);
  });
}

SimilarityMatrix similarity(const ConceptSet& set, const std::optional<Frames>& frames, const std::string& measure_name, int jobs, bool strict,
                            const py::object& progress) {
  const SimilarityMeasure measure = measure_name.empty() ? (frames ? SimilarityMeasure::Activation : SimilarityMeasure::Cosine)
                                                         : parse_choice_option<SimilarityMeasure>(measure_name, "measure");
  if (measure == SimilarityMeasure::Cosine) {
    py::gil_scoped_release release;
    return cosine_similarity(set);
  }
  if (!frames) throw py::value_error("measure 'activation' needs the frames holding the concepts' test tracks");
  CallContext call(progress);
  return call.run([&](const Context& context) {
    BatchErrors errors(strict, context);
    return activation_similarity(set, frames->view(), jobs, errors, nullptr, context);
  });
}

Hierarchy hierarchy(const SimilarityMatrix& matrix, int jobs, const py::object& labels, const py::object& progress, const py::kwargs& options) {
  HierarchyOptions config;
  apply_options(config, options);
  CallContext call(progress);
  Hierarchy result = call.run([&](const Context& context) { return extract_hierarchy(matrix, config, jobs, nullptr, context); });
  if (!labels.is_none()) {
    std::unordered_map<std::string, std::string> names;
    if (py::isinstance<py::dict>(labels)) {
      for (auto item : labels.cast<py::dict>()) names[py::str(item.first)] = py::str(item.second);
    } else {
      names = read_labels(path_text(labels));
    }
    apply_labels(result, names);
  }
  return result;
}

Taxonomy taxonomy_from_python(const py::handle& value) {
  if (py::isinstance<py::str>(value) || py::hasattr(value, "__fspath__")) return read_taxonomy(path_text(value));
  std::vector<std::pair<std::string, std::string>> pairs;
  for (py::handle pair : value) {
    const auto items = pair.cast<py::sequence>();
    if (items.size() != 2) throw py::value_error("truth: each entry must be a (child, parent) pair");
    pairs.emplace_back(py::str(items[0]), items[1].is_none() ? std::string() : std::string(py::str(items[1])));
  }
  return taxonomy_from_pairs(pairs, "truth");
}

ProxyEmbeddings proxy_from_python(const py::handle& vectors, const py::handle& ids) {
  if (ids.is_none()) throw py::value_error("proxy needs proxy_ids");
  if (py::isinstance<py::str>(vectors) || py::hasattr(vectors, "__fspath__")) return read_proxy_embeddings(path_text(vectors), path_text(ids));
  const auto array = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(vectors);
  if (!array || array.ndim() != 2) throw py::value_error("proxy: a 2-D array (concepts, dim) or a .npy path");
  ProxyEmbeddings proxy;
  proxy.ids = ids.cast<std::vector<std::string>>();
  if (proxy.ids.size() != static_cast<std::size_t>(array.shape(0))) {
    throw py::value_error("proxy: " + std::to_string(array.shape(0)) + " rows for " + std::to_string(proxy.ids.size()) + " proxy_ids");
  }
  proxy.dim = static_cast<std::size_t>(array.shape(1));
  proxy.vectors.assign(array.data(), array.data() + array.size());
  for (float value : proxy.vectors)
    if (!std::isfinite(value)) throw py::value_error("proxy: NaN or Inf in the vectors");
  return proxy;
}

Evaluation evaluate(const Hierarchy& evaluated, const py::object& truth, const py::object& proxy, const py::object& proxy_ids,
                    const SimilarityMatrix* matrix, const py::kwargs& options) {
  EvaluateConfig config;
  apply_options(config, options, {"hierarchy", "truth", "proxy", "proxy-ids", "similarity", "json", "output", "overwrite"});
  std::optional<Taxonomy> taxonomy;
  std::optional<ProxyEmbeddings> proxy_embeddings;
  if (!truth.is_none()) {
    taxonomy = taxonomy_from_python(truth);
    if (py::isinstance<py::str>(truth) || py::hasattr(truth, "__fspath__")) config.truth = path_text(truth);
  }
  if (!proxy.is_none()) {
    proxy_embeddings = proxy_from_python(proxy, proxy_ids);
    if (py::isinstance<py::str>(proxy) || py::hasattr(proxy, "__fspath__")) config.proxy = path_text(proxy);
  }
  if (config.hierarchy.empty()) config.hierarchy = "(in memory)";
  CallContext call{py::none()};
  return call.run([&](const Context& context) {
    return evaluate_hierarchy(evaluated,
                              {.truth = taxonomy ? &*taxonomy : nullptr, .proxy = proxy_embeddings ? &*proxy_embeddings : nullptr, .similarity = matrix},
                              config, context);
  });
}

// Audio to frames with the embed settings, loaded once.
class Embedder {
 public:
  explicit Embedder(const py::kwargs& options) {
    apply_options(config_, options, {"inputs", "list", "output", "jobs", "strict", "overwrite"});
    validate_settings();
    py::gil_scoped_release release;
    embedder_.emplace(config_);
  }
  py::list layers() const {
    py::list result;
    for (const auto& layer : embedder_->layers()) result.append(py::make_tuple(layer.name, layer.dim, layer.frame_hop_seconds));
    return result;
  }
  std::string description() const { return embedder_->description(); }

  // {layer: (frames, dim) array} for a waveform (samples,) or (samples, channels).
  py::dict embed_waveform(const py::array& waveform, double sample_rate, const std::string& id) const {
    const auto samples = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(waveform);
    if (!samples || samples.ndim() < 1 || samples.ndim() > 2) throw py::value_error(id + ": waveform must be 1-D (samples,) or 2-D (samples, channels)");
    const std::size_t channels = samples.ndim() == 2 ? static_cast<std::size_t>(samples.shape(1)) : 1;
    AudioFrameEmbedder::Embedded embedded;
    {
      py::gil_scoped_release release;
      embedded = embedder_->embed_waveform(std::span<const float>(samples.data(), static_cast<std::size_t>(samples.size())), channels, sample_rate, id);
    }
    return layers_dict(std::move(embedded.frames));
  }

  // Every audio file of `inputs` (files and folders) as Frames per layer, in id order; bad files
  // are skipped with a warning (strict: the first stops the call).
  py::dict embed_files(const std::vector<std::string>& inputs, int jobs, bool strict, const py::object& progress) const {
    const auto files = find_audio_files(inputs, "");
    const auto& layers = embedder_->layers();
    std::vector<std::vector<FrameMatrix>> per_file(files.size());
    CallContext call(progress);
    const std::size_t bad = call.run([&](const Context& context) {
      BatchErrors errors(strict, context);
      Progress steps(context, "embed", files.size());
      const int threads = jobs > 0 ? jobs : omp_get_max_threads();
      std::vector<std::exception_ptr> failures(files.size());
#pragma omp parallel for num_threads(threads) schedule(dynamic)
      for (std::size_t f = 0; f < files.size(); ++f) {
        if (context.stop_requested()) continue;
        try {
          per_file[f] = embedder_->embed(files[f].path);
        } catch (const InputError& error) {
          try {
            errors.report(error);
          } catch (...) {
            failures[f] = std::current_exception();
          }
        } catch (...) {
          failures[f] = std::current_exception();
        }
        steps.advance();
      }
      steps.finish();
      for (const auto& failure : failures)
        if (failure) std::rethrow_exception(failure);
      context.throw_if_stopped();
      return errors.count();
    });
    if (bad == files.size()) throw py::value_error("no audio file could be embedded");
    py::dict result;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      std::vector<std::uint64_t> offsets{0};
      std::vector<std::string> ids;
      std::vector<float> values;
      std::uint64_t dim = layers[l].dim;
      for (std::size_t f = 0; f < files.size(); ++f) {
        if (per_file[f].empty()) continue;
        const FrameMatrix& matrix = per_file[f][l];
        dim = matrix.cols;
        values.insert(values.end(), matrix.values.begin(), matrix.values.end());
        offsets.push_back(offsets.back() + matrix.rows);
        ids.push_back(files[f].id);
      }
      const auto rows = static_cast<py::ssize_t>(offsets.back());
      py::array_t<float> data = vector_array(std::move(values)).reshape({rows, static_cast<py::ssize_t>(dim)});
      result[py::str(layers[l].name)] = make_frames(data, vector_array(std::move(offsets)), std::move(ids), layers[l].name, layer_hop(layers[l]));
    }
    return result;
  }

 private:
  void validate_settings() {
    EmbedConfig checked = config_;
    visit_except(checked, {"output"}, ParamValidator{});
  }
  double layer_hop(const StoreLayer& layer) const {
    if (layer.frame_hop_seconds > 0) return layer.frame_hop_seconds;
    return config_.backbone == Backbone::Dsp ? 1.0 : 0.0;
  }
  py::dict layers_dict(std::vector<FrameMatrix> frames) const {
    py::dict result;
    const auto& layers = embedder_->layers();
    for (std::size_t l = 0; l < frames.size(); ++l) {
      const auto rows = static_cast<py::ssize_t>(frames[l].rows), cols = static_cast<py::ssize_t>(frames[l].cols);
      result[py::str(layers[l].name)] = vector_array(std::move(frames[l].values)).reshape({rows, cols});
    }
    return result;
  }

  EmbedConfig config_;
  std::optional<AudioFrameEmbedder> embedder_;
};

// An explanation with the names of its columns.
struct Explanation {
  TrackExplanation track;
  std::vector<std::string> names, labels;
  bool calibrated = false;
};

std::vector<Explanation> explain(const ConceptSet& set, const py::object& frames, double frame_hop_seconds, const Hierarchy* tree,
                                 const py::kwargs& options) {
  ExplainOptions config;
  apply_options(config, options);
  std::vector<std::pair<std::string, FrameMatrix>> tracks;
  double hop = frame_hop_seconds;
  if (py::isinstance<Frames>(frames)) {
    const Frames& given = frames.cast<const Frames&>();
    const FrameView view = given.view();
    if (hop <= 0) hop = given.frame_hop_seconds;
    for (std::size_t t = 0; t < view.track_count(); ++t) {
      const std::uint64_t rows = view.offsets[t + 1] - view.offsets[t];
      tracks.emplace_back(view.track_ids[t], FrameMatrix{rows, view.dim,
                                                        std::vector<float>(view.data + view.offsets[t] * view.dim, view.data + view.offsets[t + 1] * view.dim)});
    }
  } else {
    const auto matrix = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(frames);
    if (!matrix || matrix.ndim() != 2) throw py::value_error("frames: a (frames, dim) array or a Frames");
    tracks.emplace_back("track", FrameMatrix{static_cast<std::uint64_t>(matrix.shape(0)), static_cast<std::uint64_t>(matrix.shape(1)),
                                             std::vector<float>(matrix.data(), matrix.data() + matrix.size())});
  }
  if (!(hop > 0)) throw py::value_error("frame_hop_seconds: give the seconds between frames (the frames carry none)");
  py::gil_scoped_release release;
  const ConceptExplainer explainer(set, tree, config);
  std::vector<Explanation> result(tracks.size());
  for (std::size_t t = 0; t < tracks.size(); ++t) {
    result[t] = {explainer.explain(tracks[t].first, tracks[t].second, hop), explainer.names(), explainer.labels(), explainer.calibrated()};
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Commands as the CLI runs them, on files.

template <class Job, class Config>
void run_job(const py::kwargs& options, const py::object& progress) {
  Config config;
  apply_options(config, options);
  CallContext call(progress);
  call.run([&](const Context& context) {
    Job job(config, context);
    job.run();
    return 0;
  });
}

void run_cavs(const py::kwargs& options, const py::object&) {
  CavImportConfig config;
  apply_options(config, options);
  py::gil_scoped_release release;
  import_cavs(config);
}

template <class Config>
std::string options_help() {
  return options_doc(Config{});
}

// Every command run() knows, once: its name, what it does, how it runs and its options' help.
struct Command {
  const char* name;
  const char* what;
  void (*run)(const py::kwargs&, const py::object&);
  std::string (*help)();
};
constexpr Command kCommands[] = {
    {"embed", "audio files to an embedding store", &run_job<AudioEmbedder, EmbedConfig>, &options_help<EmbedConfig>},
    {"import", "precomputed embeddings to an embedding store", &run_job<EmbeddingImporter, ImportConfig>, &options_help<ImportConfig>},
    {"train", "a store and memberships to a concept set", &run_job<ConceptTrainer, TrainConfig>, &options_help<TrainConfig>},
    {"cavs", "CAVs learned elsewhere to a concept set", &run_cavs, &options_help<CavImportConfig>},
    {"similarity", "a concept set to a similarity file", &run_job<SimilarityComputer, SimilarityConfig>, &options_help<SimilarityConfig>},
    {"hierarchy", "a similarity file to a hierarchy", &run_job<HierarchyExtractor, HierarchyConfig>, &options_help<HierarchyConfig>},
    {"bootstrap", "B learnings to a consensus hierarchy with support", &run_job<HierarchyBootstrap, BootstrapConfig>,
     &options_help<BootstrapConfig>},
    {"evaluate", "a hierarchy against a truth and/or proxies", &run_job<HierarchyEvaluator, EvaluateConfig>, &options_help<EvaluateConfig>},
    {"explain", "recordings explained with the concepts", &run_job<ExplainJob, ExplainConfig>, &options_help<ExplainConfig>},
    {"tcav", "which concepts drive a model's output", &run_job<TcavJob, TcavConfig>, &options_help<TcavConfig>},
    {"report", "one offline HTML page of it all", &run_job<ReportWriter, ReportConfig>, &options_help<ReportConfig>},
    {"synth", "a synthetic corpus with a planted hierarchy", &run_job<SyntheticCorpus, SynthConfig>, &options_help<SynthConfig>},
    {"corpus", "the rendered demo audio corpus", &run_job<DemoCorpus, DemoCorpusConfig>, &options_help<DemoCorpusConfig>},
    {"demo", "the whole pipeline on the demo corpus", &run_job<DemoPipeline, DemoConfig>, &options_help<DemoConfig>},
};

const Command& find_command(const std::string& name) {
  std::string names;
  for (const Command& command : kCommands) {
    if (name == command.name) return command;
    names += (names.empty() ? "" : ", ") + std::string(command.name);
  }
  throw py::value_error("unknown command '" + name + "'; one of: " + names);
}

}  // namespace

PYBIND11_MODULE(_conceptree, m) {
  m.doc() = "conceptree's compiled core; use the conceptree package.";
  m.attr("__version__") = kVersion;

  static py::exception<FatalError> error(m, "Error", PyExc_ValueError);
  static py::exception<InputError> input_error(m, "InputError", error.ptr());
  static py::exception<Cancelled> cancelled(m, "Cancelled", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const Cancelled& e) {
      PyErr_SetString(cancelled.ptr(), e.what());
    } catch (const InputError& e) {
      PyErr_SetString(input_error.ptr(), e.what());
    } catch (const FatalError& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });

  py::class_<Frames>(m, "Frames",
                     "Frame embeddings of tracks: data (rows, dim) float32, offsets (tracks + 1) uint64 where track k owns rows "
                     "offsets[k]:offsets[k+1], track_ids, layer name and seconds between frames. Arrays are kept, not copied, when "
                     "already C-contiguous float32 / uint64.")
      .def(py::init(&make_frames), py::arg("data"), py::arg("offsets"), py::arg("track_ids"), py::arg("layer") = "",
           py::arg("frame_hop_seconds") = 0.0)
      .def_readonly("data", &Frames::data)
      .def_readonly("offsets", &Frames::offsets)
      .def_readonly("track_ids", &Frames::track_ids)
      .def_readonly("layer", &Frames::layer)
      .def_readonly("frame_hop_seconds", &Frames::frame_hop_seconds)
      .def("__len__", [](const Frames& frames) { return frames.track_ids.size(); })
      .def(
          "track",
          [](const Frames& frames, std::size_t index) {
            if (index >= frames.track_ids.size()) throw py::index_error("track " + std::to_string(index) + " of " + std::to_string(frames.track_ids.size()));
            const auto* offsets = frames.offsets.data();
            return frames.data[py::slice(static_cast<py::ssize_t>(offsets[index]), static_cast<py::ssize_t>(offsets[index + 1]), 1)];
          },
          py::arg("index"), "The (frames, dim) rows of track `index` (a view).")
      .def("__repr__", [](const Frames& frames) {
        return "<conceptree.Frames " + std::to_string(frames.track_ids.size()) + " tracks, " + std::to_string(frames.data.shape(0)) + " x " +
               std::to_string(frames.data.shape(1)) + (frames.layer.empty() ? "" : ", layer " + frames.layer) + ">";
      });

  m.def("read_store", &read_store, py::arg("path"), py::arg("layer") = "", py::arg("progress") = py::none(),
        "Every frame of an embedding store's layer in memory (empty layer: the only or first one).");
  m.def("write_store", &write_store, py::arg("path"), py::arg("frames"), py::arg("backbone") = "imported", py::arg("overwrite") = false,
        "Write frames as an embedding store (HDF5), through a temporary file and a rename.");

  py::class_<ConceptMetrics>(m, "ConceptMetrics")
      .def_readonly("n_tracks", &ConceptMetrics::n_tracks)
      .def_readonly("test_balanced_accuracy", &ConceptMetrics::test_balanced_accuracy)
      .def_readonly("test_roc_auc", &ConceptMetrics::test_roc_auc)
      .def_readonly("regularization", &ConceptMetrics::regularization);

  py::class_<ConceptSet>(m, "ConceptSet", "Concept activation vectors (weights, bias) with their metrics and track splits.")
      .def_readonly("layer", &ConceptSet::layer)
      .def_readonly("dim", &ConceptSet::dim)
      .def_readonly("names", &ConceptSet::names)
      .def_readonly("types", &ConceptSet::types)
      .def_property_readonly("kept", [](py::object self) {
        const auto& set = self.cast<const ConceptSet&>();
        return vector_view(set.kept, self).attr("astype")("bool");
      })
      .def_property_readonly("weights", [](py::object self) {
        const auto& set = self.cast<const ConceptSet&>();
        return matrix_view(set.weights, set.size(), set.dim, self);
      }, "(concepts, dim) float32, a view")
      .def_property_readonly("bias", [](py::object self) { return vector_view(self.cast<const ConceptSet&>().bias, self); })
      .def_property_readonly("metrics", [](const ConceptSet& set) {
        py::dict metrics;
        if (set.metrics.empty()) return metrics;
        std::vector<double> accuracy, auc, regularization;
        std::vector<std::uint64_t> tracks;
        for (const auto& metric : set.metrics) {
          accuracy.push_back(metric.test_balanced_accuracy);
          auc.push_back(metric.test_roc_auc);
          regularization.push_back(metric.regularization);
          tracks.push_back(metric.n_tracks);
        }
        metrics["test_balanced_accuracy"] = vector_array(std::move(accuracy));
        metrics["test_roc_auc"] = vector_array(std::move(auc));
        metrics["regularization"] = vector_array(std::move(regularization));
        metrics["n_tracks"] = vector_array(std::move(tracks));
        return metrics;
      }, "per concept arrays: test_balanced_accuracy, test_roc_auc, regularization, n_tracks (empty for CAVs learned elsewhere)")
      .def_property_readonly("attributes", [](const ConceptSet& set) {
        py::dict attributes = attributes_dict(set.text_attributes);
        for (const auto& [key, value] : set.number_attributes) attributes[py::str(key)] = value;
        return attributes;
      })
      .def("__len__", &ConceptSet::size)
      .def("save", [](const ConceptSet& set, const std::filesystem::path& path, bool overwrite) {
        refuse_to_overwrite(path, overwrite);
        py::gil_scoped_release release;
        write_concept_set(path, set);
      }, py::arg("path"), py::arg("overwrite") = false)
      .def("__repr__", [](const ConceptSet& set) {
        std::size_t kept = 0;
        for (auto k : set.kept) kept += k;
        return "<conceptree.ConceptSet " + std::to_string(set.size()) + " concepts (" + std::to_string(kept) + " kept), layer " + set.layer + ", dim " +
               std::to_string(set.dim) + ">";
      });
  m.def("read_concept_set", [](const std::filesystem::path& path, const std::string& layer) {
    py::gil_scoped_release release;
    return read_concept_set(path, layer);
  }, py::arg("path"), py::arg("layer") = "");

  py::class_<SimilarityMatrix>(m, "Similarity", "S[i][j]: how much the members of concept i look like concept j.")
      .def_readonly("measure", &SimilarityMatrix::measure)
      .def_readonly("layer", &SimilarityMatrix::layer)
      .def_readonly("names", &SimilarityMatrix::names)
      .def_readonly("types", &SimilarityMatrix::types)
      .def_property_readonly("values", [](py::object self) {
        const auto& matrix = self.cast<const SimilarityMatrix&>();
        return matrix_view(matrix.values, matrix.size(), matrix.size(), self);
      }, "(K, K) float32, a view")
      .def_property_readonly("support", [](py::object self) { return vector_view(self.cast<const SimilarityMatrix&>().support, self); })
      .def_property_readonly("base_rate", [](py::object self) { return vector_view(self.cast<const SimilarityMatrix&>().base_rate, self); })
      .def("__len__", &SimilarityMatrix::size)
      .def("save", [](const SimilarityMatrix& matrix, const std::filesystem::path& path, bool overwrite) {
        refuse_to_overwrite(path, overwrite);
        py::gil_scoped_release release;
        write_similarity(path, matrix);
      }, py::arg("path"), py::arg("overwrite") = false)
      .def("__repr__", [](const SimilarityMatrix& matrix) {
        return "<conceptree.Similarity " + matrix.measure + ", " + std::to_string(matrix.size()) + " concepts>";
      });
  m.def("read_similarity", [](const std::filesystem::path& path) {
    py::gil_scoped_release release;
    return read_similarity(path);
  }, py::arg("path"));

  py::class_<HierarchyNode>(m, "HierarchyNode")
      .def_readonly("id", &HierarchyNode::id)
      .def_readonly("label", &HierarchyNode::label)
      .def_readonly("type", &HierarchyNode::type)
      .def_readonly("centrality", &HierarchyNode::centrality)
      .def_readonly("depth", &HierarchyNode::depth)
      .def("__repr__", [](const HierarchyNode& node) { return "<HierarchyNode " + node.id + ">"; });
  py::class_<HierarchyLink>(m, "HierarchyLink")
      .def_readonly("parent", &HierarchyLink::parent)
      .def_readonly("child", &HierarchyLink::child)
      .def_readonly("weight", &HierarchyLink::weight)
      .def_property_readonly("support", [](const HierarchyLink& link) -> py::object {
        if (link.support < 0) return py::none();
        return py::float_(link.support);
      });
  py::class_<Hierarchy>(m, "Hierarchy", "Concepts (nodes) and parent -> child links; concepts without a parent are the top level.")
      .def_readonly("nodes", &Hierarchy::nodes)
      .def_readonly("links", &Hierarchy::links)
      .def_readonly("alternatives", &Hierarchy::alternatives)
      .def_property_readonly("params", [](const Hierarchy& tree) {
        py::dict params;
        for (const auto& [key, value] : tree.params) {
          if (const auto* text = std::get_if<std::string>(&value)) {
            params[py::str(key)] = *text;
          } else {
            params[py::str(key)] = std::get<double>(value);
          }
        }
        return params;
      })
      .def("top_level", &Hierarchy::top_level, "Indices of the nodes without a parent.")
      .def("format", [](const Hierarchy& tree, const std::string& format) {
        return format_hierarchy(tree, parse_choice_option<HierarchyFormat>(format, "format"));
      }, py::arg("format") = "json", "The hierarchy as text: json, graphml, dot, newick or tsv.")
      .def("save", [](const Hierarchy& tree, const std::filesystem::path& path, const std::string& format, bool overwrite) {
        refuse_to_overwrite(path, overwrite);
        write_hierarchy(path, tree, format.empty() ? hierarchy_format_for(path) : parse_choice_option<HierarchyFormat>(format, "format"));
      }, py::arg("path"), py::arg("format") = "", py::arg("overwrite") = false, "Write it; the format from the extension unless given.")
      .def("__len__", [](const Hierarchy& tree) { return tree.nodes.size(); })
      .def("__repr__", [](const Hierarchy& tree) {
        return "<conceptree.Hierarchy " + std::to_string(tree.nodes.size()) + " concepts, " + std::to_string(tree.links.size()) + " links>";
      });
  m.def("read_hierarchy", [](const std::filesystem::path& path) { return read_hierarchy_json(path); }, py::arg("path"),
        "A hierarchy JSON (conceptree's, or any with nodes[].id and links[].source/target).");

  py::class_<Evaluation>(m, "Evaluation", "Scores of a hierarchy against a truth and/or proxy embeddings, next to baselines.")
      .def("to_json", &evaluation_json)
      .def("table", &format_evaluation_table)
      .def("to_dict", [](const Evaluation& evaluation) { return py::module_::import("json").attr("loads")(evaluation_json(evaluation)); })
      .def("__repr__", &format_evaluation_table);

  py::class_<ConceptSegment>(m, "ConceptSegment")
      .def_readonly("concept_column", &ConceptSegment::concept_column)
      .def_readonly("start", &ConceptSegment::start)
      .def_readonly("end", &ConceptSegment::end)
      .def_readonly("score", &ConceptSegment::score);
  py::class_<SummaryEntry>(m, "SummaryEntry")
      .def_readonly("path", &SummaryEntry::path)
      .def_readonly("start", &SummaryEntry::start)
      .def_readonly("end", &SummaryEntry::end)
      .def_readonly("score", &SummaryEntry::score);
  py::class_<Explanation>(m, "Explanation", "One track described by the concepts it activates (columns = names).")
      .def_property_readonly("id", [](const Explanation& e) { return e.track.id; })
      .def_readonly("names", &Explanation::names)
      .def_readonly("labels", &Explanation::labels)
      .def_readonly("calibrated", &Explanation::calibrated)
      .def_property_readonly("frame_seconds", [](py::object self) { return vector_view(self.cast<const Explanation&>().track.frame_seconds, self); })
      .def_property_readonly("activations", [](py::object self) {
        const auto& e = self.cast<const Explanation&>();
        return matrix_view(e.track.activations, e.track.frames, e.names.size(), self);
      }, "(frames, concepts) sigmoid(v.x + b)")
      .def_property_readonly("scores", [](py::object self) { return vector_view(self.cast<const Explanation&>().track.scores, self); })
      .def_property_readonly("present", [](py::object self) {
        return vector_view(self.cast<const Explanation&>().track.present, self).attr("astype")("bool");
      })
      .def_property_readonly("segments", [](const Explanation& e) { return e.track.segments; })
      .def_property_readonly("summary", [](const Explanation& e) { return e.track.summary; })
      .def("__repr__", [](const Explanation& e) {
        std::string text = "<conceptree.Explanation " + e.track.id + ":";
        for (const auto& entry : e.track.summary) text += " " + e.labels[entry.path.back()];
        return text + ">";
      });

  py::class_<Embedder>(m, "Embedder", ("Audio to frame embeddings with one backbone, its weights loaded once." + options_doc(EmbedConfig{}, {"inputs", "list", "output", "jobs", "strict", "overwrite"})).c_str())
      .def(py::init<const py::kwargs&>())
      .def_property_readonly("layers", &Embedder::layers, "(name, dim, frame_hop_seconds) of each layer")
      .def_property_readonly("description", &Embedder::description)
      .def("embed_waveform", &Embedder::embed_waveform, py::arg("waveform"), py::arg("sample_rate"), py::arg("id") = "waveform",
           "{layer: (frames, dim) float32} for a waveform (samples,) or (samples, channels) at sample_rate Hz.")
      .def("embed_files", &Embedder::embed_files, py::arg("inputs"), py::arg("jobs") = 0, py::arg("strict") = false, py::arg("progress") = py::none(),
           "{layer: Frames} for audio files and folders (walked for audio); bad files are skipped with a warning unless strict.");

  m.def("train", &train, py::arg("frames"), py::arg("memberships"), py::kw_only(), py::arg("progress") = py::none(),
        ("Learn one concept activation vector per concept from frames in memory. memberships: a TSV/JSON path or "
         "{concept: [track ids]} / {concept: {'type': t, 'tracks': [...]}}." +
         options_doc(TrainConfig{}, {"embeddings", "memberships", "output", "layer", "overwrite"}))
            .c_str());
  m.def("similarity", &similarity, py::arg("concepts"), py::arg("frames") = py::none(), py::kw_only(), py::arg("measure") = "", py::arg("jobs") = 0,
        py::arg("strict") = false, py::arg("progress") = py::none(),
        "S[i][j] over the kept concepts: 'activation' (mean activation of concept j over concept i's test tracks, read from frames) "
        "or 'cosine' (of [v; b], no frames). Default: activation when frames are given.");
  m.def("hierarchy", &hierarchy, py::arg("similarity"), py::kw_only(), py::arg("jobs") = 0, py::arg("labels") = py::none(),
        py::arg("progress") = py::none(),
        ("Extract a hierarchy of concepts from their similarity. labels: {id: display name} or a TSV path." + options_doc(HierarchyOptions{})).c_str());
  m.def("evaluate", &evaluate, py::arg("hierarchy"), py::kw_only(), py::arg("truth") = py::none(), py::arg("proxy") = py::none(),
        py::arg("proxy_ids") = py::none(), py::arg("similarity") = py::none(),
        ("Score a hierarchy against a truth taxonomy (TSV path or (child, parent) pairs) and/or proxy embeddings (.npy path or "
         "array, with proxy_ids), next to baselines (with similarity: top1, threshold, matching, random)." +
         options_doc(EvaluateConfig{}, {"hierarchy", "truth", "proxy", "proxy-ids", "similarity", "json", "output", "overwrite"}))
            .c_str());
  m.def("explain", &explain, py::arg("concepts"), py::arg("frames"), py::kw_only(), py::arg("frame_hop_seconds") = 0.0,
        py::arg("hierarchy") = py::none(),
        ("Explain tracks with the kept concepts: a (frames, dim) array (one track) or Frames (every track); returns a list of "
         "Explanation." + options_doc(ExplainOptions{}))
            .c_str());
  m.def(
      "run", [](const std::string& command, const py::object& progress, const py::kwargs& options) { find_command(command).run(options, progress); },
      py::arg("command"), py::kw_only(), py::arg("progress") = py::none(),
      "Run a conceptree command on files exactly as the CLI does, with its options as keywords ('_' for '-'); see "
      "command_help(command).");
  m.def("command_help", [](const std::string& name) {
    const Command& command = find_command(name);
    return std::string("run('") + command.name + "', ...): " + command.what + command.help();
  }, py::arg("command"));
}
