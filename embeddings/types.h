// The one data convention of claimmatch, written once (as FAISS's Index.h does): n vectors of
// dimension d are a compact row-major float matrix, row i = vector i, so `x.data()[i * d + j]` is
// component j of vector i and the buffer goes to FAISS without a copy. Sentence embeddings are
// L2-normalised rows, so inner product = cosine.
#ifndef CLAIMMATCH_EMBEDDINGS_TYPES_H_
#define CLAIMMATCH_EMBEDDINGS_TYPES_H_

#include <cstdint>

#include "Eigen/Core"

namespace claimmatch {

using EmbeddingMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using EmbeddingRow = Eigen::Matrix<float, 1, Eigen::Dynamic, Eigen::RowMajor>;
using TokenId = int32_t;

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_TYPES_H_
