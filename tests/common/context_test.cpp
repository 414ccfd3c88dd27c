// The library reports through the context it is given and leaves the host process as it found it.
#include <cblas.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <limits>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include "common/gemm.hpp"
#include "conceptree/concepts.hpp"
#include "conceptree/context.hpp"
#include "conceptree/progress.hpp"
#include "conceptree/similarity.hpp"
#include "conceptree/store.hpp"
#include "hdf5/hdf5.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

struct Recorded {
  std::mutex mutex;
  std::vector<std::pair<MessageLevel, std::string>> messages;
  std::vector<ProgressUpdate> updates;
  std::vector<std::string> labels;
};

Context recording_context(Recorded& recorded) {
  Context context;
  context.messages = [&recorded](MessageLevel level, std::string_view text) {
    std::lock_guard lock(recorded.mutex);
    recorded.messages.emplace_back(level, std::string(text));
  };
  context.progress = [&recorded](const ProgressUpdate& update) {
    std::lock_guard lock(recorded.mutex);
    recorded.updates.push_back(update);
    recorded.labels.emplace_back(update.label);
  };
  return context;
}

TEST(Context, RoutesMessagesAndDropsInfoWhenQuiet) {
  Recorded recorded;
  Context context = recording_context(recorded);
  context.info("hello");
  context.warning("careful");
  context.quiet = true;
  context.info("dropped");
  context.warning("still shown");
  ASSERT_EQ(recorded.messages.size(), 3u);
  EXPECT_EQ(recorded.messages[0], std::make_pair(MessageLevel::Info, std::string("hello")));
  EXPECT_EQ(recorded.messages[1], std::make_pair(MessageLevel::Warning, std::string("careful")));
  EXPECT_EQ(recorded.messages[2].second, "still shown");
}

TEST(Context, ProgressReachesTheObserverAndEndsWithAFinishedUpdate) {
  Recorded recorded;
  const Context context = recording_context(recorded);
  {
    Progress progress(context, "count", 10);
    for (int i = 0; i < 10; ++i) progress.advance();
  }
  ASSERT_FALSE(recorded.updates.empty());
  EXPECT_TRUE(recorded.updates.back().finished);
  EXPECT_EQ(recorded.updates.back().done, 10u);
  EXPECT_EQ(recorded.updates.back().total, 10u);
  EXPECT_EQ(recorded.labels.back(), "count");
}

TEST(Context, CopiesShareTheStopRequest) {
  const Context context;
  const Context copy = context;
  EXPECT_FALSE(copy.stop_requested());
  context.request_stop();
  EXPECT_TRUE(copy.stop_requested());
  EXPECT_THROW(copy.throw_if_stopped(), Cancelled);
}

// Frames of 200 tracks, two separable concepts, held in memory.
struct PlantedFrames {
  std::vector<float> data;
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::string> ids;
  ResolvedMemberships memberships;
  FrameView view() const { return {.data = data.data(), .dim = 4, .offsets = offsets, .track_ids = ids, .layer = "planted"}; }
};

PlantedFrames planted_frames() {
  PlantedFrames planted;
  planted.memberships.concepts = {{"a", "", {}}, {"b", "", {}}};
  for (std::uint32_t t = 0; t < 200; ++t) {
    planted.ids.push_back(std::string(1, 't').append(std::to_string(t)));
    for (int f = 0; f < 3; ++f) {
      for (int d = 0; d < 4; ++d) planted.data.push_back(static_cast<float>((t * 7 + f * 3 + d * 5) % 11) / 11.0f);
      if (t % 2 == 0) planted.data[planted.data.size() - 4] += 2;
      if (t % 3 == 0) planted.data[planted.data.size() - 3] += 2;
    }
    planted.offsets.push_back(planted.offsets.back() + 3);
    if (t % 2 == 0) planted.memberships.concepts[0].tracks.push_back(t);
    if (t % 3 == 0) planted.memberships.concepts[1].tracks.push_back(t);
  }
  return planted;
}

TEST(Context, ALibraryStageReportsThroughItAndStopsWhenAsked) {
  const PlantedFrames planted = planted_frames();
  TrainConfig config;
  config.min_tracks = 10;
  Recorded recorded;
  const Context context = recording_context(recorded);
  const ConceptSet set = learn_concepts(planted.view(), planted.memberships, config, nullptr, context);
  EXPECT_EQ(set.size(), 2u);
  ASSERT_FALSE(recorded.updates.empty());
  EXPECT_EQ(recorded.labels.back(), "train");

  const Context stopped;
  stopped.request_stop();
  EXPECT_THROW(learn_concepts(planted.view(), planted.memberships, config, nullptr, stopped), Cancelled);
}

TEST(FrameView, SimilarityOnFramesInMemoryEqualsTheStoreOnDisk) {
  const PlantedFrames planted = planted_frames();
  TrainConfig config;
  config.min_tracks = 10;
  config.min_accuracy = 0;
  const ConceptSet set = learn_concepts(planted.view(), planted.memberships, config);
  testing::ScratchDir dir;
  const auto path = dir.path() / "store.h5";
  {
    auto writer = EmbeddingStoreWriter::create(path, {{.name = "planted", .dim = 4}}, {});
    for (std::size_t t = 0; t < planted.ids.size(); ++t) {
      writer.append(planted.ids[t], std::span<const float>(planted.data).subspan(planted.offsets[t] * 4, 12), 3);
    }
    writer.close();
  }
  BatchErrors errors(true, default_context());
  const SimilarityMatrix from_memory = activation_similarity(set, planted.view(), 0, errors);
  const SimilarityMatrix from_disk = activation_similarity(set, EmbeddingStore(path), 0, errors);
  EXPECT_EQ(from_memory.values, from_disk.values);
  EXPECT_EQ(from_memory.base_rate, from_disk.base_rate);
}

TEST(FrameView, InconsistentViewsAreRefusedNamingTheProblem) {
  const auto named_view = [](const PlantedFrames& frames) {
    FrameView view = frames.view();
    view.source = "mine";
    return view;
  };
  PlantedFrames planted = planted_frames();
  planted.offsets[5] = 1;
  EXPECT_THROW(
      {
        try {
          check_frame_view(named_view(planted));
        } catch (const InputError& error) {
          EXPECT_EQ(error.item(), "mine");
          EXPECT_NE(std::string(error.what()).find("offsets decrease at track 4"), std::string::npos) << error.what();
          throw;
        }
      },
      InputError);
  planted = planted_frames();
  planted.data[40] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(check_frame_view(named_view(planted)), InputError);
}

TEST(HostProcess, OpenBlasThreadsAreRestoredAfterConceptreeRuns) {
  openblas_set_num_threads(2);
  {
    const SingleThreadedBlas outer;
    EXPECT_EQ(openblas_get_num_threads(), 1);
    {
      const SingleThreadedBlas inner;
      EXPECT_EQ(openblas_get_num_threads(), 1);
    }
    EXPECT_EQ(openblas_get_num_threads(), 1) << "still inside the outer scope";
  }
  EXPECT_EQ(openblas_get_num_threads(), 2);
}

herr_t host_error_printer(hid_t, void*) { return 0; }

TEST(HostProcess, Hdf5ErrorPrintingIsRestoredWhenConceptreeClosesItsFiles) {
  H5E_auto2_t before = nullptr;
  void* before_data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &before, &before_data);
  int marker = 0;
  H5Eset_auto2(H5E_DEFAULT, host_error_printer, &marker);
  testing::ScratchDir dir;
  {
    h5::File file(dir.path() / "x.h5", h5::Mode::Create);
    H5E_auto2_t during = nullptr;
    void* during_data = nullptr;
    H5Eget_auto2(H5E_DEFAULT, &during, &during_data);
    EXPECT_EQ(during, nullptr) << "conceptree reports HDF5 errors itself while its file is open";
  }
  H5E_auto2_t after = nullptr;
  void* after_data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &after, &after_data);
  EXPECT_EQ(after, &host_error_printer);
  EXPECT_EQ(after_data, &marker);
  H5Eset_auto2(H5E_DEFAULT, before, before_data);
}

}  // namespace
}  // namespace conceptree
