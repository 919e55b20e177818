#include "embeddings/static_model.h"

#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"
#include "nlohmann/json.hpp"

namespace claimmatch {
namespace {

using json = nlohmann::json;

class StaticBackend : public EncoderBackend {
 public:
  StaticBackend(std::unique_ptr<Weights> weights, Weights::MatrixMap embeddings,
                const float* token_weights)
      : weights_(std::move(weights)), embeddings_(embeddings), token_weights_(token_weights) {}

  int dim() const override { return static_cast<int>(embeddings_.cols()); }
  bool wants_batches() const override { return false; }

  void EncodeBatch(absl::Span<const std::vector<TokenId>* const> seqs, absl::Span<const int> rows,
                   EmbeddingMatrix& out) const override {
    const TokenId vocab = static_cast<TokenId>(embeddings_.rows());
    for (size_t i = 0; i < seqs.size(); ++i) {
      auto row = out.row(rows[i]);
      row.setZero();
      int count = 0;
      for (TokenId id : *seqs[i]) {
        if (id < kFirstPooledId || id >= vocab) continue;
        if (token_weights_ != nullptr) {
          row.noalias() += token_weights_[id] * embeddings_.row(id);
        } else {
          row.noalias() += embeddings_.row(id);
        }
        ++count;
      }
      if (count > 0) row /= static_cast<float>(count);
    }
  }

 private:
  std::unique_ptr<Weights> weights_;  // owns the memory the maps below borrow
  Weights::MatrixMap embeddings_;
  const float* token_weights_;  // nullptr, or vocab entries inside *weights_
};

absl::Status WriteJson(absl::string_view path, const json& j) {
  return WriteFileAtomically(path, j.dump(2) + "\n");
}

}  // namespace

absl::Status SaveStaticModel(absl::string_view dir, absl::string_view tokenizer_model,
                             const EmbeddingMatrix& embeddings,
                             absl::Span<const float> token_weights,
                             const StaticModelSaveOptions& options) {
  const int64_t vocab = embeddings.rows();
  const int64_t dim = embeddings.cols();
  if (vocab == 0 || dim == 0) return absl::InvalidArgumentError("empty embedding matrix");
  if (!token_weights.empty() && static_cast<int64_t>(token_weights.size()) != vocab) {
    return absl::InvalidArgumentError(absl::StrCat("token_weights has ", token_weights.size(),
                                                   " entries for ", vocab, " embedding rows"));
  }
  std::error_code ec;
  std::filesystem::create_directories(std::string(JoinPath(dir, "1_Pooling")), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::filesystem::create_directories(std::string(JoinPath(dir, "2_Normalize")), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));

  const DType dtype = options.fp16 ? DType::kF16 : DType::kF32;
  std::vector<TensorToWrite> tensors;
  tensors.push_back({kStaticEmbeddingTensor,
                     {vocab, dim},
                     absl::MakeConstSpan(embeddings.data(), embeddings.size()),
                     dtype});
  if (!token_weights.empty()) {
    tensors.push_back({kStaticTokenWeightsTensor, {vocab}, token_weights, dtype});
  }
  CM_ASSIGN_OR_RETURN(std::string bytes, SerializeSafetensors(tensors, options.metadata));
  CM_RETURN_IF_ERROR(WriteFileAtomically(JoinPath(dir, "model.safetensors"), bytes));
  CM_RETURN_IF_ERROR(
      WriteFileAtomically(JoinPath(dir, "sentencepiece.bpe.model"), tokenizer_model));
  CM_RETURN_IF_ERROR(WriteJson(JoinPath(dir, "config.json"),
                               {{"model_type", kStaticModelType},
                                {"architectures", {"StaticEmbedding"}},
                                {"vocab_size", vocab},
                                {"hidden_size", dim},
                                {"torch_dtype", options.fp16 ? "float16" : "float32"}}));
  CM_RETURN_IF_ERROR(
      WriteJson(JoinPath(dir, "sentence_bert_config.json"),
                {{"max_seq_length", options.max_seq_length}, {"do_lower_case", false}}));
  CM_RETURN_IF_ERROR(
      WriteJson(JoinPath(dir, "modules.json"),
                json::array({{{"idx", 0},
                              {"name", "0"},
                              {"path", ""},
                              {"type", "sentence_transformers.models.StaticEmbedding"}},
                             {{"idx", 1},
                              {"name", "1"},
                              {"path", "1_Pooling"},
                              {"type", "sentence_transformers.models.Pooling"}},
                             {{"idx", 2},
                              {"name", "2"},
                              {"path", "2_Normalize"},
                              {"type", "sentence_transformers.models.Normalize"}}})));
  CM_RETURN_IF_ERROR(WriteJson(JoinPath(dir, "1_Pooling/config.json"),
                               {{"word_embedding_dimension", dim},
                                {"pooling_mode_cls_token", false},
                                {"pooling_mode_mean_tokens", true},
                                {"pooling_mode_max_tokens", false},
                                {"pooling_mode_mean_sqrt_len_tokens", false}}));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<EncoderBackend>> CreateStaticBackend(
    const ModelDir& md, std::unique_ptr<SafetensorsFile> file, int tokenizer_vocab_size) {
  const std::string config_path = JoinPath(md.path, "config.json");
  const json& cfg = md.config;
  for (const char* key : {"vocab_size", "hidden_size"}) {
    if (!cfg.contains(key) || !cfg[key].is_number_integer() || cfg[key].get<int64_t>() < 1 ||
        cfg[key].get<int64_t>() > (int64_t{1} << 24)) {
      return absl::InvalidArgumentError(
          absl::StrCat(config_path, ": \"", key, "\" must be a positive whole number"));
    }
  }
  const int64_t vocab = cfg["vocab_size"].get<int64_t>();
  const int64_t dim = cfg["hidden_size"].get<int64_t>();
  if (tokenizer_vocab_size > vocab) {
    return absl::FailedPreconditionError(
        absl::StrCat(md.tokenizer_path, ": the tokenizer has ", tokenizer_vocab_size,
                     " ids but config.json's vocab_size is ", vocab));
  }
  if (md.pooling != Pooling::kMean) {
    return absl::InvalidArgumentError(
        absl::StrCat(md.path, ": a claimmatch-static model supports mean pooling only"));
  }
  auto weights = std::make_unique<Weights>(std::move(file));
  CM_ASSIGN_OR_RETURN(Weights::MatrixMap embeddings,
                      weights->Matrix(kStaticEmbeddingTensor, vocab, dim));
  const float* token_weights = nullptr;
  if (weights->Has(kStaticTokenWeightsTensor)) {
    CM_ASSIGN_OR_RETURN(Weights::VectorMap w, weights->Vector(kStaticTokenWeightsTensor, vocab));
    token_weights = w.data();
  }
  return std::unique_ptr<EncoderBackend>(
      new StaticBackend(std::move(weights), embeddings, token_weights));
}

}  // namespace claimmatch
