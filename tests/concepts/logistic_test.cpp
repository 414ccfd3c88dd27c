#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "concepts/logistic.hpp"
#include "conceptree/npy.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

using conceptree::testing::ScratchDir;

TEST(BalancedAccuracy, AveragesTheTwoClassRates) {
  const std::vector<float> scores = {1, 2, -1, -3, 0.5f, -0.5f};
  const std::vector<std::uint8_t> labels = {1, 1, 1, 0, 0, 0};
  // TPR 2/3, TNR 2/3.
  EXPECT_NEAR(logistic::balanced_accuracy(scores, labels), 2.0 / 3.0, 1e-12);
}

TEST(RocAuc, CountsTiesAsHalf) {
  EXPECT_DOUBLE_EQ(logistic::roc_auc(std::vector<float>{0.1f, 0.4f, 0.35f, 0.8f}, std::vector<std::uint8_t>{0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(logistic::roc_auc(std::vector<float>{1, 1, 1, 1}, std::vector<std::uint8_t>{0, 1, 0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(logistic::roc_auc(std::vector<float>{3, 1}, std::vector<std::uint8_t>{1, 1}), 0.5);
}

TEST(BalancedWeights, GiveEachClassHalfTheTotal) {
  const std::vector<std::uint8_t> labels = {1, 0, 0, 0};
  const auto weights = logistic::balanced_row_weights(labels);
  EXPECT_FLOAT_EQ(weights[0], 2.0f);
  EXPECT_FLOAT_EQ(weights[1], 4.0f / 6.0f);
}

struct Dataset {
  std::size_t rows = 0, cols = 0;
  std::vector<float> frames;
  std::vector<std::uint8_t> labels;
};

Dataset separable_along(std::size_t informative_columns, std::size_t positives, std::size_t negatives, std::uint64_t seed) {
  Dataset data;
  data.cols = 12;
  data.rows = positives + negatives;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  for (std::size_t r = 0; r < data.rows; ++r) {
    const bool positive = r < positives;
    data.labels.push_back(positive ? 1 : 0);
    for (std::size_t c = 0; c < data.cols; ++c) {
      data.frames.push_back(normal(rng) + (c < informative_columns ? (positive ? 1.0f : -1.0f) : 0.0f));
    }
  }
  return data;
}

TEST(LogisticFit, FindsThePlantedDirection) {
  const Dataset data = separable_along(2, 300, 900, 3);
  const auto weights = logistic::balanced_row_weights(data.labels);
  const logistic::Problem problem{data.frames.data(), data.rows, data.cols, data.labels, weights};
  const auto model = logistic::fit(problem, 1e-3, {}, {});
  ASSERT_EQ(model.weights.size(), data.cols);
  for (std::size_t c = 0; c < 2; ++c) EXPECT_GT(model.weights[c], 1.0);
  for (std::size_t c = 2; c < data.cols; ++c) EXPECT_LT(std::abs(model.weights[c]), 0.3);
  std::vector<float> w(model.weights.begin(), model.weights.end()), scores(data.rows);
  logistic::decision_function(data.frames.data(), data.rows, data.cols, w, static_cast<float>(model.bias), scores);
  EXPECT_GT(logistic::balanced_accuracy(scores, data.labels), 0.9);
}

TEST(LogisticFit, WarmStartReachesTheSameOptimum) {
  const Dataset data = separable_along(3, 200, 200, 5);
  const auto weights = logistic::balanced_row_weights(data.labels);
  const logistic::Problem problem{data.frames.data(), data.rows, data.cols, data.labels, weights};
  const logistic::SolverOptions tight{.max_iterations = 1000, .gradient_tolerance = 1e-7};
  const auto cold = logistic::fit(problem, 1e-2, {}, tight);
  const auto warm = logistic::fit(problem, 1e-2, logistic::fit(problem, 1.0, {}, {}), tight);
  for (std::size_t c = 0; c < data.cols; ++c) EXPECT_NEAR(cold.weights[c], warm.weights[c], 1e-3);
}

// The same objective as scikit-learn's LogisticRegression(class_weight="balanced", C=1/(lambda n)).
TEST(LogisticFit, MatchesScikitLearn) {
  const std::string python = conceptree::testing::python_with_h5py();
  if (python.empty() || conceptree::testing::run_command(python + " -c 'import sklearn'").exit_code != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with numpy, h5py and sklearn not available";
  }
  const Dataset data = separable_along(2, 150, 450, 11);
  const double lambda = 1e-2;
  const auto row_weights = logistic::balanced_row_weights(data.labels);
  const logistic::Problem problem{data.frames.data(), data.rows, data.cols, data.labels, row_weights};
  const auto model = logistic::fit(problem, lambda, {}, {.max_iterations = 1000, .gradient_tolerance = 1e-8});

  ScratchDir dir;
  std::vector<float> labels(data.labels.begin(), data.labels.end());
  const std::uint64_t frame_shape[] = {data.rows, data.cols};
  const std::uint64_t label_shape[] = {data.rows};
  write_npy(dir / "x.npy", data.frames, frame_shape);
  write_npy(dir / "y.npy", labels, label_shape);
  conceptree::testing::write_text(dir / "fit.py",
                                  "import sys, numpy as np\n"
                                  "from sklearn.linear_model import LogisticRegression\n"
                                  "x = np.load(sys.argv[1]); y = np.load(sys.argv[2])\n"
                                  "m = LogisticRegression(class_weight='balanced', C=1.0 / (float(sys.argv[3]) * len(y)), tol=1e-10, max_iter=10000)\n"
                                  "m.fit(x, y)\n"
                                  "print(' '.join(repr(float(v)) for v in list(m.coef_[0]) + [m.intercept_[0]]))\n");
  const auto result = conceptree::testing::run_command(python + " " + (dir / "fit.py").string() + " " + (dir / "x.npy").string() +
                                                       " " + (dir / "y.npy").string() + " " + std::to_string(lambda));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream values(result.out);
  for (std::size_t c = 0; c < data.cols; ++c) {
    double expected = 0;
    values >> expected;
    EXPECT_NEAR(model.weights[c], expected, 2e-3) << "column " << c;
  }
  double intercept = 0;
  values >> intercept;
  EXPECT_NEAR(model.bias, intercept, 2e-3);
}

}  // namespace
}  // namespace conceptree
