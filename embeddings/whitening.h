// Partial whitening of a sentence-embedding space: a dim x dim linear map estimated from sample
// sentence vectors. Applied to the rows of a mean-pooled static model (StaticTrainer::
// SetOutputTransform) it acts exactly on the pooled sentence vectors, so it costs nothing at
// encoding time.
//
// Thread safety: a pure function.
#ifndef CLAIMMATCH_EMBEDDINGS_WHITENING_H_
#define CLAIMMATCH_EMBEDDINGS_WHITENING_H_

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "embeddings/types.h"

namespace claimmatch {

// Returns the dim x dim partial-whitening map for sentence vectors `x` (n x dim unit rows): the
// mean direction projected out (when `remove_mean`), then each principal direction of the centred
// covariance scaled by eigenvalue^(-alpha/2), the scales normalised to mean 1. alpha 1 whitens,
// alpha 0 without remove_mean is the identity. Applied to a static model's rows it makes the
// sentence space more isotropic, which cosine similarity rewards (the "whitening" of Su et al.
// 2021, "all-but-the-top" of Mu & Viswanath 2018). Deterministic. Fails with kInvalidArgument
// (fewer than 2 rows, alpha outside [0, 2]).
absl::StatusOr<Eigen::MatrixXf> PartialWhitening(const EmbeddingMatrix& x, double alpha,
                                                 bool remove_mean);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_WHITENING_H_
