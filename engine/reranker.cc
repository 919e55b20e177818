#include "engine/reranker.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"
#include "nlohmann/json.hpp"

namespace claimmatch {
namespace {

using json = nlohmann::json;

// 2: claimant agreement; 3: date proximity; 4: hidden layer; 5: date proximity at a year's scale.
constexpr int kVersion = 5;
constexpr size_t kMaxHiddenUnits = 256;

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

const std::array<const char*, kNumRerankFeatures>& RerankFeatureNames() {
  static const std::array<const char*, kNumRerankFeatures> kNames = {
      "cosine",         "lexical",        "cosine_minus_best",  "lexical_over_best",
      "dense_rr",       "lexical_rr",     "in_dense",           "in_lexical",
      "number_overlap", "name_overlap",   "log_length_ratio",   "claim_coverage",
      "query_coverage", "date_proximity", "date_proximity_year"};
  return kNames;
}

RerankerModel RerankerModel::Default() {
  RerankerModel m;
  m.weights.fill(0);
  // 0.75 lexical + 0.25 cosine, scaled so the sigmoid spans the range: s = 8 * (fused - 0.5).
  m.weights[0] = 0.25f * 8;
  m.weights[1] = 0.75f * 8;
  m.bias = -4;
  m.decision_weights = m.weights;
  m.decision_bias = m.bias;
  // A lexical fraction is BM25 over idf x (k1 + 1) per term: one occurrence in a document of
  // average length reaches 1 / (k1 + 1) = 0.45 of it, so an exact repeat (cosine 1) scores about
  // sigmoid(8 x (0.25 + 0.75 x 0.45) - 4) = 0.62..0.80. Used only without a trained re-ranker.
  m.match_threshold = 0.6f;
  m.suggest_threshold = 0.45f;
  m.trained_on = "built-in score fusion (0.75 x BM25 fraction + 0.25 x cosine)";
  return m;
}

namespace {

// RerankTanh's body, inlined into Logit's loop over units (which it vectorises).
inline float TanhApprox(float x) {
  // Eigen's generic_fast_tanh_float (MathFunctionsImpl.h), its clamp for evaluation with fma.
  constexpr float kClamp = 7.99881172180175781f;
  const float c = std::min(std::max(x, -kClamp), kClamp);
  const float x2 = c * c;
  float p = std::fma(x2, -2.76076847742355e-16f, 2.00018790482477e-13f);
  p = std::fma(x2, p, -8.60467152213735e-11f);
  p = std::fma(x2, p, 5.12229709037114e-08f);
  p = std::fma(x2, p, 1.48572235717979e-05f);
  p = std::fma(x2, p, 6.37261928875436e-04f);
  p = std::fma(x2, p, 4.89352455891786e-03f);
  p = c * p;
  float q = std::fma(x2, 1.19825839466702e-06f, 1.18534705686654e-04f);
  q = std::fma(x2, q, 2.26843463243900e-03f);
  q = std::fma(x2, q, 4.89352518554385e-03f);
  return std::abs(x) < 0.0004f ? x : p / q;  // a select, not a branch: loops over units vectorise
}

}  // namespace

float RerankTanh(float x) { return TanhApprox(x); }

float RerankerModel::Logit(const RerankFeatures& f) const {
  float s = bias;
  for (int i = 0; i < kNumRerankFeatures; ++i) s += weights[i] * f[i];
  const size_t units = hidden_output.size();
  if (units == 0) return s;
  // Unit by unit in a fixed order: a candidate's score does not depend on its neighbours.
  float pre[kMaxHiddenUnits];
  for (size_t h = 0; h < units; ++h) pre[h] = hidden_bias[h];
  for (int i = 0; i < kNumRerankFeatures; ++i) {
    const float x = f[i];
    const float* w = hidden_weights.data() + static_cast<size_t>(i) * units;
    for (size_t h = 0; h < units; ++h) pre[h] = std::fma(w[h], x, pre[h]);
  }
  for (size_t h = 0; h < units; ++h) pre[h] = TanhApprox(pre[h]);
  float out = 0;
  for (size_t h = 0; h < units; ++h) out = std::fma(hidden_output[h], pre[h], out);
  return s + out;
}

float RerankerModel::Score(const RerankFeatures& f) const { return Sigmoid(Logit(f)); }

float RerankerModel::Probability(float logit) { return Sigmoid(logit); }

float RerankerModel::Confidence(const RerankFeatures& f) const {
  float s = decision_bias;
  for (int i : AbsoluteFeatures()) s += decision_weights[i] * f[i];
  return Sigmoid(s);
}

uint64_t ClaimantKey(absl::string_view claimant) {
  const std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(claimant));
  if (key.empty()) return 0;
  const uint64_t f = Fingerprint64(key);
  return f == 0 ? 1 : f;
}

void RerankerModel::AddClaimantAgreement(absl::Span<const uint64_t> claimants,
                                         absl::Span<float> logits) const {
  if (claimant_weight == 0 || logits.empty()) return;
  std::vector<int> order(logits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  const size_t depth = std::min(order.size(), static_cast<size_t>(std::max(claimant_depth, 0)));
  std::partial_sort(order.begin(), order.begin() + depth, order.end(), [&](int a, int b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  if (depth == 0) return;
  // (claimant, votes): at most claimant_depth of them, searched linearly.
  std::vector<std::pair<uint64_t, double>> votes;
  auto find = [&](uint64_t key) {
    return std::find_if(votes.begin(), votes.end(),
                        [key](const auto& v) { return v.first == key; });
  };
  const double top = logits[order[0]];
  double total = 0;
  for (size_t r = 0; r < depth; ++r) {
    const int i = order[r];
    const double vote = std::exp(static_cast<double>(logits[i]) - top);  // softmax numerator
    total += vote;
    if (claimants[i] == 0) continue;
    const auto it = find(claimants[i]);
    if (it == votes.end()) {
      votes.emplace_back(claimants[i], vote);
    } else {
      it->second += vote;
    }
  }
  if (!(total > 0)) return;  // NaN log-odds
  for (size_t i = 0; i < logits.size(); ++i) {
    if (claimants[i] == 0) continue;
    const auto it = find(claimants[i]);
    if (it != votes.end()) {
      logits[i] = static_cast<float>(logits[i] + claimant_weight * (it->second / total));
    }
  }
}

const std::array<int, 5>& RerankerModel::AbsoluteFeatures() {
  static const std::array<int, 5> kAbsolute = {0, 1, 8, 9, 11};
  return kAbsolute;
}

std::string RerankerModel::ToJson() const {
  json j{{"format", "claimmatch-reranker"},
         {"version", kVersion},
         {"features", RerankFeatureNames()},
         {"weights", weights},
         {"bias", bias},
         {"decision_weights", decision_weights},
         {"decision_bias", decision_bias},
         {"claimant_weight", claimant_weight},
         {"claimant_depth", claimant_depth},
         {"model_hash", model_hash},
         {"match_threshold", match_threshold},
         {"suggest_threshold", suggest_threshold},
         {"trained_on", trained_on}};
  if (!hidden_output.empty()) {
    const size_t units = hidden_output.size();
    json rows = json::array();
    for (int i = 0; i < kNumRerankFeatures; ++i) {
      rows.push_back(std::vector<float>(hidden_weights.begin() + i * units,
                                        hidden_weights.begin() + (i + 1) * units));
    }
    j["hidden"] = {{"weights", rows}, {"bias", hidden_bias}, {"output", hidden_output}};
  }
  j["checksum"] = FingerprintHex(Fingerprint64(j.dump()));
  return j.dump(2) + "\n";
}

absl::StatusOr<RerankerModel> RerankerModel::FromJson(absl::string_view text,
                                                      absl::string_view name) {
  try {
    json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    auto bad = [&](absl::string_view what) {
      return absl::DataLossError(absl::StrCat(name, ": ", what));
    };
    if (j.is_discarded() || !j.is_object()) return bad("not valid JSON");
    if (j.value("format", "") != "claimmatch-reranker") return bad("not a claimmatch re-ranker");
    if (!j.contains("checksum") || !j["checksum"].is_string()) return bad("no checksum");
    json body = j;
    body.erase("checksum");
    if (FingerprintHex(Fingerprint64(body.dump())) != j["checksum"].get<std::string>()) {
      return bad("checksum mismatch (corrupt or edited file)");
    }
    if (!j["version"].is_number_integer() || j["version"].get<int>() > kVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat(name, ": re-ranker version is newer than this claimmatch supports"));
    }
    // The file's features must be this claimmatch's first n (older files lack the newer ones,
    // which then weigh 0).
    if (!j["features"].is_array() || j["features"].empty() ||
        j["features"].size() > static_cast<size_t>(kNumRerankFeatures)) {
      return bad("its feature list differs from this claimmatch's");
    }
    const int n = static_cast<int>(j["features"].size());
    for (int i = 0; i < n; ++i) {
      if (!j["features"][i].is_string() ||
          j["features"][i].get<std::string>() != RerankFeatureNames()[i]) {
        return bad("its feature list differs from this claimmatch's");
      }
    }
    if (!j["weights"].is_array() || j["weights"].size() != static_cast<size_t>(n)) {
      return bad("weights do not match the features");
    }
    RerankerModel m;
    for (int i = 0; i < n; ++i) {
      if (!j["weights"][i].is_number()) return bad("a weight is not a number");
      m.weights[i] = j["weights"][i].get<float>();
    }
    if (!j["decision_weights"].is_array() ||
        j["decision_weights"].size() != static_cast<size_t>(n) || !j["decision_bias"].is_number()) {
      return bad("decision weights do not match the features");
    }
    for (int i = 0; i < n; ++i) {
      if (!j["decision_weights"][i].is_number()) return bad("a decision weight is not a number");
      m.decision_weights[i] = j["decision_weights"][i].get<float>();
    }
    m.decision_bias = j["decision_bias"].get<float>();
    if (!j["bias"].is_number() || !j["match_threshold"].is_number() ||
        !j["suggest_threshold"].is_number()) {
      return bad("bias or thresholds missing");
    }
    m.bias = j["bias"].get<float>();
    if (j.contains("hidden")) {
      const json& hidden = j["hidden"];
      auto finite_numbers = [](const json& a, size_t size) {
        if (!a.is_array() || a.size() != size) return false;
        for (const json& x : a) {
          if (!x.is_number() || !std::isfinite(static_cast<float>(x.get<double>()))) return false;
        }
        return true;
      };
      if (!hidden.is_object() || !hidden.contains("output") || !hidden["output"].is_array()) {
        return bad("hidden layer without output weights");
      }
      const size_t units = hidden["output"].size();
      if (units == 0 || units > kMaxHiddenUnits) return bad("hidden layer size out of range");
      if (!finite_numbers(hidden["output"], units) || !hidden.contains("bias") ||
          !finite_numbers(hidden["bias"], units) || !hidden.contains("weights") ||
          !hidden["weights"].is_array() || hidden["weights"].size() != static_cast<size_t>(n)) {
        return bad("hidden layer weights do not match the features and units");
      }
      m.hidden_weights.assign(static_cast<size_t>(kNumRerankFeatures) * units, 0.f);
      for (int i = 0; i < n; ++i) {
        if (!finite_numbers(hidden["weights"][i], units)) {
          return bad("hidden layer weights do not match the features and units");
        }
        for (size_t h = 0; h < units; ++h) {
          m.hidden_weights[i * units + h] = hidden["weights"][i][h].get<float>();
        }
      }
      m.hidden_bias = hidden["bias"].get<std::vector<float>>();
      m.hidden_output = hidden["output"].get<std::vector<float>>();
    }
    if (j["version"].get<int>() >= 2) {
      if (!j["claimant_weight"].is_number() || !j["claimant_depth"].is_number_integer()) {
        return bad("claimant_weight or claimant_depth missing");
      }
      m.claimant_weight = j["claimant_weight"].get<float>();
      m.claimant_depth = j["claimant_depth"].get<int>();
      if (!std::isfinite(m.claimant_weight) || m.claimant_depth < 1 || m.claimant_depth > 10000) {
        return bad("claimant_weight or claimant_depth out of range");
      }
    }
    m.model_hash = j.value("model_hash", "");
    m.match_threshold = j["match_threshold"].get<float>();
    m.suggest_threshold = j["suggest_threshold"].get<float>();
    m.trained_on = j.value("trained_on", "");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(name, ": unexpected JSON: ", e.what()));
  }
}

absl::StatusOr<RerankerModel> TrainReranker(const std::vector<RerankExample>& examples,
                                            const RerankTrainOptions& options) {
  int positives = 0;
  for (const RerankExample& e : examples) positives += e.relevant ? 1 : 0;
  const int negatives = static_cast<int>(examples.size()) - positives;
  if (positives == 0 || negatives == 0) {
    return absl::InvalidArgumentError("re-ranker training needs relevant and other candidates");
  }
  const double pos_weight = static_cast<double>(negatives) / positives;
  std::array<double, kNumRerankFeatures> w{};
  double b = 0;
  // Feature scales, so one learning rate suits all.
  std::array<double, kNumRerankFeatures> scale{};
  for (const RerankExample& e : examples) {
    for (int i = 0; i < kNumRerankFeatures; ++i)
      scale[i] = std::max<double>(scale[i], std::abs(e.features[i]));
  }
  for (double& s : scale) s = s > 0 ? s : 1;
  const double norm = 1.0 / (negatives + pos_weight * positives);
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::array<double, kNumRerankFeatures> grad{};
    double grad_b = 0;
    for (const RerankExample& e : examples) {
      double s = b;
      for (int i = 0; i < kNumRerankFeatures; ++i) s += w[i] * e.features[i] / scale[i];
      const double p = 1.0 / (1.0 + std::exp(-s));
      const double weight = e.relevant ? pos_weight : 1.0;
      const double g = weight * (p - (e.relevant ? 1.0 : 0.0));
      for (int i = 0; i < kNumRerankFeatures; ++i) grad[i] += g * e.features[i] / scale[i];
      grad_b += g;
    }
    for (int i = 0; i < kNumRerankFeatures; ++i) {
      w[i] -= options.learning_rate * (grad[i] * norm + options.l2 * w[i]);
    }
    b -= options.learning_rate * grad_b * norm;
  }
  RerankerModel m;
  for (int i = 0; i < kNumRerankFeatures; ++i) m.weights[i] = static_cast<float>(w[i] / scale[i]);
  m.bias = static_cast<float>(b);
  return m;
}

namespace {

// The examples grouped by query (in query order), keeping the queries with relevant and other
// candidates (the others teach a ranking nothing); fails with kInvalidArgument when none is left.
using RankingLists = std::vector<std::vector<const RerankExample*>>;
absl::StatusOr<RankingLists> GroupForRanking(const std::vector<RerankExample>& examples) {
  std::map<int, std::vector<const RerankExample*>> by_query;
  for (const RerankExample& e : examples) by_query[e.query].push_back(&e);
  std::vector<std::vector<const RerankExample*>> lists;
  for (auto& [q, list] : by_query) {
    const bool any = std::any_of(list.begin(), list.end(), [](auto* e) { return e->relevant; });
    const bool all = std::all_of(list.begin(), list.end(), [](auto* e) { return e->relevant; });
    if (any && !all) lists.push_back(std::move(list));
  }
  if (lists.empty()) {
    return absl::InvalidArgumentError(
        "re-ranker training needs queries with relevant and other candidates");
  }
  return lists;
}

}  // namespace

absl::StatusOr<RerankerModel> TrainListwiseReranker(const std::vector<RerankExample>& examples,
                                                    const RerankTrainOptions& options) {
  CM_ASSIGN_OR_RETURN(const RankingLists lists, GroupForRanking(examples));
  std::array<double, kNumRerankFeatures> scale{};
  for (const auto& list : lists) {
    for (const RerankExample* e : list) {
      for (int i = 0; i < kNumRerankFeatures; ++i)
        scale[i] = std::max<double>(scale[i], std::abs(e->features[i]));
    }
  }
  for (double& s : scale) s = s > 0 ? s : 1;
  std::array<double, kNumRerankFeatures> w{};
  std::vector<double> score, p;
  const double norm = 1.0 / lists.size();
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::array<double, kNumRerankFeatures> grad{};
    for (const auto& list : lists) {
      score.assign(list.size(), 0);
      double top = -1e300;
      for (size_t c = 0; c < list.size(); ++c) {
        for (int i = 0; i < kNumRerankFeatures; ++i)
          score[c] += w[i] * list[c]->features[i] / scale[i];
        top = std::max(top, score[c]);
      }
      p.assign(list.size(), 0);
      double z = 0, z_gold = 0;
      for (size_t c = 0; c < list.size(); ++c) {
        p[c] = std::exp(score[c] - top);
        z += p[c];
        if (list[c]->relevant) z_gold += p[c];
      }
      // d(-log(z_gold / z)) / d score_c = p_c / z - [relevant] p_c / z_gold
      for (size_t c = 0; c < list.size(); ++c) {
        const double g = p[c] / z - (list[c]->relevant ? p[c] / z_gold : 0.0);
        for (int i = 0; i < kNumRerankFeatures; ++i) grad[i] += g * list[c]->features[i] / scale[i];
      }
    }
    for (int i = 0; i < kNumRerankFeatures; ++i) {
      w[i] -= options.learning_rate * (grad[i] * norm + options.l2 * w[i]);
    }
  }
  RerankerModel m;
  for (int i = 0; i < kNumRerankFeatures; ++i) m.weights[i] = static_cast<float>(w[i] / scale[i]);
  m.bias = 0;
  return m;
}

absl::StatusOr<RerankerModel> TrainMlpReranker(const std::vector<RerankExample>& examples,
                                               const MlpTrainOptions& options) {
  if (options.hidden < 1 || options.members < 1 ||
      static_cast<size_t>(options.hidden) * options.members > kMaxHiddenUnits ||
      options.epochs < 0 || !(options.learning_rate > 0) || !(options.l2 >= 0)) {
    return absl::InvalidArgumentError("re-ranker network options out of range");
  }
  CM_ASSIGN_OR_RETURN(const RankingLists lists, GroupForRanking(examples));
  constexpr int F = kNumRerankFeatures;
  const int H = options.hidden;
  // Standardised features (folded into the first layer at the end).
  std::array<double, F> mean{}, sd{};
  size_t rows = 0;
  for (const auto& list : lists) {
    for (const RerankExample* e : list) {
      for (int i = 0; i < F; ++i) mean[i] += e->features[i];
      ++rows;
    }
  }
  for (double& m : mean) m /= static_cast<double>(rows);
  for (const auto& list : lists) {
    for (const RerankExample* e : list) {
      for (int i = 0; i < F; ++i) sd[i] += (e->features[i] - mean[i]) * (e->features[i] - mean[i]);
    }
  }
  for (double& s : sd) s = std::sqrt(s / static_cast<double>(rows)) + 1e-6;
  std::vector<std::vector<std::array<double, F>>> x(lists.size());
  std::vector<std::vector<double>> target(lists.size());
  for (size_t l = 0; l < lists.size(); ++l) {
    double relevant = 0;
    for (const RerankExample* e : lists[l]) relevant += e->relevant ? 1 : 0;
    for (const RerankExample* e : lists[l]) {
      std::array<double, F> row;
      for (int i = 0; i < F; ++i) row[i] = (e->features[i] - mean[i]) / sd[i];
      x[l].push_back(row);
      target[l].push_back(e->relevant ? 1.0 / relevant : 0.0);
    }
  }
  // Parameters of one network, flat: W1 (F x H, by feature), b1 (H), w2 (H), b2.
  const size_t n_w1 = static_cast<size_t>(F) * H, n_params = n_w1 + 2 * H + 1;
  const size_t o_b1 = n_w1, o_w2 = n_w1 + H, o_b2 = n_w1 + 2 * H;
  RerankerModel model;
  const size_t units = static_cast<size_t>(H) * options.members;
  model.hidden_weights.assign(static_cast<size_t>(F) * units, 0.f);
  model.hidden_bias.assign(units, 0.f);
  model.hidden_output.assign(units, 0.f);
  double bias = 0;
  std::vector<double> pre, act, score, p, grad(n_params), m1(n_params), m2(n_params);
  for (int member = 0; member < options.members; ++member) {
    // Normal(0, 0.3) starting weights by Box-Muller from a fixed-seed mt19937_64 (the same
    // numbers with every standard library), biases 0.
    std::mt19937_64 rng(options.seed * 1000003ULL + static_cast<uint64_t>(member));
    auto uniform = [&rng] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
    auto normal = [&] {
      return 0.3 * std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
    };
    std::vector<double> w(n_params, 0.0);
    for (size_t k = 0; k < n_w1; ++k) w[k] = normal();
    for (int h = 0; h < H; ++h) w[o_w2 + h] = normal();
    std::fill(m1.begin(), m1.end(), 0.0);
    std::fill(m2.begin(), m2.end(), 0.0);
    for (int epoch = 0; epoch < options.epochs; ++epoch) {
      std::fill(grad.begin(), grad.end(), 0.0);
      for (size_t l = 0; l < lists.size(); ++l) {
        const size_t n = x[l].size();
        pre.assign(n * H, 0.0);
        act.resize(n * H);
        score.assign(n, w[o_b2]);
        double top = -1e300;
        for (size_t c = 0; c < n; ++c) {
          for (int h = 0; h < H; ++h) {
            double a = w[o_b1 + h];
            for (int i = 0; i < F; ++i) a += x[l][c][i] * w[i * H + h];
            act[c * H + h] = std::tanh(a);
            score[c] += w[o_w2 + h] * act[c * H + h];
          }
          top = std::max(top, score[c]);
        }
        p.resize(n);
        double z = 0;
        for (size_t c = 0; c < n; ++c) z += (p[c] = std::exp(score[c] - top));
        for (size_t c = 0; c < n; ++c) {
          const double dz = p[c] / z - target[l][c];  // d(cross-entropy) / d score
          grad[o_b2] += dz;
          for (int h = 0; h < H; ++h) {
            const double a = act[c * H + h];
            grad[o_w2 + h] += dz * a;
            const double da = dz * w[o_w2 + h] * (1 - a * a);
            grad[o_b1 + h] += da;
            for (int i = 0; i < F; ++i) grad[i * H + h] += da * x[l][c][i];
          }
        }
      }
      const double inv = 1.0 / static_cast<double>(lists.size());
      const double c1 = 1 - std::pow(0.9, epoch + 1), c2 = 1 - std::pow(0.999, epoch + 1);
      for (size_t k = 0; k < n_params; ++k) {
        double g = grad[k] * inv;
        if (k < n_w1 || (k >= o_w2 && k < o_b2)) g += options.l2 * w[k];
        m1[k] = 0.9 * m1[k] + 0.1 * g;
        m2[k] = 0.999 * m2[k] + 0.001 * g * g;
        w[k] -= options.learning_rate * (m1[k] / c1) / (std::sqrt(m2[k] / c2) + 1e-8);
      }
    }
    // Fold the standardisation into the first layer and the mean over members into the output.
    for (int h = 0; h < H; ++h) {
      const size_t u = static_cast<size_t>(member) * H + h;
      double b = w[o_b1 + h];
      for (int i = 0; i < F; ++i) {
        model.hidden_weights[i * units + u] = static_cast<float>(w[i * H + h] / sd[i]);
        b -= w[i * H + h] * mean[i] / sd[i];
      }
      model.hidden_bias[u] = static_cast<float>(b);
      model.hidden_output[u] = static_cast<float>(w[o_w2 + h] / options.members);
    }
    bias += w[o_b2] / options.members;
  }
  model.bias = static_cast<float>(bias);
  return model;
}

}  // namespace claimmatch
