#include "embeddings/static_model.h"

#if defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <cstring>
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

// row[0, dim) += w * float(half[0, dim)), or += float(half[...]) when `weights` is false, with
// `half` the F16 bytes of one embedding row (any alignment). F16 -> F32 is exact, so this gives
// the same sums as widening the table first, in half the memory traffic.
void AddHalfRow(const char* half, float w, bool weighted, float* row, int64_t dim) {
  int64_t j = 0;
#if defined(__AVX512F__)
  const __m512 w16 = _mm512_set1_ps(w);
  for (; j + 16 <= dim; j += 16) {
    const __m512 v =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(half + 2 * j)));
    const __m512 acc = _mm512_loadu_ps(row + j);
    _mm512_storeu_ps(row + j, _mm512_add_ps(acc, weighted ? _mm512_mul_ps(w16, v) : v));
  }
#endif
#if defined(__F16C__) && defined(__AVX__)
  const __m256 w8 = _mm256_set1_ps(w);
  for (; j + 8 <= dim; j += 8) {
    const __m256 v =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(half + 2 * j)));
    const __m256 acc = _mm256_loadu_ps(row + j);
    _mm256_storeu_ps(row + j, _mm256_add_ps(acc, weighted ? _mm256_mul_ps(w8, v) : v));
  }
#endif
  for (; j < dim; ++j) {
    uint16_t h;
    std::memcpy(&h, half + 2 * j, sizeof(h));
    row[j] += weighted ? w * HalfToFloat(h) : HalfToFloat(h);
  }
}

// The embedding table is used as stored: F32 rows (`full`, in place or widened once by Weights),
// or F16 rows read in place from the mapped file (`half`) and widened while summing.
class StaticBackend : public EncoderBackend {
 public:
  StaticBackend(std::unique_ptr<Weights> weights, const float* full, const char* half,
                int64_t vocab, int64_t dim, const float* token_weights)
      : weights_(std::move(weights)),
        embeddings_(full, full != nullptr ? vocab : 0, dim),
        half_(half),
        vocab_(vocab),
        dim_(dim),
        token_weights_(token_weights) {}

  int dim() const override { return static_cast<int>(dim_); }
  bool wants_batches() const override { return false; }

  void EncodeBatch(absl::Span<const std::vector<TokenId>* const> seqs, absl::Span<const int> rows,
                   EmbeddingMatrix& out) const override {
    for (size_t i = 0; i < seqs.size(); ++i) {
      auto row = out.row(rows[i]);
      row.setZero();
      int count = 0;
      const std::vector<TokenId>& ids = *seqs[i];
      constexpr size_t kAhead = 6;
      if (half_ != nullptr) {
        for (size_t k = 0; k < std::min(kAhead, ids.size()); ++k) {
          if (ids[k] >= vocab_) continue;
          const char* row_k = half_ + 2 * dim_ * ids[k];
          for (int64_t b = 0; b < 2 * dim_; b += 64) __builtin_prefetch(row_k + b);
        }
      }
      for (size_t k = 0; k < ids.size(); ++k) {
        const TokenId id = ids[k];
        // The table is far larger than the caches: fetch the next row while adding this one.
        if (half_ != nullptr && k + kAhead < ids.size() && ids[k + kAhead] < vocab_) {
          const char* next = half_ + 2 * dim_ * ids[k + kAhead];
          for (int64_t b = 0; b < 2 * dim_; b += 64) __builtin_prefetch(next + b);
        }
        if (id < kFirstPooledId || id >= vocab_) continue;
        const float w = token_weights_ != nullptr ? token_weights_[id] : 1.f;
        if (half_ != nullptr) {
          AddHalfRow(half_ + 2 * dim_ * id, w, token_weights_ != nullptr, row.data(), dim_);
        } else if (token_weights_ != nullptr) {
          row.noalias() += w * embeddings_.row(id);
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
  Weights::MatrixMap embeddings_;     // unused (empty) when half_ is set
  const char* half_;                  // nullptr, or vocab_ x dim_ F16 values inside *weights_
  int64_t vocab_, dim_;
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
  // An F16 table stored under its exact name is summed in place; anything else is widened once.
  const TensorInfo* table = weights->file().Find(kStaticEmbeddingTensor);
  const char* half = nullptr;
  const float* full = nullptr;
  if (table != nullptr && table->dtype == DType::kF16 && table->shape.size() == 2 &&
      table->shape[0] == vocab && table->shape[1] == dim) {
    half = table->bytes.data();
  } else {
    CM_ASSIGN_OR_RETURN(Weights::MatrixMap m, weights->Matrix(kStaticEmbeddingTensor, vocab, dim));
    full = m.data();
  }
  const float* token_weights = nullptr;
  if (weights->Has(kStaticTokenWeightsTensor)) {
    CM_ASSIGN_OR_RETURN(Weights::VectorMap w, weights->Vector(kStaticTokenWeightsTensor, vocab));
    token_weights = w.data();
  }
  return std::unique_ptr<EncoderBackend>(
      new StaticBackend(std::move(weights), full, half, vocab, dim, token_weights));
}

}  // namespace claimmatch
