// Internal: what a model backend (the transformer, the static embedding model) provides to the
// generic sentence pipeline in sentence_encoder.cc, which does tokenisation, prompts, batching,
// threads and the final L2 normalisation.
//
// Thread safety: EncodeBatch is const and is called concurrently from several threads, each
// writing its own disjoint rows of `out`.
#ifndef CLAIMMATCH_EMBEDDINGS_BACKEND_H_
#define CLAIMMATCH_EMBEDDINGS_BACKEND_H_

#include <vector>

#include "absl/types/span.h"
#include "embeddings/types.h"

namespace claimmatch {

class EncoderBackend {
 public:
  virtual ~EncoderBackend() = default;
  // Width of the pooled vectors.
  virtual int dim() const = 0;
  // Pools `seqs[i]` (token ids incl. <s> and </s>, never empty) into row `rows[i]` of `out`
  // (unnormalised). REQUIRES: seqs.size() == rows.size(); out has dim() columns.
  virtual void EncodeBatch(absl::Span<const std::vector<TokenId>* const> seqs,
                           absl::Span<const int> rows, EmbeddingMatrix& out) const = 0;
  // Whether mini-batching by token count helps (false for models with no per-batch cost).
  virtual bool wants_batches() const { return true; }
};

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_BACKEND_H_
