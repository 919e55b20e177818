// The static sentence-embedding model ("claimmatch-static"; the model2vec / sentence-transformers
// StaticEmbedding approach): sentencepiece ids -> one learned vector per id -> mean over the
// sentence's tokens (each optionally scaled by a learned per-token weight) -> L2 normalisation.
//
// A static model is an ordinary sentence-transformers directory, loaded by LoadSentenceEncoder()
// like any transformer (sentence_encoder.cc dispatches on config.json's model_type):
//   modules.json               StaticEmbedding (path "") -> 1_Pooling (mean) -> 2_Normalize
//   config.json                {"model_type": "claimmatch-static", "vocab_size": V,
//                               "hidden_size": D}
//   model.safetensors          "embedding.weight" [V, D] (F32 or F16) and optionally
//                              "token_weights" [V] (F32 or F16); metadata is free-form
//   sentencepiece.bpe.model    the tokenizer (XLM-R id mapping, see tokenizer.h)
//   sentence_bert_config.json  max_seq_length
// Pooling skips the special ids <s>, <pad>, </s> and <unk> (ids 0-3); a text with no other token
// gets the zero vector.
//
// Thread safety: a backend is immutable; EncodeBatch may run concurrently. SaveStaticModel is
// reentrant for distinct directories.
#ifndef CLAIMMATCH_EMBEDDINGS_STATIC_MODEL_H_
#define CLAIMMATCH_EMBEDDINGS_STATIC_MODEL_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "embeddings/backend.h"
#include "embeddings/model_dir.h"
#include "embeddings/safetensors.h"
#include "embeddings/types.h"

namespace claimmatch {

inline constexpr char kStaticModelType[] = "claimmatch-static";
inline constexpr char kStaticEmbeddingTensor[] = "embedding.weight";
inline constexpr char kStaticTokenWeightsTensor[] = "token_weights";
// Ids below this are special (<s>, <pad>, </s>, <unk>) and are not pooled.
inline constexpr TokenId kFirstPooledId = 4;

struct StaticModelSaveOptions {
  bool fp16 = true;                             // store the tensors as F16 (half the size)
  int max_seq_length = 512;                     // tokens per text, incl. <s> and </s>
  std::map<std::string, std::string> metadata;  // written into model.safetensors
};

// Writes a complete static model directory `dir` (created if missing; files replaced
// atomically): `embeddings` is vocab x dim, `token_weights` empty or one weight per row,
// `tokenizer_model` the serialized sentencepiece model. Returns OK; fails with kInvalidArgument
// (empty matrix, weight count != rows), kInternal (I/O, path named).
absl::Status SaveStaticModel(absl::string_view dir, absl::string_view tokenizer_model,
                             const EmbeddingMatrix& embeddings,
                             absl::Span<const float> token_weights,
                             const StaticModelSaveOptions& options = {});

// Internal, for sentence_encoder.cc: the backend of a static model directory `md` whose weights
// file is `file`, for a tokenizer with `tokenizer_vocab_size` ids. Fails with kInvalidArgument
// (config.json without vocab_size/hidden_size), kNotFound / kFailedPrecondition (tensor missing
// or of the wrong shape, named), kFailedPrecondition (tokenizer larger than the vocabulary).
absl::StatusOr<std::unique_ptr<EncoderBackend>> CreateStaticBackend(
    const ModelDir& md, std::unique_ptr<SafetensorsFile> file, int tokenizer_vocab_size);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_STATIC_MODEL_H_
