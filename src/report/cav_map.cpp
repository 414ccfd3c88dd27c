#include "report/cav_map.hpp"

#include <Eigen/Dense>

#include <algorithm>

namespace conceptree {

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Components {
  Eigen::MatrixXd axes;               // dim x 2, unit columns (a zero column when there is no such axis)
  std::array<double, 2> variance{};
  double total_variance = 0;
};

// The two leading principal axes of `standardised` (centred rows). Eigen has no partial
// eigensolver, so the smaller of the covariance (dim x dim) and the Gram matrix (rows x rows)
// is decomposed whole: at 3,500 concepts of 1,536 dimensions that is about a second.
Components leading_axes(const RowMatrix& standardised) {
  const Eigen::Index rows = standardised.rows(), dim = standardised.cols();
  const double denominator = static_cast<double>(rows - 1);
  Components components;
  components.axes = Eigen::MatrixXd::Zero(dim, 2);
  const bool use_covariance = dim <= rows;
  const Eigen::MatrixXd scatter = use_covariance ? Eigen::MatrixXd(standardised.transpose() * standardised / denominator)
                                                 : Eigen::MatrixXd(standardised * standardised.transpose() / denominator);
  components.total_variance = scatter.trace();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(scatter);
  const Eigen::Index size = scatter.rows();
  for (Eigen::Index k = 0; k < 2 && k < size; ++k) {
    // Eigenvalues come in increasing order.
    const double value = solver.eigenvalues()(size - 1 - k);
    if (!(value > 1e-12 * std::max(1.0, components.total_variance))) break;
    Eigen::VectorXd axis = solver.eigenvectors().col(size - 1 - k);
    if (!use_covariance) axis = standardised.transpose() * axis;  // a Gram eigenvector maps to a principal axis
    axis.normalize();
    Eigen::Index largest = 0;
    axis.cwiseAbs().maxCoeff(&largest);
    if (axis(largest) < 0) axis = -axis;
    components.axes.col(k) = axis;
    components.variance[static_cast<std::size_t>(k)] = value;
  }
  return components;
}

}  // namespace

CavMap pca_map(const std::vector<float>& weights, std::size_t rows, std::size_t dim, const std::vector<bool>& fit) {
  CavMap map;
  map.points.assign(rows, {0.0, 0.0});
  if (rows < 2 || dim == 0) return map;

  RowMatrix cavs = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
                       weights.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(dim))
                       .cast<double>();
  for (Eigen::Index r = 0; r < cavs.rows(); ++r) {
    const double norm = cavs.row(r).norm();
    if (norm > 0) cavs.row(r) /= norm;
  }

  std::vector<Eigen::Index> fitted;
  for (std::size_t r = 0; r < rows; ++r) {
    if (r < fit.size() && fit[r]) fitted.push_back(static_cast<Eigen::Index>(r));
  }
  if (fitted.size() < 2) {
    fitted.resize(rows);
    for (std::size_t r = 0; r < rows; ++r) fitted[r] = static_cast<Eigen::Index>(r);
  }
  RowMatrix sample(static_cast<Eigen::Index>(fitted.size()), cavs.cols());
  for (std::size_t i = 0; i < fitted.size(); ++i) sample.row(static_cast<Eigen::Index>(i)) = cavs.row(fitted[i]);

  const Eigen::RowVectorXd mean = sample.colwise().mean();
  sample.rowwise() -= mean;
  Eigen::RowVectorXd scale = (sample.colwise().squaredNorm() / static_cast<double>(sample.rows() - 1)).cwiseSqrt();
  // A dimension constant over the fitted rows carries no information; dividing by ~0 would make noise of it.
  scale = (scale.array() > 1e-12).select(scale, 1.0);
  sample.array().rowwise() /= scale.array();

  const Components components = leading_axes(sample);
  const RowMatrix standardised = (cavs.rowwise() - mean).array().rowwise() / scale.array();
  const Eigen::MatrixXd projected = standardised * components.axes;
  for (std::size_t r = 0; r < rows; ++r) {
    map.points[r] = {projected(static_cast<Eigen::Index>(r), 0), projected(static_cast<Eigen::Index>(r), 1)};
  }
  for (std::size_t k = 0; k < 2; ++k) {
    map.explained_variance[k] = components.total_variance > 0 ? components.variance[k] / components.total_variance : 0.0;
  }
  map.fitted_rows = fitted.size();
  return map;
}

}  // namespace conceptree
