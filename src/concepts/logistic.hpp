#pragma once
// Class-weighted, L2-regularised binary logistic regression on row-major float frames:
//   minimise (1/n) sum_i c_i * log(1 + exp(-s_i (w.x_i + b))) + (lambda/2) |w|^2,  s_i = +-1,
// with the bias unregularised. Solved by L-BFGS (LBFGSpp): with D ~ 100-1500 features and a few
// thousand frames per concept, one L-BFGS step costs two passes over the frames (~0.1 ms) where a
// Newton step would need the D x D Hessian X^T W X (~100x more), and warm starts along the
// regularisation path keep the step count in the tens.

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace conceptree::logistic {

struct Problem {
  const float* frames = nullptr;        // rows x cols, row-major
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::span<const std::uint8_t> labels;  // 1 positive, 0 negative
  std::span<const float> row_weights;    // c_i
};

struct SolverOptions {
  int max_iterations = 300;            // L-BFGS iterations
  double gradient_tolerance = 1e-4;     // stop when |grad| <= tolerance * max(1, |w|)
};

struct Model {
  std::vector<double> weights;  // cols
  double bias = 0;
  int evaluations = 0;  // loss-and-gradient passes over the frames
};

// Per-column centring and scaling to unit variance, fitted on training rows; the solver's
// regularisation and tolerance assume standardised features.
struct Standardizer {
  std::vector<double> mean, scale;  // a constant column keeps scale 1
  Standardizer(const float* rows_data, std::size_t rows, std::size_t cols);
  void apply(float* rows_data, std::size_t rows) const;
  // A model fitted on standardised rows as weights and bias on raw rows: v = w / scale, b = b' - v·mean.
  std::pair<std::vector<float>, float> raw_direction(const Model& model) const;
};

// Starts from `start` (warm start) when it has the right size, else from zero.
Model fit(const Problem& problem, double lambda, const Model& start, const SolverOptions& options);

// w.x + b for every row.
void decision_function(const float* frames, std::size_t rows, std::size_t cols, std::span<const float> weights,
                       float bias, std::span<float> scores);

// Mean of the true-positive and true-negative rates at score > 0.
double balanced_accuracy(std::span<const float> scores, std::span<const std::uint8_t> labels);
// Area under the ROC curve (ties count one half); 0.5 when a class is missing.
double roc_auc(std::span<const float> scores, std::span<const std::uint8_t> labels);

// Weights that make both classes weigh n/2 in total, as scikit-learn's class_weight="balanced".
std::vector<float> balanced_row_weights(std::span<const std::uint8_t> labels);

}  // namespace conceptree::logistic
