// The re-ranker: a logistic model (optionally with a small hidden layer) over cheap query-claim
// features, scoring each candidate claim with the probability that it is the claim the query
// repeats. One model serves ranking (sort by
// probability) and decisions (thresholds on the top probability), since a probability means the
// same thing for every query.
//
// Features (RerankFeatures, in this order): dense cosine; lexical BM25 as a fraction of the
// query's best possible BM25 (0..1); both relative to the best candidate of the query; reciprocal
// ranks in each channel; whether each channel retrieved it; share of the query's numbers and of
// its capitalised names found in the claim; log length ratio; the IDF-weighted share of the
// claim's terms that the query contains (claim coverage: a repeat says most of the claim) and of
// the query's terms that the claim + title contain (query coverage); date proximity,
// exp(-|days between the query's date and the claim's| / 7), when both are known (the query's:
// an embedded tweet's signature date; the claim's: its claim date, else its review date), else 0:
// a claim spreads in waves, and its fact-check appears within days of the posts that carry it; and
// the same at a year's scale, exp(-|days| / 365) (a speaker repeats the claims of the past months,
// and a claim checked years before is less likely the one a text repeats). The
// candidate-set-relative ones make the scores rank-aware; the absolute ones keep them comparable
// across queries.
//
// Ranking has a second stage, claimant agreement (AddClaimantAgreement): the claimants of a
// query's best candidates vote with the listwise probability of each candidate (the softmax of
// their log-odds), and each candidate's log-odds rise by claimant_weight x its claimant's share of
// the vote. A sentence whose likeliest checked claims were said by one person most likely repeats
// a claim of that person (a debate sentence and the speaker's checked claims); claims without a
// claimant (Snopes') are left as they are.
//
// The ranking model may have a hidden layer (a small two-layer network: H tanh units over the
// features, then a weighted sum added to the linear part); `train reranker` fits it as the mean of
// a few networks trained from different starting points, which is again one such layer.
//
// Stored as JSON {"format": "claimmatch-reranker", "version": 5, "features": [names...],
// "weights": [...], "bias": b, "hidden": {"weights": [[H per feature]...], "bias": [H],
// "output": [H]} (optional), "decision_weights": [...], "decision_bias": d, "claimant_weight": w,
// "claimant_depth": n, "model_hash": "...", "match_threshold": t1, "suggest_threshold": t2,
// "trained_on": "...", "checksum": "..."}; version 1 files (no claimant fields) read with weight
// 0, and files whose feature list is the first n of this claimmatch's (made before the later ones
// existed) with weight 0 for the others. A file made for another model (its model_hash) or
// another feature list is refused; every number of a hidden layer must be finite.
//
// Thread safety: immutable after construction; the const methods may run concurrently.
#ifndef CLAIMMATCH_ENGINE_RERANKER_H_
#define CLAIMMATCH_ENGINE_RERANKER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace claimmatch {

inline constexpr int kNumRerankFeatures = 15;
using RerankFeatures = std::array<float, kNumRerankFeatures>;

// The indices of the two date features (0 for a text or claim without a day).
inline constexpr int kDateProximityFeature = 13;
inline constexpr int kDateProximityYearFeature = 14;

// Names of the features, in order (also written into the model file).
const std::array<const char*, kNumRerankFeatures>& RerankFeatureNames();

struct RerankerModel {
  // Ranking: may use every feature (the candidate-set-relative ones make it rank-aware).
  std::array<float, kNumRerankFeatures> weights{};
  float bias = 0;
  // The hidden layer (none when hidden_output is empty): Logit adds, for each unit h,
  // hidden_output[h] x RerankTanh(hidden_bias[h] + sum_i hidden_weights[i * H + h] x f[i]), with
  // H = hidden_output.size() and hidden_weights by feature, then unit (kNumRerankFeatures x H).
  std::vector<float> hidden_weights;
  std::vector<float> hidden_bias;
  std::vector<float> hidden_output;
  // Decisions: a second logistic model over the absolute features only (cosine, lexical, number
  // and name overlap, claim coverage), so that "how sure" does not depend on being the best of a
  // weak list.
  std::array<float, kNumRerankFeatures> decision_weights{};
  float decision_bias = 0;
  std::string model_hash;  // weights hash of the embedding model it was trained with ("" = any)
  float match_threshold = 0.6f;
  float suggest_threshold = 0.45f;
  // Claimant agreement: the weight (0: off) and how many of the best first-stage candidates vote.
  float claimant_weight = 0;
  int claimant_depth = 10;
  std::string trained_on;

  // The built-in model used when none is trained: score fusion of 0.75 x lexical (BM25 fraction)
  // + 0.25 x dense cosine, through a sigmoid.
  static RerankerModel Default();
  // Ranking score (a probability under the ranking model): Probability(Logit(f)).
  float Score(const RerankFeatures& f) const;
  // The ranking model's log-odds.
  float Logit(const RerankFeatures& f) const;
  // Returns 1 / (1 + exp(-logit)).
  static float Probability(float logit);
  // Decision confidence: probability that the candidate is the repeated claim, from the absolute
  // features only; compared with the thresholds.
  float Confidence(const RerankFeatures& f) const;
  // The second ranking stage over one query's candidates: `logits` holds their Logit()s and
  // `claimants` their claimant keys (ClaimantKey; 0: none). The claimant_depth best (equal ones by
  // position) vote with exp(logit - best logit); share(c) = the votes of those with claimant c /
  // all their votes. Each logit with a claimant becomes logit + claimant_weight x share. No-op
  // when claimant_weight is 0. REQUIRES: logits.size() == claimants.size().
  void AddClaimantAgreement(absl::Span<const uint64_t> claimants, absl::Span<float> logits) const;
  // Indexes of the features the decision model may use.
  static const std::array<int, 5>& AbsoluteFeatures();

  // Returns the JSON text (with checksum).
  std::string ToJson() const;
  // Parses ToJson()'s output; fails with kDataLoss naming `name` (bad JSON, checksum, feature
  // list) or kFailedPrecondition (newer version).
  static absl::StatusOr<RerankerModel> FromJson(absl::string_view json, absl::string_view name);
};

// Returns tanh(x) within 5e-7 (Eigen's rational approximation on [-7.9988, 7.9988],
// +-1 beyond, x itself below 0.0004 in magnitude), the same whatever the caller's vector width:
// the re-ranker's hidden units.
float RerankTanh(float x);

// Returns the key that groups a claimant's claims for AddClaimantAgreement: a fingerprint of the
// name with surrounding space trimmed and ASCII letters lower-cased; 0 for an empty name.
uint64_t ClaimantKey(absl::string_view claimant);

// One training example: a query's candidate and whether it is a gold claim.
struct RerankExample {
  int query = 0;  // examples of one query share this number
  RerankFeatures features{};
  bool relevant = false;
};

struct RerankTrainOptions {
  int epochs = 300;
  float learning_rate = 0.5f;
  float l2 = 1e-3f;
};

// Fits the logistic model (full-batch gradient descent on the log loss, positives weighted to
// balance the classes, L2-regularised); deterministic. Fails with kInvalidArgument when there is
// no positive or no negative example.
absl::StatusOr<RerankerModel> TrainReranker(const std::vector<RerankExample>& examples,
                                            const RerankTrainOptions& options = {});

// Fits the ranking weights with a listwise loss: per query, a softmax over its candidates and the
// negative log of the probability mass on its relevant ones (full-batch gradient descent,
// L2-regularised, deterministic); bias 0 (only the order matters). Queries whose candidates are
// all relevant or all not are skipped. Fails with kInvalidArgument when no query is left.
absl::StatusOr<RerankerModel> TrainListwiseReranker(const std::vector<RerankExample>& examples,
                                                    const RerankTrainOptions& options = {});

struct MlpTrainOptions {
  int hidden = 8;   // tanh units per network
  int members = 5;  // networks averaged (each from its own random start)
  int epochs = 400;
  double learning_rate = 0.05;  // Adam
  double l2 = 1e-2;             // on the connection weights, not the biases
  uint64_t seed = 1;
};

// Fits a two-layer ranking model with a listwise loss: per query with relevant and other
// candidates, the cross-entropy between the softmax of its candidates' scores and the uniform
// distribution over its relevant ones; features standardised; full-batch Adam; deterministic for
// given options. The result averages `members` networks: one hidden layer of members x hidden
// units (linear weights 0). Fails with kInvalidArgument when no query is left, or for options out
// of range.
absl::StatusOr<RerankerModel> TrainMlpReranker(const std::vector<RerankExample>& examples,
                                               const MlpTrainOptions& options = {});

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_RERANKER_H_
