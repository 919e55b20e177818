// Text -> unit vectors. A SentenceEncoder is loaded from a sentence-transformers model directory
// exactly as published on the Hugging Face hub (no conversion step):
//   modules.json                     the pipeline (Transformer|StaticEmbedding -> Pooling ->
//   Normalize) config.json                      architecture ("xlm-roberta"/"bert"/... or
//   "claimmatch-static") model.safetensors                weights (F32/F16/BF16)
//   sentencepiece.bpe.model          tokenizer (or tokenizer.model / sentencepiece.model)
//   sentence_bert_config.json        max_seq_length
//   1_Pooling/config.json            pooling mode (mean, cls, max)
//   2_Normalize/                     L2 normalisation, when listed in modules.json
//   config_sentence_transformers.json  optional prompts ({"prompts": {"query": "query: ", ...}})
//
// Output: an n x dim() EmbeddingMatrix, row i for texts[i], in input order; unit rows when the
// pipeline normalises. Results do not depend on how texts are batched (to ~1e-6).
//
// Thread safety: a loaded encoder is immutable; Encode() may run concurrently from many threads.
// Each Encode() call itself uses up to `threads` worker threads (across mini-batches).
#ifndef CLAIMMATCH_EMBEDDINGS_SENTENCE_ENCODER_H_
#define CLAIMMATCH_EMBEDDINGS_SENTENCE_ENCODER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "embeddings/types.h"

namespace claimmatch {

enum class Pooling { kMean, kCls, kMax };

// Which prompt of config_sentence_transformers.json to prepend ("query: " for e5 queries).
enum class TextRole { kNone, kQuery, kDocument };

// What identifies a model: written into every claim database built with it.
struct ModelInfo {
  std::string path;          // the directory it was loaded from
  std::string name;          // directory base name
  std::string model_type;    // config.json model_type
  std::string weights_hash;  // 16 hex digits: fingerprint of model.safetensors
  int dim = 0;
  int max_seq_length = 0;
  Pooling pooling = Pooling::kMean;
  bool normalize = true;
  std::map<std::string, std::string> prompts;  // role name -> prefix
};

struct EncoderOptions {
  int threads = 2;              // worker threads per Encode() call (>= 1)
  int max_batch_tokens = 4096;  // mini-batch size, in tokens
};

class SentenceEncoder {
 public:
  virtual ~SentenceEncoder() = default;

  // Returns one row per text. Fails only on internal errors (never on text content: any bytes,
  // including invalid UTF-8, give a vector).
  virtual absl::StatusOr<EmbeddingMatrix> Encode(absl::Span<const std::string> texts,
                                                 TextRole role = TextRole::kNone) const = 0;
  // The token ids the model sees for `text` (after the prompt and truncation).
  virtual std::vector<TokenId> Tokenize(absl::string_view text,
                                        TextRole role = TextRole::kNone) const = 0;

  const ModelInfo& info() const { return info_; }
  int dim() const { return info_.dim; }

 protected:
  ModelInfo info_;
};

// Loads the model directory `dir`. Fails with kNotFound (missing file, named), kInvalidArgument
// (a config with an unknown architecture, pooling or module, named with the file), kDataLoss or
// kFailedPrecondition (weights that are corrupt or do not fit the config, tensor named).
absl::StatusOr<std::unique_ptr<SentenceEncoder>> LoadSentenceEncoder(
    absl::string_view dir, const EncoderOptions& options = {});

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_SENTENCE_ENCODER_H_
