#include "embeddings/whitening.h"

#include <algorithm>

#include "Eigen/Eigenvalues"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace claimmatch {

absl::StatusOr<Eigen::MatrixXf> PartialWhitening(const EmbeddingMatrix& x, double alpha,
                                                 bool remove_mean) {
  if (x.rows() < 2) return absl::InvalidArgumentError("whitening needs at least 2 vectors");
  if (!(alpha >= 0 && alpha <= 2)) {
    return absl::InvalidArgumentError(absl::StrCat("whitening alpha ", alpha, " is not in [0, 2]"));
  }
  const int d = static_cast<int>(x.cols());
  const Eigen::MatrixXd xd = x.cast<double>();
  const Eigen::RowVectorXd mean = xd.colwise().mean();
  Eigen::MatrixXd map = Eigen::MatrixXd::Identity(d, d);
  if (remove_mean && mean.norm() > 0) {
    const Eigen::VectorXd u = mean.transpose() / mean.norm();
    map -= u * u.transpose();
  }
  if (alpha > 0) {
    const Eigen::MatrixXd centred = xd.rowwise() - mean;
    const Eigen::MatrixXd cov = centred.transpose() * centred / static_cast<double>(x.rows());
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
    // Floor tiny eigenvalues so that directions without variance are not blown up.
    const double floor = std::max(eig.eigenvalues().maxCoeff() * 1e-6, 1e-12);
    Eigen::VectorXd scale = eig.eigenvalues().cwiseMax(floor).array().pow(-alpha / 2);
    scale /= scale.mean();
    map = map * eig.eigenvectors() * scale.asDiagonal() * eig.eigenvectors().transpose();
  }
  return Eigen::MatrixXf(map.cast<float>());
}

}  // namespace claimmatch
