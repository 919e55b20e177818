#include "embeddings/static_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <random>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "embeddings/file_util.h"
#include "embeddings/safetensors.h"
#include "embeddings/status_macros.h"

namespace claimmatch {
namespace {

constexpr float kBeta1 = 0.9f;
constexpr float kBeta2 = 0.999f;
constexpr float kEpsilon = 1e-8f;
constexpr int kWarmupSteps = 100;
constexpr char kCheckpointFile[] = "checkpoint.safetensors";
constexpr char kCheckpointTokenizer[] = "sentencepiece.bpe.model";

using Clock = std::chrono::steady_clock;

// Runs fn(begin, end) over [0, n) split into `threads` contiguous parts.
template <typename Fn>
void ParallelFor(int n, int threads, Fn fn) {
  threads = std::max(1, std::min(threads, n / 64 + 1));
  if (threads == 1) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> pool;
  const int per = (n + threads - 1) / threads;
  for (int t = 1; t < threads; ++t) {
    const int b = t * per, e = std::min(n, b + per);
    if (b < e) pool.emplace_back(fn, b, e);
  }
  fn(0, std::min(n, per));
  for (std::thread& t : pool) t.join();
}

// One batch element: indices into the interned texts (negative: -1 if none).
struct Item {
  int anchor, positive, negative;
  float score;  // scored items only
  bool scored;
  bool fixed_positive = false;
};

}  // namespace

struct StaticTrainer::State {
  EmbeddingMatrix emb;     // vocab x dim
  Eigen::VectorXf weight;  // vocab
  EmbeddingMatrix emb_m, emb_v;
  Eigen::VectorXf weight_m, weight_v;
  // The best snapshot by evaluation (empty until the first evaluation).
  EmbeddingMatrix best_emb;
  Eigen::VectorXf best_weight;
  double best_score = -1;
  uint64_t data_fingerprint = 0;
  Eigen::MatrixXf output_transform;  // dim x dim, or empty
};

absl::StatusOr<RetrievalMetrics> EvaluateRetrieval(const EmbeddingMatrix& queries,
                                                   const EmbeddingMatrix& corpus,
                                                   const std::vector<std::vector<int>>& relevant) {
  if (queries.rows() != static_cast<int64_t>(relevant.size()) ||
      (corpus.rows() > 0 && queries.rows() > 0 && queries.cols() != corpus.cols())) {
    return absl::InvalidArgumentError("EvaluateRetrieval: mismatched sizes");
  }
  RetrievalMetrics m;
  const EmbeddingMatrix scores = queries * corpus.transpose();
  for (int q = 0; q < queries.rows(); ++q) {
    const std::vector<int>& rel = relevant[q];
    if (rel.empty()) continue;
    for (int r : rel) {
      if (r < 0 || r >= corpus.rows()) {
        return absl::InvalidArgumentError("EvaluateRetrieval: relevant index out of range");
      }
    }
    // Rank of each relevant document: 1 + the number of documents scoring higher (ties broken
    // by index, as a stable sort would).
    std::vector<int> ranks;
    for (int r : rel) {
      const float s = scores(q, r);
      int rank = 1;
      for (int d = 0; d < corpus.rows(); ++d) {
        const float o = scores(q, d);
        if (o > s || (o == s && d < r)) ++rank;
      }
      ranks.push_back(rank);
    }
    std::sort(ranks.begin(), ranks.end());
    double ap1 = 0, ap5 = 0;
    int found5 = 0;
    for (size_t i = 0; i < ranks.size(); ++i) {
      const double precision = static_cast<double>(i + 1) / ranks[i];
      if (ranks[i] <= 1) ap1 += precision;
      if (ranks[i] <= 5) {
        ap5 += precision;
        ++found5;
      }
    }
    m.map_at_1 += ap1 / rel.size();
    m.map_at_5 += ap5 / rel.size();
    m.recall_at_5 += static_cast<double>(found5) / rel.size();
    m.mrr += 1.0 / ranks[0];
    ++m.queries;
  }
  if (m.queries > 0) {
    m.map_at_1 /= m.queries;
    m.map_at_5 /= m.queries;
    m.recall_at_5 /= m.queries;
    m.mrr /= m.queries;
  }
  return m;
}

StaticTrainer::StaticTrainer(const StaticTrainerOptions& options)
    : options_(options),
      state_(std::make_unique<State>()),
      recent_loss_(std::numeric_limits<double>::quiet_NaN()) {}

StaticTrainer::~StaticTrainer() = default;

namespace {

absl::Status CheckOptions(const StaticTrainerOptions& o) {
  if (o.dim < 1 || o.batch_size < 2 || o.epochs < 0 || o.max_tokens < 3 || o.threads < 1 ||
      !(o.learning_rate > 0) || o.weight_learning_rate < 0 || !(o.scale > 0)) {
    return absl::InvalidArgumentError(
        "trainer options: need dim >= 1, batch_size >= 2, epochs >= 0, max_tokens >= 3, "
        "threads >= 1, learning_rate > 0, weight_learning_rate >= 0, scale > 0");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StaticTrainer>> StaticTrainer::Create(
    const StaticTrainerOptions& options, std::unique_ptr<Tokenizer> tokenizer,
    absl::Span<const std::string> idf_texts) {
  CM_RETURN_IF_ERROR(CheckOptions(options));
  if (tokenizer == nullptr) return absl::InvalidArgumentError("trainer: no tokenizer");
  std::unique_ptr<StaticTrainer> t(new StaticTrainer(options));
  t->tokenizer_ = std::move(tokenizer);
  const int vocab = t->tokenizer_->vocab_size();
  const int dim = options.dim;
  State& s = *t->state_;

  // Random unit rows (the random projection of a one-hot bag of tokens).
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  s.emb.resize(vocab, dim);
  for (int r = 0; r < vocab; ++r) {
    for (int c = 0; c < dim; ++c) s.emb(r, c) = normal(rng);
    s.emb.row(r).normalize();
  }
  // IDF weights: ln((N + 1) / (df + 1)) + 1.
  std::vector<int> df(vocab, 0);
  std::vector<int> last_seen(vocab, -1);
  for (size_t i = 0; i < idf_texts.size(); ++i) {
    for (TokenId id : t->tokenizer_->EncodePieces(idf_texts[i])) {
      if (id >= 0 && id < vocab && last_seen[id] != static_cast<int>(i)) {
        last_seen[id] = static_cast<int>(i);
        ++df[id];
      }
    }
  }
  s.weight.resize(vocab);
  const double n = static_cast<double>(idf_texts.size());
  for (int r = 0; r < vocab; ++r) {
    s.weight[r] = idf_texts.empty() ? 1.f : static_cast<float>(std::log((n + 1) / (df[r] + 1)) + 1);
  }
  s.emb_m = EmbeddingMatrix::Zero(vocab, dim);
  s.emb_v = EmbeddingMatrix::Zero(vocab, dim);
  s.weight_m = Eigen::VectorXf::Zero(vocab);
  s.weight_v = Eigen::VectorXf::Zero(vocab);
  return t;
}

EmbeddingMatrix StaticTrainer::Pool(absl::Span<const std::string> texts,
                                    const EmbeddingMatrix& table,
                                    const Eigen::VectorXf* weight) const {
  const int n = static_cast<int>(texts.size());
  EmbeddingMatrix out = EmbeddingMatrix::Zero(n, options_.dim);
  const TokenId vocab = static_cast<TokenId>(table.rows());
  ParallelFor(n, options_.threads, [&](int begin, int end) {
    for (int i = begin; i < end; ++i) {
      auto row = out.row(i);
      int count = 0;
      for (TokenId id : tokenizer_->Encode(texts[i], options_.max_tokens)) {
        if (id < kFirstPooledId || id >= vocab) continue;
        if (weight != nullptr) {
          row.noalias() += (*weight)[id] * table.row(id);
        } else {
          row.noalias() += table.row(id);
        }
        ++count;
      }
      const float norm = row.norm();
      if (count > 0 && norm > 0) row /= norm;
    }
  });
  return out;
}

EmbeddingMatrix StaticTrainer::Encode(absl::Span<const std::string> texts) const {
  return Pool(texts, state_->emb, &state_->weight);
}

RetrievalMetrics StaticTrainer::Evaluate(const RetrievalEvalSet& set) const {
  absl::StatusOr<RetrievalMetrics> m =
      EvaluateRetrieval(Encode(set.queries), Encode(set.corpus), set.relevant);
  return m.ok() ? *m : RetrievalMetrics{};
}

EmbeddingMatrix StaticTrainer::FoldedEmbeddings() const {
  const State& s = *state_;
  const bool best = options_.keep_best && s.best_emb.size() > 0;
  const EmbeddingMatrix& emb = best ? s.best_emb : s.emb;
  const Eigen::VectorXf& weight = best ? s.best_weight : s.weight;
  EmbeddingMatrix folded = emb;
  for (int r = 0; r < folded.rows(); ++r) folded.row(r) *= weight[r];
  if (s.output_transform.size() > 0) folded = (folded * s.output_transform).eval();
  return folded;
}

absl::Status StaticTrainer::SetOutputTransform(const Eigen::MatrixXf& transform) {
  if (transform.size() > 0 &&
      (transform.rows() != options_.dim || transform.cols() != options_.dim)) {
    return absl::InvalidArgumentError(absl::StrCat("output transform is ", transform.rows(), " x ",
                                                   transform.cols(), ", expected ", options_.dim,
                                                   " x ", options_.dim));
  }
  state_->output_transform = transform;
  return absl::OkStatus();
}

EmbeddingMatrix StaticTrainer::EncodeSaved(absl::Span<const std::string> texts) const {
  return Pool(texts, FoldedEmbeddings(), nullptr);
}

absl::Status StaticTrainer::Save(absl::string_view dir,
                                 const StaticModelSaveOptions& options) const {
  StaticModelSaveOptions o = options;
  o.max_seq_length = options_.max_tokens;
  return SaveStaticModel(dir, tokenizer_->serialized(), FoldedEmbeddings(), {}, o);
}

absl::Status StaticTrainer::Train(absl::Span<const PairSource> sources,
                                  absl::Span<const RetrievalEvalSet> eval_sets, std::FILE* log) {
  State& s = *state_;
  const int dim = options_.dim;
  const TokenId vocab = static_cast<TokenId>(s.emb.rows());

  // Intern the texts; tokenise each once (pooled ids only).
  std::unordered_map<std::string, int> index;
  std::vector<std::vector<TokenId>> tokens;
  auto intern = [&](const std::string& text) -> int {
    auto [it, inserted] = index.emplace(text, static_cast<int>(tokens.size()));
    if (inserted) {
      std::vector<TokenId> ids;
      for (TokenId id : tokenizer_->Encode(text, options_.max_tokens)) {
        if (id >= kFirstPooledId && id < vocab) ids.push_back(id);
      }
      tokens.push_back(std::move(ids));
    }
    return it->second;
  };
  std::vector<std::vector<Item>> items(sources.size());
  std::string fingerprint_input;
  for (size_t k = 0; k < sources.size(); ++k) {
    absl::StrAppend(&fingerprint_input, sources[k].name, "\x1f", sources[k].weight, "\x1f",
                    sources[k].scored, "\x1e");
    for (const TrainingPair& p : sources[k].pairs) {
      absl::StrAppend(&fingerprint_input, p.anchor, "\x1f", p.positive, "\x1f", p.negative, "\x1f",
                      p.score,
                      p.fixed_positive ? "\x1f"
                                         "1"
                                       : "",
                      "\x1e");
      const int a = intern(p.anchor), b = intern(p.positive);
      const int neg = p.negative.empty() ? -1 : intern(p.negative);
      // A pair with an empty side, or both sides equal, teaches nothing.
      if (a == b || tokens[a].empty() || tokens[b].empty()) continue;
      if (sources[k].scored) {
        items[k].push_back({a, b, -1, p.score, true});
        continue;
      }
      items[k].push_back({a, b, neg >= 0 && !tokens[neg].empty() && neg != a && neg != b ? neg : -1,
                          0.f, false, p.fixed_positive});
    }
  }
  const uint64_t fingerprint = Fingerprint64(fingerprint_input);
  fingerprint_input.clear();
  fingerprint_input.shrink_to_fit();
  if (step_ > 0 && s.data_fingerprint != 0 && s.data_fingerprint != fingerprint) {
    return absl::FailedPreconditionError(
        "resume: the training pairs differ from those the checkpoint was trained on");
  }
  s.data_fingerprint = fingerprint;

  // The batches of one epoch: a pure function of (seed, epoch).
  auto make_batches = [&](int epoch) {
    std::mt19937_64 rng(options_.seed * 1000003ULL + static_cast<uint64_t>(epoch) + 1);
    std::vector<Item> order;
    for (size_t k = 0; k < sources.size(); ++k) {
      const double w = std::max(0.0, sources[k].weight);
      const int whole = static_cast<int>(std::floor(w));
      const double frac = w - whole;
      std::uniform_real_distribution<double> uni(0.0, 1.0);
      for (const Item& it : items[k]) {
        for (int c = 0; c < whole; ++c) order.push_back(it);
        if (frac > 0 && uni(rng) < frac) order.push_back(it);
      }
    }
    std::shuffle(order.begin(), order.end(), rng);
    // Scored items: plain consecutive batches of their own (CoSENT needs no distinct texts).
    std::vector<std::vector<Item>> scored_batches;
    {
      std::vector<Item> rest;
      for (const Item& it : order) {
        if (!it.scored) {
          rest.push_back(it);
          continue;
        }
        if (scored_batches.empty() ||
            static_cast<int>(scored_batches.back().size()) >= options_.batch_size) {
          scored_batches.emplace_back();
        }
        scored_batches.back().push_back(it);
      }
      if (!scored_batches.empty() && scored_batches.back().size() < 2) scored_batches.pop_back();
      order = std::move(rest);
    }
    // Greedy packing; an item whose text is already in the batch waits for the next one.
    std::vector<std::vector<Item>> batches;
    std::vector<Item> carry;
    size_t pos = 0;
    std::unordered_set<int> seen;
    while (pos < order.size() || !carry.empty()) {
      std::vector<Item> batch, next_carry;
      seen.clear();
      auto fits = [&](const Item& it) {
        return !seen.count(it.anchor) && !seen.count(it.positive) &&
               (it.negative < 0 || !seen.count(it.negative));
      };
      auto add = [&](const Item& it) {
        batch.push_back(it);
        seen.insert(it.anchor);
        seen.insert(it.positive);
        if (it.negative >= 0) seen.insert(it.negative);
      };
      for (const Item& it : carry) {
        if (static_cast<int>(batch.size()) < options_.batch_size && fits(it)) {
          add(it);
        } else {
          next_carry.push_back(it);
        }
      }
      while (static_cast<int>(batch.size()) < options_.batch_size && pos < order.size()) {
        const Item& it = order[pos++];
        if (fits(it)) {
          add(it);
        } else {
          next_carry.push_back(it);
        }
      }
      carry = std::move(next_carry);
      if (batch.size() >= 2) batches.push_back(std::move(batch));
    }
    // Scored batches spread evenly among the contrastive ones (deterministic positions).
    if (!scored_batches.empty()) {
      std::vector<std::vector<Item>> merged;
      const size_t total = batches.size() + scored_batches.size();
      size_t ci = 0, si = 0;
      for (size_t i = 0; i < total; ++i) {
        // Place scored batch si at position round((si + 0.5) * total / scored count).
        const bool take_scored = si < scored_batches.size() &&
                                 (ci >= batches.size() || static_cast<double>(i) + 0.5 >=
                                                              (static_cast<double>(si) + 0.5) *
                                                                  total / scored_batches.size());
        merged.push_back(std::move(take_scored ? scored_batches[si++] : batches[ci++]));
      }
      batches = std::move(merged);
    }
    return batches;
  };

  const size_t first_epoch_batches = make_batches(0).size();
  if (first_epoch_batches == 0) {
    return absl::InvalidArgumentError("no usable training pairs (need at least 2 distinct pairs)");
  }
  const int64_t total_steps = static_cast<int64_t>(first_epoch_batches) * options_.epochs;

  auto evaluate = [&]() {
    if (eval_sets.empty()) return;
    double sum = 0;
    for (const RetrievalEvalSet& set : eval_sets) {
      const RetrievalMetrics m = Evaluate(set);
      sum += m.map_at_5;
      if (log != nullptr) {
        absl::FPrintF(log,
                      "eval step %d %s: MAP@1 %.4f MAP@5 %.4f MRR %.4f R@5 %.4f (%d queries)\n",
                      step_, set.name, m.map_at_1, m.map_at_5, m.mrr, m.recall_at_5, m.queries);
      }
    }
    const double score = sum / eval_sets.size();
    if (options_.keep_best && score > s.best_score) {
      s.best_score = score;
      s.best_emb = s.emb;
      s.best_weight = s.weight;
      if (log != nullptr)
        absl::FPrintF(log, "eval step %d: new best mean MAP@5 %.4f\n", step_, score);
    }
  };

  // Scratch for the sparse gradient: slot of each touched token.
  std::vector<int> slot(vocab, -1);
  std::vector<TokenId> touched;
  EmbeddingMatrix grad_emb;
  std::vector<float> grad_weight;

  double loss_sum = 0;
  int64_t loss_count = 0, pairs_done = 0;
  Clock::time_point window_start = Clock::now();

  if (step_ == 0) evaluate();  // the untrained model: IDF-weighted random projection
  for (; epoch_ < options_.epochs; ++epoch_, step_in_epoch_ = 0) {
    const std::vector<std::vector<Item>> batches = make_batches(epoch_);
    for (; step_in_epoch_ < static_cast<int64_t>(batches.size());) {
      const std::vector<Item>& batch = batches[step_in_epoch_];
      const int b = static_cast<int>(batch.size());
      // Sentences: anchors [0, b), positives [b, 2b), negatives [2b, 2b + m).
      std::vector<int> sent;
      const bool scored = batch.front().scored;
      for (const Item& it : batch) sent.push_back(it.anchor);
      for (const Item& it : batch) sent.push_back(it.positive);
      for (const Item& it : batch) {
        if (it.negative >= 0 && !scored) sent.push_back(it.negative);
      }
      const int ns = static_cast<int>(sent.size());
      const int m = ns - 2 * b;
      EmbeddingMatrix u(ns, dim);
      std::vector<float> norms(ns);
      for (int i = 0; i < ns; ++i) {
        auto row = u.row(i);
        row.setZero();
        const std::vector<TokenId>& ids = tokens[sent[i]];
        for (TokenId id : ids) row.noalias() += s.weight[id] * s.emb.row(id);
        row /= static_cast<float>(ids.size());
        norms[i] = row.norm();
        if (norms[i] > 0) row /= norms[i];
      }
      const float scale = static_cast<float>(options_.scale);
      auto anchors = u.topRows(b);
      auto candidates = u.bottomRows(b + m);  // positives then negatives
      auto positives = u.middleRows(b, b);
      EmbeddingMatrix du = EmbeddingMatrix::Zero(ns, dim);
      double loss = 0;
      // Softmax cross-entropy with target i on row i; returns scale * (softmax - onehot) / (2b).
      auto ce = [&](EmbeddingMatrix logits) {
        for (int i = 0; i < logits.rows(); ++i) {
          auto row = logits.row(i);
          const float mx = row.maxCoeff();
          row = (row.array() - mx).exp();
          const float z = row.sum();
          loss += -std::log(std::max(row(i) / z, 1e-30f));
          row /= z;
          row(i) -= 1.f;
        }
        return EmbeddingMatrix(logits * (scale / (2.f * b)));
      };
      if (scored) {
        // CoSENT: loss = log(1 + sum_{s_i > s_j} exp(scale * (cos_j - cos_i))).
        std::vector<float> cos(b);
        for (int i = 0; i < b; ++i) cos[i] = anchors.row(i).dot(positives.row(i));
        float mx = 0;
        for (int i = 0; i < b; ++i) {
          for (int j = 0; j < b; ++j) {
            if (batch[i].score > batch[j].score) mx = std::max(mx, scale * (cos[j] - cos[i]));
          }
        }
        double z = std::exp(-mx);
        EmbeddingMatrix e = EmbeddingMatrix::Zero(b, b);
        for (int i = 0; i < b; ++i) {
          for (int j = 0; j < b; ++j) {
            if (batch[i].score > batch[j].score) {
              e(i, j) = std::exp(scale * (cos[j] - cos[i]) - mx);
              z += e(i, j);
            }
          }
        }
        loss = mx + std::log(z);
        std::vector<float> gcos(b, 0.f);
        for (int i = 0; i < b; ++i) {
          for (int j = 0; j < b; ++j) {
            if (e(i, j) == 0) continue;
            const float g = static_cast<float>(scale * e(i, j) / z);
            gcos[j] += g;
            gcos[i] -= g;
          }
        }
        for (int i = 0; i < b; ++i) {
          du.row(i) += gcos[i] * positives.row(i);
          du.row(b + i) += gcos[i] * anchors.row(i);
        }
      } else {
        const EmbeddingMatrix g1 = ce(scale * anchors * candidates.transpose());  // b x (b + m)
        du.topRows(b).noalias() += g1 * candidates;
        du.bottomRows(b + m).noalias() += g1.transpose() * anchors;
        const EmbeddingMatrix g2 = ce(scale * positives * anchors.transpose());  // b x b
        du.middleRows(b, b).noalias() += g2 * anchors;
        du.topRows(b).noalias() += g2.transpose() * positives;
        loss /= 2.0 * b;
      }

      // Fixed positives take no gradient.
      for (int i = 0; i < b; ++i) {
        if (batch[i].fixed_positive) du.row(b + i).setZero();
      }
      // Back through the normalisation and the weighted mean, into the touched rows.
      touched.clear();
      for (int i = 0; i < ns; ++i) {
        for (TokenId id : tokens[sent[i]]) {
          if (slot[id] < 0) {
            slot[id] = static_cast<int>(touched.size());
            touched.push_back(id);
          }
        }
      }
      grad_emb.setZero(static_cast<int>(touched.size()), dim);
      grad_weight.assign(touched.size(), 0.f);
      for (int i = 0; i < ns; ++i) {
        if (norms[i] <= 0) continue;
        const std::vector<TokenId>& ids = tokens[sent[i]];
        EmbeddingRow dv = (du.row(i) - u.row(i) * u.row(i).dot(du.row(i))) / norms[i];
        dv /= static_cast<float>(ids.size());
        for (TokenId id : ids) {
          grad_emb.row(slot[id]).noalias() += s.weight[id] * dv;
          grad_weight[slot[id]] += s.emb.row(id).dot(dv);
        }
      }
      // Lazy Adam with warmup and linear decay to 10%.
      ++step_;
      double lr_factor = std::min(1.0, static_cast<double>(step_) / kWarmupSteps);
      if (total_steps > 0) {
        lr_factor *= std::max(0.1, 1.0 - 0.9 * static_cast<double>(step_) / total_steps);
      }
      const double correction =
          std::sqrt(1 - std::pow(static_cast<double>(kBeta2), static_cast<double>(step_))) /
          (1 - std::pow(static_cast<double>(kBeta1), static_cast<double>(step_)));
      const float lr = static_cast<float>(options_.learning_rate * lr_factor * correction);
      const float wlr = static_cast<float>(options_.weight_learning_rate * lr_factor * correction);
      for (size_t k = 0; k < touched.size(); ++k) {
        const TokenId id = touched[k];
        slot[id] = -1;
        auto g = grad_emb.row(static_cast<int>(k)).array();
        auto mrow = s.emb_m.row(id).array();
        auto vrow = s.emb_v.row(id).array();
        mrow = kBeta1 * mrow + (1 - kBeta1) * g;
        vrow = kBeta2 * vrow + (1 - kBeta2) * g.square();
        s.emb.row(id).array() -= lr * mrow / (vrow.sqrt() + kEpsilon);
        if (wlr > 0) {
          const float gw = grad_weight[k];
          s.weight_m[id] = kBeta1 * s.weight_m[id] + (1 - kBeta1) * gw;
          s.weight_v[id] = kBeta2 * s.weight_v[id] + (1 - kBeta2) * gw * gw;
          s.weight[id] -= wlr * s.weight_m[id] / (std::sqrt(s.weight_v[id]) + kEpsilon);
          s.weight[id] = std::max(s.weight[id], 0.f);
        }
      }
      ++step_in_epoch_;
      loss_sum += loss;
      ++loss_count;
      pairs_done += b;

      if (log != nullptr && options_.log_every_steps > 0 && step_ % options_.log_every_steps == 0) {
        const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
        recent_loss_ = loss_sum / loss_count;
        absl::FPrintF(log, "epoch %d step %d (%d/%d) loss %.4f  %.0f pairs/s  lr %.2g\n",
                      epoch_ + 1, step_, step_in_epoch_, batches.size(), recent_loss_,
                      pairs_done / std::max(secs, 1e-9), options_.learning_rate * lr_factor);
        loss_sum = 0;
        loss_count = 0;
        pairs_done = 0;
        window_start = Clock::now();
      }
      if (options_.eval_every_steps > 0 && step_ % options_.eval_every_steps == 0) evaluate();
      if (!options_.checkpoint_dir.empty() && options_.checkpoint_every_steps > 0 &&
          step_ % options_.checkpoint_every_steps == 0) {
        CM_RETURN_IF_ERROR(SaveCheckpoint());
      }
      if (options_.stop_after_steps > 0 && step_ >= options_.stop_after_steps) {
        if (loss_count > 0) recent_loss_ = loss_sum / loss_count;
        if (!options_.checkpoint_dir.empty()) CM_RETURN_IF_ERROR(SaveCheckpoint());
        return absl::OkStatus();
      }
    }
    if (loss_count > 0) recent_loss_ = loss_sum / loss_count;
    if (log != nullptr) absl::FPrintF(log, "epoch %d done: step %d\n", epoch_ + 1, step_);
    evaluate();
    if (!options_.checkpoint_dir.empty()) {
      ++epoch_;
      step_in_epoch_ = 0;
      const absl::Status st = SaveCheckpoint();
      --epoch_;
      CM_RETURN_IF_ERROR(st);
    }
  }
  return absl::OkStatus();
}

absl::Status StaticTrainer::SaveCheckpoint() const {
  const State& s = *state_;
  std::error_code ec;
  std::filesystem::create_directories(options_.checkpoint_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", options_.checkpoint_dir, ": ", ec.message()));
  }
  const int64_t vocab = s.emb.rows(), dim = s.emb.cols();
  auto span = [](const auto& x) { return absl::MakeConstSpan(x.data(), x.size()); };
  std::vector<TensorToWrite> tensors = {
      {"emb", {vocab, dim}, span(s.emb)},      {"emb_m", {vocab, dim}, span(s.emb_m)},
      {"emb_v", {vocab, dim}, span(s.emb_v)},  {"weight", {vocab}, span(s.weight)},
      {"weight_m", {vocab}, span(s.weight_m)}, {"weight_v", {vocab}, span(s.weight_v)},
  };
  if (s.best_emb.size() > 0) {
    tensors.push_back({"best_emb", {vocab, dim}, span(s.best_emb)});
    tensors.push_back({"best_weight", {vocab}, span(s.best_weight)});
  }
  const std::map<std::string, std::string> metadata = {
      {"step", absl::StrCat(step_)},
      {"epoch", absl::StrCat(epoch_)},
      {"step_in_epoch", absl::StrCat(step_in_epoch_)},
      {"best_score", absl::StrFormat("%.17g", s.best_score)},
      {"data_fingerprint", absl::StrCat(s.data_fingerprint)},
  };
  CM_ASSIGN_OR_RETURN(std::string bytes, SerializeSafetensors(tensors, metadata));
  CM_RETURN_IF_ERROR(WriteFileAtomically(JoinPath(options_.checkpoint_dir, kCheckpointTokenizer),
                                         tokenizer_->serialized()));
  return WriteFileAtomically(JoinPath(options_.checkpoint_dir, kCheckpointFile), bytes);
}

absl::StatusOr<std::unique_ptr<StaticTrainer>> StaticTrainer::Resume(
    const StaticTrainerOptions& options) {
  CM_RETURN_IF_ERROR(CheckOptions(options));
  const std::string path = JoinPath(options.checkpoint_dir, kCheckpointFile);
  if (options.checkpoint_dir.empty() || !PathExists(path)) {
    return absl::NotFoundError(absl::StrCat("no checkpoint at ", path));
  }
  std::unique_ptr<StaticTrainer> t(new StaticTrainer(options));
  CM_ASSIGN_OR_RETURN(t->tokenizer_,
                      Tokenizer::Load(JoinPath(options.checkpoint_dir, kCheckpointTokenizer)));
  CM_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file, SafetensorsFile::Open(path));
  const int64_t vocab = t->tokenizer_->vocab_size();
  const int64_t dim = options.dim;
  State& s = *t->state_;
  auto read = [&](const char* name, auto& out, std::vector<int64_t> shape) -> absl::Status {
    const TensorInfo* info = file->Find(name);
    if (info == nullptr) return absl::DataLossError(absl::StrCat(path, ": no tensor ", name));
    if (info->dtype != DType::kF32 || info->shape != shape) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": tensor ", name, " does not fit vocab ", vocab, " x dim ", dim));
    }
    if constexpr (std::is_same_v<std::decay_t<decltype(out)>, EmbeddingMatrix>) {
      out.resize(shape[0], shape[1]);
    } else {
      out.resize(shape[0]);
    }
    std::memcpy(out.data(), info->bytes.data(), info->bytes.size());
    return absl::OkStatus();
  };
  CM_RETURN_IF_ERROR(read("emb", s.emb, {vocab, dim}));
  CM_RETURN_IF_ERROR(read("emb_m", s.emb_m, {vocab, dim}));
  CM_RETURN_IF_ERROR(read("emb_v", s.emb_v, {vocab, dim}));
  CM_RETURN_IF_ERROR(read("weight", s.weight, {vocab}));
  CM_RETURN_IF_ERROR(read("weight_m", s.weight_m, {vocab}));
  CM_RETURN_IF_ERROR(read("weight_v", s.weight_v, {vocab}));
  if (file->Find("best_emb") != nullptr) {
    CM_RETURN_IF_ERROR(read("best_emb", s.best_emb, {vocab, dim}));
    CM_RETURN_IF_ERROR(read("best_weight", s.best_weight, {vocab}));
  }
  const auto& md = file->metadata();
  auto get = [&](const char* key, auto* out) -> absl::Status {
    auto it = md.find(key);
    if (it == md.end() || !absl::SimpleAtoi(it->second, out)) {
      return absl::DataLossError(absl::StrCat(path, ": metadata ", key, " missing or invalid"));
    }
    return absl::OkStatus();
  };
  CM_RETURN_IF_ERROR(get("step", &t->step_));
  CM_RETURN_IF_ERROR(get("epoch", &t->epoch_));
  CM_RETURN_IF_ERROR(get("step_in_epoch", &t->step_in_epoch_));
  CM_RETURN_IF_ERROR(get("data_fingerprint", &s.data_fingerprint));
  auto best = md.find("best_score");
  if (best == md.end() || !absl::SimpleAtod(best->second, &s.best_score)) {
    return absl::DataLossError(absl::StrCat(path, ": metadata best_score missing or invalid"));
  }
  return t;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> TrainTokenizer(absl::Span<const std::string> texts,
                                                          int vocab_size, bool lowercase,
                                                          int threads, absl::string_view work_dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::string(work_dir), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", work_dir, ": ", ec.message()));
  std::string corpus;
  for (const std::string& t : texts) {
    if (t.empty()) continue;
    for (char c : t) corpus.push_back(c == '\n' || c == '\r' ? ' ' : c);
    corpus.push_back('\n');
  }
  const std::string input = JoinPath(work_dir, "spm_corpus.txt");
  CM_RETURN_IF_ERROR(WriteFileAtomically(input, corpus));
  SentencePieceTrainOptions o;
  o.input_path = input;
  o.model_prefix = JoinPath(work_dir, "spm");
  o.vocab_size = vocab_size;
  o.num_threads = threads;
  o.input_sentence_size = std::max<int>(1, static_cast<int>(texts.size()));
  o.normalization_rule_name = lowercase ? "nmt_nfkc_cf" : "nmt_nfkc";
  CM_RETURN_IF_ERROR(TrainSentencePiece(o));
  return Tokenizer::Load(o.model_prefix + ".model");
}

}  // namespace claimmatch
