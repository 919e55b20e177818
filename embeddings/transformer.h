// The BERT-style post-LayerNorm transformer encoder used by XLM-RoBERTa sentence encoders
// (paraphrase-multilingual-MiniLM-L12-v2, multilingual-e5-*, ...), on Eigen:
//   x = LayerNorm(word[id] + position[pad_id + 1 + i] + token_type[0])
//   N x { x = LayerNorm(x + Wo * MultiHeadSelfAttention(x));  x = LayerNorm(x + W2 * GELU(W1 x)) }
// then pooling (mean over the sequence's tokens, first token, or per-dimension max).
//
// Layout: a mini-batch is PACKED, not padded: the tokens of all its sequences are stacked into one
// (total tokens x hidden) row-major matrix; every per-token step (projections, FFN, LayerNorm) is
// one GEMM over all of them, and attention runs per sequence on its own rows. This is exactly
// equivalent to padding + masking, and does no work for padding.
//
// Weights are borrowed from the Weights object (memory-mapped), which the Transformer owns.
// Thread safety: immutable after Create(); EncodeBatch / HiddenStates may run concurrently.
#ifndef CLAIMMATCH_EMBEDDINGS_TRANSFORMER_H_
#define CLAIMMATCH_EMBEDDINGS_TRANSFORMER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "embeddings/backend.h"
#include "embeddings/safetensors.h"
#include "embeddings/sentence_encoder.h"

namespace claimmatch {

struct ModelDir;

struct TransformerConfig {
  int vocab_size = 0;
  int hidden = 0;
  int layers = 0;
  int heads = 0;
  int intermediate = 0;
  int max_positions = 0;
  int type_vocab_size = 1;
  int pad_token_id = 1;
  int position_offset = 2;  // first position id: pad_token_id + 1 for (XLM-)RoBERTa
  float layer_norm_eps = 1e-5f;
};

class Transformer : public EncoderBackend {
 public:
  // Checks every tensor's presence and shape against `config` (naming the tensor on failure:
  // kNotFound / kFailedPrecondition) and returns the encoder.
  static absl::StatusOr<std::unique_ptr<Transformer>> Create(const TransformerConfig& config,
                                                             std::unique_ptr<Weights> weights,
                                                             Pooling pooling);

  int dim() const override { return config_.hidden; }
  void EncodeBatch(absl::Span<const std::vector<TokenId>* const> seqs, absl::Span<const int> rows,
                   EmbeddingMatrix& out) const override;

  // Hidden states of one sequence: [0] after the embedding layer, [l] after encoder layer l.
  std::vector<EmbeddingMatrix> HiddenStates(const std::vector<TokenId>& ids) const;

  const TransformerConfig& config() const { return config_; }

 private:
  struct LayerNormW {
    const float* gain;
    const float* bias;
  };
  struct Layer {
    const float* q_w;  // each [hidden, hidden] or [out, in], row-major
    const float* q_b;
    const float* k_w;
    const float* k_b;
    const float* v_w;
    const float* v_b;
    const float* o_w;
    const float* o_b;
    LayerNormW ln1;
    const float* i_w;  // [intermediate, hidden]
    const float* i_b;
    const float* f_w;  // [hidden, intermediate]
    const float* f_b;
    LayerNormW ln2;
  };

  Transformer(const TransformerConfig& config, std::unique_ptr<Weights> weights, Pooling pooling)
      : config_(config), weights_(std::move(weights)), pooling_(pooling) {}
  absl::Status Bind();
  // Runs the encoder over the packed batch; fills `x` with the final hidden states. When
  // `states` is non-null, appends the states after each stage.
  void Forward(absl::Span<const std::vector<TokenId>* const> seqs, EmbeddingMatrix& x,
               std::vector<EmbeddingMatrix>* states) const;

  TransformerConfig config_;
  std::unique_ptr<Weights> weights_;
  Pooling pooling_;
  const float* word_ = nullptr;      // [vocab, hidden]
  const float* position_ = nullptr;  // [max_positions, hidden]
  const float* type_ = nullptr;      // [type_vocab, hidden]
  LayerNormW emb_ln_{};
  std::vector<Layer> layers_;
};

// Reads a TransformerConfig from a transformers config.json (model_type xlm-roberta, roberta or
// camembert; hidden_act gelu). Fails with kInvalidArgument naming `file` and the field.
absl::StatusOr<TransformerConfig> ParseTransformerConfig(const std::string& file,
                                                         const ModelDir& dir);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_TRANSFORMER_H_
