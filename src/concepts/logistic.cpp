#include "concepts/logistic.hpp"

#include <Eigen/Core>
#include <LBFGS.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "conceptree/error.hpp"

namespace conceptree::logistic {

namespace {

using RowMajorFrames = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Loss and gradient in one pass over the frames: each block of rows is scored and then folded
// into the gradient while it is still in cache, halving the memory traffic of two separate
// matrix-vector products (the frames of a concept do not fit in L2).
class Objective {
 public:
  static constexpr Eigen::Index kBlockRows = 256;

  Objective(const Problem& problem, double lambda)
      : frames_(problem.frames, static_cast<Eigen::Index>(problem.rows), static_cast<Eigen::Index>(problem.cols)),
        lambda_(lambda),
        signs_(static_cast<Eigen::Index>(problem.rows)),
        scaled_weights_(static_cast<Eigen::Index>(problem.rows)),
        weights_(static_cast<Eigen::Index>(problem.cols)),
        gradient_(static_cast<Eigen::Index>(problem.cols)),
        scores_(kBlockRows),
        margins_(kBlockRows),
        exp_neg_abs_(kBlockRows),
        residuals_(kBlockRows) {
    const float inverse_rows = 1.0f / static_cast<float>(problem.rows);
    for (std::size_t i = 0; i < problem.rows; ++i) {
      signs_[static_cast<Eigen::Index>(i)] = problem.labels[i] ? 1.0f : -1.0f;
      scaled_weights_[static_cast<Eigen::Index>(i)] = problem.row_weights[i] * inverse_rows;
    }
  }

  // Parameters: cols weights, then the bias.
  double operator()(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) {
    ++evaluations;
    const Eigen::Index cols = weights_.size();
    const Eigen::Index rows = frames_.rows();
    weights_ = parameters.head(cols).cast<float>();
    const float bias = static_cast<float>(parameters[cols]);
    gradient_.setZero();
    double data_loss = 0;
    double bias_gradient = 0;
    for (Eigen::Index start = 0; start < rows; start += kBlockRows) {
      const Eigen::Index n = std::min(kBlockRows, rows - start);
      const auto block = frames_.middleRows(start, n);
      const auto signs = signs_.segment(start, n).array();
      const auto row_weights = scaled_weights_.segment(start, n).array();
      auto scores = scores_.head(n);
      auto margins = margins_.head(n);
      auto exp_neg_abs = exp_neg_abs_.head(n);
      auto residuals = residuals_.head(n);
      scores.noalias() = block * weights_;
      // margin m = s (w.x + b); loss = log(1 + e^-m), computed without overflow.
      margins = signs * (scores.array() + bias);
      exp_neg_abs = (-margins.abs()).exp();
      data_loss += (row_weights * ((-margins).cwiseMax(0.0f) + (1.0f + exp_neg_abs).log())).sum();
      // d loss / d m = -sigmoid(-m)
      residuals.array() = -row_weights * signs *
                          (margins >= 0).select(exp_neg_abs / (1.0f + exp_neg_abs), 1.0f / (1.0f + exp_neg_abs));
      gradient_.noalias() += block.transpose() * residuals;
      bias_gradient += residuals.sum();
    }
    const Eigen::VectorXd w = parameters.head(cols);
    gradient.resize(parameters.size());
    gradient.head(cols) = gradient_.cast<double>() + lambda_ * w;
    gradient[cols] = bias_gradient;
    const double loss = data_loss + 0.5 * lambda_ * w.squaredNorm();
    if (loss < best_loss) {
      best_loss = loss;
      best_parameters = parameters;
    }
    return loss;
  }

  int evaluations = 0;
  double best_loss = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_parameters;

 private:
  RowMajorFrames frames_;
  double lambda_;
  Eigen::VectorXf signs_;
  Eigen::VectorXf scaled_weights_;
  Eigen::VectorXf weights_;
  Eigen::VectorXf gradient_;
  Eigen::VectorXf scores_;
  Eigen::ArrayXf margins_;
  Eigen::ArrayXf exp_neg_abs_;
  Eigen::VectorXf residuals_;
};

}  // namespace

Model fit(const Problem& problem, double lambda, const Model& start, const SolverOptions& options) {
  const auto cols = static_cast<Eigen::Index>(problem.cols);
  Eigen::VectorXd parameters = Eigen::VectorXd::Zero(cols + 1);
  if (start.weights.size() == problem.cols) {
    parameters.head(cols) = Eigen::Map<const Eigen::VectorXd>(start.weights.data(), cols);
    parameters[cols] = start.bias;
  }
  LBFGSpp::LBFGSParam<double> param;
  param.epsilon = options.gradient_tolerance;
  param.epsilon_rel = options.gradient_tolerance;
  param.max_iterations = options.max_iterations;
  LBFGSpp::LBFGSSolver<double> solver(param);
  Objective objective(problem, lambda);
  double loss = 0;
  Model model;
  try {
    solver.minimize(objective, parameters, loss);
  } catch (const std::exception&) {
    // LBFGSpp throws when its line search finds no step that lowers the loss, which happens once
    // the loss is flat to float precision; the best point evaluated is then the answer.
    parameters = objective.best_parameters;
  }
  if (!std::isfinite(objective.best_loss)) {
    throw InputError("training problem", "the loss is not finite anywhere (non-finite frames or weights?)");
  }
  model.evaluations = objective.evaluations;
  model.weights.assign(parameters.data(), parameters.data() + cols);
  model.bias = parameters[cols];
  return model;
}

void decision_function(const float* frames, std::size_t rows, std::size_t cols, std::span<const float> weights,
                       float bias, std::span<float> scores) {
  const RowMajorFrames matrix(frames, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  Eigen::Map<Eigen::VectorXf> out(scores.data(), static_cast<Eigen::Index>(rows));
  out.noalias() = matrix * Eigen::Map<const Eigen::VectorXf>(weights.data(), static_cast<Eigen::Index>(cols));
  out.array() += bias;
}

double balanced_accuracy(std::span<const float> scores, std::span<const std::uint8_t> labels) {
  std::uint64_t positives = 0, negatives = 0, true_positives = 0, true_negatives = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (labels[i]) {
      ++positives;
      true_positives += scores[i] > 0;
    } else {
      ++negatives;
      true_negatives += scores[i] <= 0;
    }
  }
  const double tpr = positives ? double(true_positives) / double(positives) : 0.0;
  const double tnr = negatives ? double(true_negatives) / double(negatives) : 0.0;
  return 0.5 * (tpr + tnr);
}

double roc_auc(std::span<const float> scores, std::span<const std::uint8_t> labels) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U: sum of positive ranks, tied scores sharing their mean rank.
  double positive_rank_sum = 0;
  std::uint64_t positives = 0;
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start + 1;
    while (end < order.size() && scores[order[end]] == scores[order[start]]) ++end;
    const double mean_rank = 0.5 * double(start + 1 + end);
    for (std::size_t k = start; k < end; ++k) {
      if (labels[order[k]]) {
        positive_rank_sum += mean_rank;
        ++positives;
      }
    }
    start = end;
  }
  const std::uint64_t negatives = scores.size() - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (positive_rank_sum - double(positives) * double(positives + 1) / 2) / (double(positives) * double(negatives));
}

std::vector<float> balanced_row_weights(std::span<const std::uint8_t> labels) {
  const auto positives = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), std::uint8_t{1}));
  const std::size_t negatives = labels.size() - positives;
  const float n = static_cast<float>(labels.size());
  const float positive_weight = positives ? n / (2.0f * float(positives)) : 0.0f;
  const float negative_weight = negatives ? n / (2.0f * float(negatives)) : 0.0f;
  std::vector<float> weights(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) weights[i] = labels[i] ? positive_weight : negative_weight;
  return weights;
}

Standardizer::Standardizer(const float* rows_data, std::size_t rows, std::size_t cols) : mean(cols, 0.0), scale(cols, 0.0) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t d = 0; d < cols; ++d) mean[d] += rows_data[r * cols + d];
  for (auto& m : mean) m /= double(rows);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t d = 0; d < cols; ++d) {
      const double centred = rows_data[r * cols + d] - mean[d];
      scale[d] += centred * centred;
    }
  // A constant feature keeps scale 1: it carries no information and must not divide by zero.
  for (auto& s : scale) s = s > 1e-24 * double(rows) ? std::sqrt(s / double(rows)) : 1.0;
}

void Standardizer::apply(float* rows_data, std::size_t rows) const {
  const std::size_t cols = mean.size();
  std::vector<float> m(mean.begin(), mean.end()), inv(cols);
  for (std::size_t d = 0; d < cols; ++d) inv[d] = static_cast<float>(1.0 / scale[d]);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t d = 0; d < cols; ++d) rows_data[r * cols + d] = (rows_data[r * cols + d] - m[d]) * inv[d];
}

std::pair<std::vector<float>, float> Standardizer::raw_direction(const Model& model) const {
  std::vector<float> weights(mean.size());
  double bias = model.bias;
  for (std::size_t d = 0; d < mean.size(); ++d) {
    const double raw = model.weights[d] / scale[d];
    weights[d] = static_cast<float>(raw);
    bias -= raw * mean[d];
  }
  return {std::move(weights), static_cast<float>(bias)};
}

}  // namespace conceptree::logistic
