#include "engine/reranker.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "nlohmann/json.hpp"

namespace claimmatch {
namespace {

using json = nlohmann::json;

constexpr int kVersion = 3;  // 2: claimant agreement; 3: date proximity

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

const std::array<const char*, kNumRerankFeatures>& RerankFeatureNames() {
  static const std::array<const char*, kNumRerankFeatures> kNames = {
      "cosine",         "lexical",       "cosine_minus_best", "lexical_over_best",
      "dense_rr",       "lexical_rr",    "in_dense",          "in_lexical",
      "number_overlap", "name_overlap",  "log_length_ratio",  "claim_coverage",
      "query_coverage", "date_proximity"};
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

float RerankerModel::Logit(const RerankFeatures& f) const {
  float s = bias;
  for (int i = 0; i < kNumRerankFeatures; ++i) s += weights[i] * f[i];
  return s;
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

absl::StatusOr<RerankerModel> TrainListwiseReranker(const std::vector<RerankExample>& examples,
                                                    const RerankTrainOptions& options) {
  // Group the examples by query; a query without a relevant candidate teaches nothing here.
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

}  // namespace claimmatch
