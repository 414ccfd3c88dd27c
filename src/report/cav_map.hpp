#pragma once
// A 2-D map of concepts: the first two principal components of their CAVs.

#include <array>
#include <cstdint>
#include <vector>

namespace conceptree {

struct CavMap {
  std::vector<std::array<double, 2>> points;   // one per CAV row, in row order
  std::array<double, 2> explained_variance{};  // share of the fitted rows' variance on each axis
  std::uint64_t fitted_rows = 0;
};

// `weights` is rows x dim, row-major. Each CAV is scaled to unit length (its norm reflects how
// strongly it was regularised, not what it points at), the dimensions are standardised over the
// rows marked in `fit` (all rows when fewer than two are marked), and every row is projected on
// the first two principal components of the fitted rows. Signs are fixed (largest loading
// positive) so the same inputs always give the same picture. Fewer than two rows: all at (0, 0).
CavMap pca_map(const std::vector<float>& weights, std::size_t rows, std::size_t dim, const std::vector<bool>& fit);

}  // namespace conceptree
