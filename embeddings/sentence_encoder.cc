#include "embeddings/sentence_encoder.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <numeric>
#include <thread>

#include "absl/strings/str_cat.h"
#include "embeddings/backend.h"
#include "embeddings/model_dir.h"
#include "embeddings/safetensors.h"
#include "embeddings/static_model.h"
#include "embeddings/status_macros.h"
#include "embeddings/tokenizer.h"
#include "embeddings/transformer.h"

namespace claimmatch {
namespace {

// The generic pipeline: prompt -> tokenizer -> backend (pooled) -> optional L2 normalisation.
class PipelineEncoder : public SentenceEncoder {
 public:
  PipelineEncoder(ModelInfo info, std::unique_ptr<Tokenizer> tokenizer,
                  std::unique_ptr<EncoderBackend> backend, EncoderOptions options)
      : tokenizer_(std::move(tokenizer)), backend_(std::move(backend)), options_(options) {
    info_ = std::move(info);
  }

  std::vector<TokenId> Tokenize(absl::string_view text, TextRole role) const override {
    const std::string* prompt = Prompt(role);
    if (prompt == nullptr) return tokenizer_->Encode(text, info_.max_seq_length);
    return tokenizer_->Encode(absl::StrCat(*prompt, text), info_.max_seq_length);
  }

  absl::StatusOr<EmbeddingMatrix> Encode(absl::Span<const std::string> texts,
                                         TextRole role) const override {
    const int n = static_cast<int>(texts.size());
    EmbeddingMatrix out(n, info_.dim);
    if (n == 0) return out;
    std::vector<std::vector<TokenId>> ids(n);
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);

    // Mini-batches of similar length (sorted, stable for determinism), bounded in tokens.
    struct Batch {
      int begin, end;  // range in `order`
    };
    std::vector<Batch> batches;
    const int threads = std::max(1, std::min(options_.threads, n));
    if (backend_->wants_batches()) {
      for (int i = 0; i < n; ++i) ids[i] = Tokenize(texts[i], role);
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return ids[a].size() < ids[b].size(); });
      int begin = 0;
      size_t tokens = 0;
      for (int i = 0; i < n; ++i) {
        tokens += ids[order[i]].size();
        if (tokens > static_cast<size_t>(options_.max_batch_tokens) && i > begin) {
          batches.push_back({begin, i});
          begin = i;
          tokens = ids[order[i]].size();
        }
      }
      batches.push_back({begin, n});
    } else {
      const int per = (n + threads - 1) / threads;
      for (int b = 0; b < n; b += per) batches.push_back({b, std::min(n, b + per)});
    }

    std::atomic<size_t> next{0};
    auto worker = [&]() {
      std::vector<const std::vector<TokenId>*> seqs;
      for (size_t b = next++; b < batches.size(); b = next++) {
        const Batch& batch = batches[b];
        if (!backend_->wants_batches()) {
          for (int i = batch.begin; i < batch.end; ++i)
            ids[order[i]] = Tokenize(texts[order[i]], role);
        }
        seqs.clear();
        for (int i = batch.begin; i < batch.end; ++i) seqs.push_back(&ids[order[i]]);
        backend_->EncodeBatch(
            seqs, absl::MakeConstSpan(order).subspan(batch.begin, batch.end - batch.begin), out);
        if (info_.normalize) {
          for (int i = batch.begin; i < batch.end; ++i) {
            auto row = out.row(order[i]);
            const float norm = row.norm();
            if (norm > 0.f) row /= norm;  // a zero vector stays zero
          }
        }
      }
    };
    const int workers = std::min<int>(threads, static_cast<int>(batches.size()));
    std::vector<std::thread> pool;
    for (int t = 1; t < workers; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
    return out;
  }

 private:
  const std::string* Prompt(TextRole role) const {
    const char* const* keys = nullptr;
    static const char* const kQuery[] = {"query", nullptr};
    static const char* const kDocument[] = {"document", "passage", nullptr};
    if (role == TextRole::kQuery) keys = kQuery;
    if (role == TextRole::kDocument) keys = kDocument;
    if (keys == nullptr) return nullptr;
    for (; *keys != nullptr; ++keys) {
      auto it = info_.prompts.find(*keys);
      if (it != info_.prompts.end() && !it->second.empty()) return &it->second;
    }
    return nullptr;
  }

  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<EncoderBackend> backend_;
  EncoderOptions options_;
};

std::string BaseName(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SentenceEncoder>> LoadSentenceEncoder(
    absl::string_view dir, const EncoderOptions& options) {
  if (options.threads < 1 || options.max_batch_tokens < 1) {
    return absl::InvalidArgumentError("encoder threads and max_batch_tokens must be >= 1");
  }
  CM_ASSIGN_OR_RETURN(ModelDir md, ReadModelDir(dir));
  CM_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Tokenizer::Load(md.tokenizer_path));
  CM_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file,
                      SafetensorsFile::Open(md.weights_path));

  ModelInfo info;
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(std::string(dir), ec);
  info.path = ec ? std::string(dir) : absolute.lexically_normal().string();
  while (info.path.size() > 1 && info.path.back() == '/') info.path.pop_back();
  info.name = BaseName(dir);
  info.model_type = md.model_type;
  info.weights_hash = FingerprintHex(file->fingerprint());
  info.pooling = md.pooling;
  info.normalize = md.normalize;
  info.prompts = md.prompts;

  std::unique_ptr<EncoderBackend> backend;
  const std::string config_path = JoinPath(dir, "config.json");
  if (md.model_type == kStaticModelType) {
    CM_ASSIGN_OR_RETURN(backend, CreateStaticBackend(md, std::move(file), tokenizer->vocab_size()));
    info.max_seq_length = md.max_seq_length;
  } else {
    CM_ASSIGN_OR_RETURN(TransformerConfig tc, ParseTransformerConfig(config_path, md));
    if (tokenizer->vocab_size() > tc.vocab_size) {
      return absl::FailedPreconditionError(
          absl::StrCat(md.tokenizer_path, ": the tokenizer has ", tokenizer->vocab_size(),
                       " ids but config.json's vocab_size is ", tc.vocab_size));
    }
    info.max_seq_length = std::min(md.max_seq_length, tc.max_positions - tc.position_offset);
    CM_ASSIGN_OR_RETURN(
        backend, Transformer::Create(tc, std::make_unique<Weights>(std::move(file)), md.pooling));
  }
  info.dim = backend->dim();
  if (md.pooling_dim != 0 && md.pooling_dim != info.dim) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, "/1_Pooling/config.json: word_embedding_dimension ", md.pooling_dim,
                     " does not match the model's hidden size ", info.dim));
  }
  return std::unique_ptr<SentenceEncoder>(
      new PipelineEncoder(std::move(info), std::move(tokenizer), std::move(backend), options));
}

}  // namespace claimmatch
