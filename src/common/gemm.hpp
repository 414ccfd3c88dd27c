#pragma once
// Which single-precision GEMM conceptree uses, shared by the components that multiply big float
// matrices (similarity scoring, the musicnn-vgg convolutions).
//
// OpenBLAS when its kernels use AVX-512; else Eigen's GEMM when this build has AVX-512
// (-march=native): on the development machine, with OpenBLAS held to its AVX2 kernels
// (OPENBLAS_CORETYPE=Haswell), Eigen runs 140 GFLOP/s per core to OpenBLAS's 100.
// Both run single-threaded here (EIGEN_DONT_PARALLELIZE; OpenBLAS while a SingleThreadedBlas
// lives): conceptree parallelises around its GEMM calls with OpenMP.

#include <cstddef>
#include <string>

namespace conceptree {

enum class Gemm { OpenBlas, Eigen };

Gemm fastest_gemm();
// "Eigen AVX-512" or "OpenBLAS <core>", for logs and provenance.
std::string describe(Gemm gemm);

// OpenBLAS runs single-threaded while at least one of these lives (OpenBLAS's own threads inside
// conceptree's OpenMP threads would oversubscribe the cores); when the last one ends the thread
// count the host process had is restored, so a numpy beside conceptree keeps its setting.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
  ~SingleThreadedBlas();
};

// C = A * B, all row-major: A is m x k (row stride lda), B is k x n (ldb), C is m x n (ldc).
void sgemm_row_major(Gemm gemm, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda, const float* b,
                     std::size_t ldb, float* c, std::size_t ldc);

}  // namespace conceptree
