#include "common/gemm.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <Eigen/Core>
#include <mutex>
#include <string_view>

namespace conceptree {

Gemm fastest_gemm() {
#ifdef EIGEN_VECTORIZE_AVX512
  const std::string_view core = openblas_get_corename();
  if (core != "SkylakeX" && core != "Cooperlake" && core != "SapphireRapids") return Gemm::Eigen;
#endif
  return Gemm::OpenBlas;
}

namespace {
// OpenBLAS's thread count is one setting for the whole process, so the scopes that change it are
// counted process-wide: the first saves the host's setting, the last restores it.
std::mutex blas_scope_mutex;
int blas_scopes = 0;
int host_blas_threads = 1;
}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  std::lock_guard lock(blas_scope_mutex);
  if (blas_scopes++ == 0) {
    host_blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  std::lock_guard lock(blas_scope_mutex);
  if (--blas_scopes == 0) openblas_set_num_threads(host_blas_threads);
}

std::string describe(Gemm gemm) {
  return gemm == Gemm::Eigen ? std::string("Eigen AVX-512") : fmt::format("OpenBLAS {}", openblas_get_corename());
}

void sgemm_row_major(Gemm gemm, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda, const float* b,
                     std::size_t ldb, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  if (gemm == Gemm::Eigen) {
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Stride = Eigen::OuterStride<>;
    const Eigen::Map<const RowMajor, 0, Stride> A(a, static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(k),
                                                  Stride(static_cast<Eigen::Index>(lda)));
    const Eigen::Map<const RowMajor, 0, Stride> B(b, static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(n),
                                                  Stride(static_cast<Eigen::Index>(ldb)));
    Eigen::Map<RowMajor, 0, Stride> C(c, static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(n), Stride(static_cast<Eigen::Index>(ldc)));
    C.noalias() = A * B;
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), 0.0f, c, static_cast<blasint>(ldc));
}

}  // namespace conceptree
