#include "embeddings/transformer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "embeddings/model_dir.h"
#include "embeddings/status_macros.h"
#include "unsupported/Eigen/SpecialFunctions"

namespace claimmatch {
namespace {

using RowMatrix = EmbeddingMatrix;
using ConstMap = Eigen::Map<const RowMatrix>;
using ConstVec = Eigen::Map<const Eigen::RowVectorXf>;

// out = in * W^T + b, W is [out_dim, in_dim] row-major (PyTorch Linear).
void Linear(const RowMatrix& in, const float* w, const float* b, int out_dim, RowMatrix& out) {
  const ConstMap weight(w, out_dim, in.cols());
  out.resize(in.rows(), out_dim);
  out.noalias() = in * weight.transpose();
  out.rowwise() += ConstVec(b, out_dim);
}

// In-place row-wise LayerNorm (biased variance, as PyTorch).
void LayerNorm(RowMatrix& x, const float* gain, const float* bias, float eps) {
  const ConstVec g(gain, x.cols());
  const ConstVec b(bias, x.cols());
  const float inv_n = 1.0f / static_cast<float>(x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    auto row = x.row(r);
    const float mean = row.sum() * inv_n;
    row.array() -= mean;
    const float var = row.squaredNorm() * inv_n;
    const float inv_std = 1.0f / std::sqrt(var + eps);
    row = (row.array() * inv_std * g.array() + b.array()).matrix();
  }
}

// GELU with the exact erf form (transformers' "gelu").
void Gelu(RowMatrix& x) {
  auto a = x.array();
  a = 0.5f * a * (1.0f + (a * static_cast<float>(M_SQRT1_2)).erf());
}

absl::Status Invalid(const std::string& file, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": ", what));
}

absl::StatusOr<int> GetInt(const std::string& file, const nlohmann::json& cfg, const char* key,
                           bool required, int fallback) {
  if (!cfg.contains(key)) {
    if (required) return Invalid(file, absl::StrCat("missing \"", key, "\""));
    return fallback;
  }
  const nlohmann::json& v = cfg[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (1 << 24)) {
    return Invalid(file, absl::StrCat("\"", key, "\" must be a whole number in [0, 2^24]"));
  }
  return v.get<int>();
}

}  // namespace

absl::StatusOr<TransformerConfig> ParseTransformerConfig(const std::string& file,
                                                         const ModelDir& dir) {
  try {
    const nlohmann::json& cfg = dir.config;
    if (dir.model_type != "xlm-roberta" && dir.model_type != "roberta" &&
        dir.model_type != "camembert") {
      return Invalid(file, absl::StrCat("unsupported architecture model_type \"", dir.model_type,
                                        "\" (supported: xlm-roberta, roberta, camembert, "
                                        "claimmatch-static)"));
    }
    const std::string act = cfg.value("hidden_act", std::string("gelu"));
    if (act != "gelu") {
      return Invalid(file, absl::StrCat("unsupported hidden_act \"", act, "\" (supported: gelu)"));
    }
    if (cfg.contains("position_embedding_type") && cfg["position_embedding_type"] != "absolute") {
      return Invalid(file, "unsupported position_embedding_type (supported: absolute)");
    }
    TransformerConfig c;
    CM_ASSIGN_OR_RETURN(c.vocab_size, GetInt(file, cfg, "vocab_size", true, 0));
    CM_ASSIGN_OR_RETURN(c.hidden, GetInt(file, cfg, "hidden_size", true, 0));
    CM_ASSIGN_OR_RETURN(c.layers, GetInt(file, cfg, "num_hidden_layers", true, 0));
    CM_ASSIGN_OR_RETURN(c.heads, GetInt(file, cfg, "num_attention_heads", true, 0));
    CM_ASSIGN_OR_RETURN(c.intermediate, GetInt(file, cfg, "intermediate_size", true, 0));
    CM_ASSIGN_OR_RETURN(c.max_positions, GetInt(file, cfg, "max_position_embeddings", true, 0));
    CM_ASSIGN_OR_RETURN(c.type_vocab_size, GetInt(file, cfg, "type_vocab_size", false, 1));
    CM_ASSIGN_OR_RETURN(c.pad_token_id, GetInt(file, cfg, "pad_token_id", false, 1));
    c.position_offset = c.pad_token_id + 1;
    if (cfg.contains("layer_norm_eps")) {
      if (!cfg["layer_norm_eps"].is_number())
        return Invalid(file, "\"layer_norm_eps\" is not a number");
      c.layer_norm_eps = cfg["layer_norm_eps"].get<float>();
    }
    if (c.hidden == 0 || c.heads == 0 || c.hidden % c.heads != 0) {
      return Invalid(file, "hidden_size must be a positive multiple of num_attention_heads");
    }
    if (c.vocab_size == 0 || c.layers == 0 || c.intermediate == 0 || c.type_vocab_size == 0) {
      return Invalid(file,
                     "vocab_size, num_hidden_layers, intermediate_size and type_vocab_size "
                     "must be positive");
    }
    if (c.max_positions <= c.position_offset + 1) {
      return Invalid(file, "max_position_embeddings is too small");
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(file, ": unexpected JSON: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<Transformer>> Transformer::Create(const TransformerConfig& config,
                                                                 std::unique_ptr<Weights> weights,
                                                                 Pooling pooling) {
  std::unique_ptr<Transformer> t(new Transformer(config, std::move(weights), pooling));
  CM_RETURN_IF_ERROR(t->Bind());
  return t;
}

absl::Status Transformer::Bind() {
  const Weights& w = *weights_;
  const int h = config_.hidden;
  auto mat = [&](const std::string& name, int rows, int cols) -> absl::StatusOr<const float*> {
    CM_ASSIGN_OR_RETURN(auto m, w.Matrix(name, rows, cols));
    return m.data();
  };
  auto vec = [&](const std::string& name, int n) -> absl::StatusOr<const float*> {
    CM_ASSIGN_OR_RETURN(auto v, w.Vector(name, n));
    return v.data();
  };
  CM_ASSIGN_OR_RETURN(word_, mat("embeddings.word_embeddings.weight", config_.vocab_size, h));
  CM_ASSIGN_OR_RETURN(position_,
                      mat("embeddings.position_embeddings.weight", config_.max_positions, h));
  CM_ASSIGN_OR_RETURN(type_,
                      mat("embeddings.token_type_embeddings.weight", config_.type_vocab_size, h));
  CM_ASSIGN_OR_RETURN(emb_ln_.gain, vec("embeddings.LayerNorm.weight", h));
  CM_ASSIGN_OR_RETURN(emb_ln_.bias, vec("embeddings.LayerNorm.bias", h));
  layers_.resize(config_.layers);
  for (int l = 0; l < config_.layers; ++l) {
    const std::string p = absl::StrCat("encoder.layer.", l, ".");
    Layer& L = layers_[l];
    CM_ASSIGN_OR_RETURN(L.q_w, mat(p + "attention.self.query.weight", h, h));
    CM_ASSIGN_OR_RETURN(L.q_b, vec(p + "attention.self.query.bias", h));
    CM_ASSIGN_OR_RETURN(L.k_w, mat(p + "attention.self.key.weight", h, h));
    CM_ASSIGN_OR_RETURN(L.k_b, vec(p + "attention.self.key.bias", h));
    CM_ASSIGN_OR_RETURN(L.v_w, mat(p + "attention.self.value.weight", h, h));
    CM_ASSIGN_OR_RETURN(L.v_b, vec(p + "attention.self.value.bias", h));
    CM_ASSIGN_OR_RETURN(L.o_w, mat(p + "attention.output.dense.weight", h, h));
    CM_ASSIGN_OR_RETURN(L.o_b, vec(p + "attention.output.dense.bias", h));
    CM_ASSIGN_OR_RETURN(L.ln1.gain, vec(p + "attention.output.LayerNorm.weight", h));
    CM_ASSIGN_OR_RETURN(L.ln1.bias, vec(p + "attention.output.LayerNorm.bias", h));
    CM_ASSIGN_OR_RETURN(L.i_w, mat(p + "intermediate.dense.weight", config_.intermediate, h));
    CM_ASSIGN_OR_RETURN(L.i_b, vec(p + "intermediate.dense.bias", config_.intermediate));
    CM_ASSIGN_OR_RETURN(L.f_w, mat(p + "output.dense.weight", h, config_.intermediate));
    CM_ASSIGN_OR_RETURN(L.f_b, vec(p + "output.dense.bias", h));
    CM_ASSIGN_OR_RETURN(L.ln2.gain, vec(p + "output.LayerNorm.weight", h));
    CM_ASSIGN_OR_RETURN(L.ln2.bias, vec(p + "output.LayerNorm.bias", h));
  }
  return absl::OkStatus();
}

void Transformer::Forward(absl::Span<const std::vector<TokenId>* const> seqs, RowMatrix& x,
                          std::vector<EmbeddingMatrix>* states) const {
  const int h = config_.hidden;
  const int heads = config_.heads;
  const int dh = h / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  Eigen::Index total = 0;
  for (const auto* s : seqs) total += static_cast<Eigen::Index>(s->size());

  // Embeddings. Ids outside the vocabulary become <unk> (3); positions past the table are
  // impossible because the tokenizer truncates to max_seq_length <= max_positions - offset.
  x.resize(total, h);
  const ConstVec type0(type_, h);
  Eigen::Index r = 0;
  for (const auto* s : seqs) {
    for (size_t i = 0; i < s->size(); ++i, ++r) {
      TokenId id = (*s)[i];
      if (id < 0 || id >= config_.vocab_size) id = 3;
      const int pos =
          std::min<int>(config_.position_offset + static_cast<int>(i), config_.max_positions - 1);
      x.row(r) = ConstVec(word_ + static_cast<size_t>(id) * h, h) +
                 ConstVec(position_ + static_cast<size_t>(pos) * h, h) + type0;
    }
  }
  LayerNorm(x, emb_ln_.gain, emb_ln_.bias, config_.layer_norm_eps);
  if (states) states->push_back(x);

  RowMatrix q, k, v, ctx, tmp, inter;
  RowMatrix scores;
  for (const Layer& L : layers_) {
    Linear(x, L.q_w, L.q_b, h, q);
    Linear(x, L.k_w, L.k_b, h, k);
    Linear(x, L.v_w, L.v_b, h, v);
    q *= scale;
    ctx.resize(total, h);
    Eigen::Index off = 0;
    for (const auto* s : seqs) {
      const Eigen::Index n = static_cast<Eigen::Index>(s->size());
      for (int hd = 0; hd < heads; ++hd) {
        const auto qh = q.block(off, hd * dh, n, dh);
        const auto kh = k.block(off, hd * dh, n, dh);
        const auto vh = v.block(off, hd * dh, n, dh);
        scores.resize(n, n);
        scores.noalias() = qh * kh.transpose();
        for (Eigen::Index i = 0; i < n; ++i) {
          auto row = scores.row(i).array();
          row = (row - row.maxCoeff()).exp();
          row /= row.sum();
        }
        ctx.block(off, hd * dh, n, dh).noalias() = scores * vh;
      }
      off += n;
    }
    Linear(ctx, L.o_w, L.o_b, h, tmp);
    x += tmp;
    LayerNorm(x, L.ln1.gain, L.ln1.bias, config_.layer_norm_eps);
    Linear(x, L.i_w, L.i_b, config_.intermediate, inter);
    Gelu(inter);
    Linear(inter, L.f_w, L.f_b, h, tmp);
    x += tmp;
    LayerNorm(x, L.ln2.gain, L.ln2.bias, config_.layer_norm_eps);
    if (states) states->push_back(x);
  }
}

void Transformer::EncodeBatch(absl::Span<const std::vector<TokenId>* const> seqs,
                              absl::Span<const int> rows, EmbeddingMatrix& out) const {
  RowMatrix x;
  Forward(seqs, x, nullptr);
  Eigen::Index off = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const Eigen::Index n = static_cast<Eigen::Index>(seqs[i]->size());
    auto dst = out.row(rows[i]);
    const auto block = x.middleRows(off, n);
    switch (pooling_) {
      case Pooling::kMean:
        dst = block.colwise().sum() / static_cast<float>(n);
        break;
      case Pooling::kCls:
        dst = block.row(0);
        break;
      case Pooling::kMax:
        dst = block.colwise().maxCoeff();
        break;
    }
    off += n;
  }
}

std::vector<EmbeddingMatrix> Transformer::HiddenStates(const std::vector<TokenId>& ids) const {
  std::vector<EmbeddingMatrix> states;
  RowMatrix x;
  const std::vector<TokenId>* one[] = {&ids};
  Forward(one, x, &states);
  return states;
}

}  // namespace claimmatch
