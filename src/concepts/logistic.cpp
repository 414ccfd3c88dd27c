#include "concepts/logistic.hpp"

#include <Eigen/Core>
#include <LBFGS.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace conceptree::logistic {

namespace {

using RowMajorFrames = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

class Objective {
 public:
  Objective(const Problem& problem, double lambda)
      : frames_(problem.frames, static_cast<Eigen::Index>(problem.rows), static_cast<Eigen::Index>(problem.cols)),
        lambda_(lambda),
        signs_(static_cast<Eigen::Index>(problem.rows)),
        scaled_weights_(static_cast<Eigen::Index>(problem.rows)),
        scores_(static_cast<Eigen::Index>(problem.rows)),
        residuals_(static_cast<Eigen::Index>(problem.rows)),
        weights_(static_cast<Eigen::Index>(problem.cols)),
        gradient_(static_cast<Eigen::Index>(problem.cols)) {
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
    weights_ = parameters.head(cols).cast<float>();
    const float bias = static_cast<float>(parameters[cols]);
    scores_.noalias() = frames_ * weights_;
    // margin m = s (w.x + b); loss = log(1 + e^-m), computed without overflow.
    const Eigen::ArrayXf margins = signs_.array() * (scores_.array() + bias);
    const Eigen::ArrayXf exp_neg_abs = (-margins.abs()).exp();
    const Eigen::ArrayXf losses = (-margins).cwiseMax(0.0f) + exp_neg_abs.log1p();
    // d loss / d m = -sigmoid(-m)
    const Eigen::ArrayXf sigmoid_neg = (margins >= 0).select(exp_neg_abs / (1.0f + exp_neg_abs), 1.0f / (1.0f + exp_neg_abs));
    residuals_.array() = -scaled_weights_.array() * signs_.array() * sigmoid_neg;
    gradient_.noalias() = frames_.transpose() * residuals_;

    const Eigen::VectorXd w = parameters.head(cols);
    gradient.resize(parameters.size());
    gradient.head(cols) = gradient_.cast<double>() + lambda_ * w;
    gradient[cols] = static_cast<double>(residuals_.sum());
    return (scaled_weights_.array() * losses).cast<double>().sum() + 0.5 * lambda_ * w.squaredNorm();
  }

  int evaluations = 0;

 private:
  RowMajorFrames frames_;
  double lambda_;
  Eigen::VectorXf signs_;
  Eigen::VectorXf scaled_weights_;
  Eigen::VectorXf scores_;
  Eigen::VectorXf residuals_;
  Eigen::VectorXf weights_;
  Eigen::VectorXf gradient_;
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
  } catch (const std::runtime_error&) {
    // The line search gives up only when no step decreases the loss any further: the current
    // parameters are as good as float arithmetic allows.
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

}  // namespace conceptree::logistic
