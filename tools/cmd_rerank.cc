// claimmatch train reranker: fits the re-ranker on training queries and calibrates its decision
// thresholds on development queries.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "embeddings/file_util.h"
#include "engine/claim_database.h"
#include "engine/eval_metrics.h"
#include "engine/matcher.h"
#include "engine/reranker.h"
#include "tools/commands.h"

namespace claimmatch::cli {
namespace {

struct QuerySet {
  std::string db, queries, qrels;
  std::string Name() const { return queries; }
};

absl::StatusOr<std::vector<QuerySet>> ParseSets(const std::string& spec) {
  std::vector<QuerySet> sets;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(item, ':');
    if (parts.size() != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("a query set is DB:QUERIES.tsv:QRELS (got '", item, "')"));
    }
    sets.push_back({parts[0], parts[1], parts[2]});
  }
  return sets;
}

// The embedding model of each database (its manifest's), loaded once per path; `model` (--model)
// overrides them all. Training sets may come from other models than the dev sets: cross-fitted
// models that did not see those training queries give the re-ranker honest cosines to learn from.
class Encoders {
 public:
  explicit Encoders(std::string model) : override_(std::move(model)) {}
  absl::StatusOr<const SentenceEncoder*> For(const std::string& db) {
    absl::StatusOr<std::string> path = DatabaseModelDir(override_, db);
    if (!path.ok()) return path.status();
    auto it = loaded_.find(*path);
    if (it == loaded_.end()) {
      auto e = LoadEncoder(*path, EncoderOptions().threads);
      if (!e.ok()) return e.status();
      it = loaded_.emplace(*path, *std::move(e)).first;
    }
    return it->second.get();
  }

 private:
  std::string override_;
  std::map<std::string, std::unique_ptr<SentenceEncoder>> loaded_;
};

// The candidates of every query of a set, with which are gold.
struct Judged {
  std::vector<std::vector<Candidate>> candidates;
  std::vector<std::vector<bool>> gold;
  std::vector<int> gold_count;
};

absl::StatusOr<Judged> Judge(const QuerySet& set, const SentenceEncoder& encoder) {
  auto db = ClaimDatabase::Open(set.db, ClaimDatabase::Mode::kReadOnly, encoder);
  if (!db.ok()) return db.status();
  auto queries = ReadQueriesTsv(set.queries);
  if (!queries.ok()) return queries.status();
  auto qrels = ReadQrels(set.qrels);
  if (!qrels.ok()) return qrels.status();
  Matcher matcher(**db, RerankerModel::Default());
  MatchOptions options;
  Judged j;
  std::vector<std::string> texts, dates;
  std::vector<const absl::flat_hash_set<std::string>*> golds;
  for (const EvalQuery& q : *queries) {
    auto it = qrels->find(q.id);
    if (it == qrels->end()) continue;
    texts.push_back(q.text);
    dates.push_back(q.date);  // as eval ranks them
    golds.push_back(&it->second);
  }
  auto cands = matcher.Candidates(texts, options, dates);
  if (!cands.ok()) return cands.status();
  for (size_t q = 0; q < texts.size(); ++q) {
    std::vector<ClaimRowId> rows;
    for (const Candidate& c : (*cands)[q]) rows.push_back(c.row_id);
    auto records = (*db)->store().GetByRowIds(rows);
    if (!records.ok()) return records.status();
    std::vector<bool> g;
    for (const auto& r : *records) g.push_back(r.has_value() && golds[q]->count(r->id) > 0);
    j.candidates.push_back(std::move((*cands)[q]));
    j.gold.push_back(std::move(g));
    j.gold_count.push_back(static_cast<int>(golds[q]->size()));
  }
  return j;
}

// MAP@5 of ranking each query's candidates by `model`, plus (top score, top is gold) pairs: each
// query's top answer once and its best wrong candidate `no_claim_weight` times.
double MapAt5(const Judged& j, const RerankerModel& model,
              std::vector<std::pair<float, bool>>* tops, int no_claim_weight = 1) {
  double total = 0;
  for (size_t q = 0; q < j.candidates.size(); ++q) {
    std::vector<int> order(j.candidates[q].size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    const std::vector<float> s = HybridScores(model, j.candidates[q]);  // as the matcher ranks
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return s[a] != s[b] ? s[a] > s[b] : j.candidates[q][a].row_id < j.candidates[q][b].row_id;
    });
    double ap = 0;
    int hits = 0;
    for (size_t r = 0; r < std::min<size_t>(5, order.size()); ++r) {
      if (j.gold[q][order[r]]) ap += static_cast<double>(++hits) / (r + 1);
    }
    total += ap / std::max(1, j.gold_count[q]);
    if (tops != nullptr) {
      // The answer given: the top candidate, right when gold. And the answer that would be given
      // if the repeated claim were not in the database (the best non-gold candidate): always
      // wrong. Dev queries all repeat a claim, so without these the thresholds would be tuned on
      // a world where every sentence has a match.
      const auto& c = j.candidates[q];
      if (!order.empty())
        tops->push_back({model.Confidence(c[order[0]].features), j.gold[q][order[0]]});
      for (int i : order) {
        if (!j.gold[q][i]) {
          for (int w = 0; w < no_claim_weight; ++w) {
            tops->push_back({model.Confidence(c[i].features), false});
          }
          break;
        }
      }
    }
  }
  return j.candidates.empty() ? 0 : total / j.candidates.size();
}

// The mean over `sets` of their MAP@5 under `model`.
double MeanMapAt5(const std::vector<Judged>& sets, const RerankerModel& model) {
  double total = 0;
  for (const Judged& j : sets) total += MapAt5(j, model, nullptr);
  return total / sets.size();
}

// The lowest threshold whose top-1 answers above it are right at least `precision` of the time
// (at least `min_support` of them), scanning from the highest scores down.
float Calibrate(std::vector<std::pair<float, bool>> tops, double precision, int min_support,
                float fallback) {
  std::sort(tops.begin(), tops.end(), [](auto& a, auto& b) { return a.first > b.first; });
  float best = fallback;
  int right = 0;
  for (size_t i = 0; i < tops.size(); ++i) {
    right += tops[i].second ? 1 : 0;
    const int n = static_cast<int>(i) + 1;
    if (n >= min_support && static_cast<double>(right) / n >= precision) best = tops[i].first;
  }
  return best;
}

}  // namespace

int RunTrainReranker(const Args& args) {
  ArgParser p("train reranker",
              "claimmatch train reranker --train DB:Q.tsv:Q.qrels,... --dev DB:Q.tsv:Q.qrels,... "
              "--out FILE",
              "Fits the hybrid mode's re-ranker over dense, BM25 and overlap features on the\n"
              "candidates of the training queries (a pointwise and a listwise logistic model\n"
              "and a small two-layer network; the dev queries choose among them and a grid of\n"
              "score fusions), reports MAP@5 on the dev\n"
              "queries, and calibrates the decision thresholds on them: `match` is the lowest\n"
              "probability at which the answers above it are right >= 95% of the time, `suggest`\n"
              "the lowest at which they are right >= 80%. The answers are each dev query's top\n"
              "candidate and, as a query whose claim is not in the database, its best wrong one\n"
              "(counted --no-claim-weight times: in a stream most texts repeat no checked claim).\n"
              "The claimant agreement (the best candidates' claimants vote; see README) takes\n"
              "the weight and depth that maximise the training queries' MAP@5.\n"
              "Each database is read with its own model, so --train sets may come from\n"
              "cross-fitted models (trained without those queries); the re-ranker is for the\n"
              "--dev databases' model. A query id that begins with a day\n"
              "(20170822_Trump_phoenix_0204) dates the query, as in `claimmatch eval`.");
  p.Option("train", "training query sets: DB:QUERIES.tsv:QRELS, comma-separated", "")
      .Option("dev", "development query sets (selection and calibration)", "")
      .Option("model", "model directory for every database (default: each one's own)", "",
              "CLAIMMATCH_MODEL")
      .Option("out", "where to write the re-ranker (JSON)", "")
      .Option("match-precision", "dev precision required for `match`", "0.95")
      .Option("suggest-precision", "dev precision required for `suggest`", "0.8")
      .Option("no-claim-weight",
              "how many times each dev query's best wrong candidate counts in the calibration, "
              "against its top answer once",
              "2")
      .Flag("undated-copies",
            "also train on a copy of every training query without its date (the date features\n"
            "zeroed), so that texts without a date are ranked well too")
      .Option("provenance",
              "how the query sets were made, recorded in the file's trained_on instead of "
              "their paths (which may be temporary)",
              "")
      .Example(
          "claimmatch train reranker --train snopes:tweets-train.tsv:tweets-train.qrels "
          "--dev snopes:tweets-dev.tsv:tweets-dev.qrels --out models/default/reranker.json");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  auto train = ParseSets(p.Get("train"));
  if (!train.ok()) return UsageError(p, train.status().message());
  auto dev = ParseSets(p.Get("dev"));
  if (!dev.ok()) return UsageError(p, dev.status().message());
  if (train->empty() || dev->empty() || p.Get("out").empty()) {
    return UsageError(p, "--train, --dev and --out are required");
  }
  double match_precision = 0.95, suggest_precision = 0.8;
  if (!p.GetDouble("match-precision", &match_precision).ok() ||
      !p.GetDouble("suggest-precision", &suggest_precision).ok()) {
    return UsageError(p, "--match-precision and --suggest-precision need numbers");
  }
  int no_claim_weight = 2;
  if (!p.GetInt("no-claim-weight", &no_claim_weight).ok() || no_claim_weight < 1 ||
      no_claim_weight > 100) {
    return UsageError(p, "--no-claim-weight needs a whole number from 1 to 100");
  }
  Encoders encoders(p.Get("model"));
  // The model the re-ranker is for: the dev databases' (they must agree).
  const SentenceEncoder* encoder = nullptr;
  for (const QuerySet& set : *dev) {
    auto e = encoders.For(set.db);
    if (!e.ok()) return Fail(e.status());
    if (encoder != nullptr && (*e)->info().weights_hash != encoder->info().weights_hash) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "the --dev databases were built with different models (", encoder->info().weights_hash,
          " and ", (*e)->info().weights_hash, " in ", set.db, "); calibrate one model at a time")));
    }
    encoder = *e;
  }

  const bool undated_copies = p.GetFlag("undated-copies");
  std::vector<RerankExample> examples;
  std::vector<Judged> train_judged;
  int query_number = 0;
  for (const QuerySet& set : *train) {
    auto train_encoder = encoders.For(set.db);
    if (!train_encoder.ok()) return Fail(train_encoder.status());
    auto j = Judge(set, **train_encoder);
    if (!j.ok()) return Fail(j.status());
    // Copy 0: the queries as they are; copy 1 (--undated-copies): without their dates.
    for (int copy = 0; copy < (undated_copies ? 2 : 1); ++copy) {
      for (size_t q = 0; q < j->candidates.size(); ++q, ++query_number) {
        for (size_t c = 0; c < j->candidates[q].size(); ++c) {
          RerankFeatures f = j->candidates[q][c].features;
          if (copy == 1) f[kDateProximityFeature] = f[kDateProximityYearFeature] = 0;
          examples.push_back({query_number, f, j->gold[q][c]});
        }
      }
    }
    std::fprintf(stderr, "train reranker: %s: %zu queries\n", set.Name().c_str(),
                 j->candidates.size());
    train_judged.push_back(*std::move(j));
  }
  if (undated_copies) {
    std::fprintf(stderr, "train reranker: each training query also without its date (%d in all)\n",
                 query_number);
  }
  auto trained = TrainReranker(examples);
  if (!trained.ok()) return Fail(trained.status());
  trained->trained_on = "logistic (pointwise)";
  RerankTrainOptions listwise_options;
  listwise_options.epochs = 500;
  auto listwise = TrainListwiseReranker(examples, listwise_options);
  if (!listwise.ok()) return Fail(listwise.status());
  listwise->trained_on = "logistic (listwise)";
  const MlpTrainOptions network_options;
  auto network = TrainMlpReranker(examples, network_options);
  if (!network.ok()) return Fail(network.status());
  network->trained_on =
      absl::StrFormat("two-layer network (mean of %d, %d tanh units each; listwise)",
                      network_options.members, network_options.hidden);

  // Model selection on the dev sets: the logistic models and the network fitted on the training
  // queries, and a small grid of score fusions (3 parameters). The embedding model saw the training
  // queries, so its cosine is optimistic there; the dev sets decide which combination generalises.
  std::vector<Judged> dev_judged;
  std::vector<std::string> names;
  for (const QuerySet& set : *dev) {
    auto j = Judge(set, *encoder);
    if (!j.ok()) return Fail(j.status());
    dev_judged.push_back(*std::move(j));
    names.push_back(set.Name());
  }
  auto mean_map = [&](const RerankerModel& m) { return MeanMapAt5(dev_judged, m); };
  // The best candidate so far on mean dev MAP@5 (the first of equals).
  RerankerModel best;
  double best_map = -1;
  auto consider = [&](const RerankerModel& m) {
    const double map = mean_map(m);
    if (map > best_map + 1e-9) {
      best_map = map;
      best = m;
    }
    return map;
  };
  std::fprintf(stderr, "train reranker: pointwise logistic model: mean dev MAP@5 %.4f\n",
               consider(*trained));
  std::fprintf(stderr, "train reranker: listwise logistic model: mean dev MAP@5 %.4f\n",
               consider(*listwise));
  std::fprintf(stderr, "train reranker: %s: mean dev MAP@5 %.4f\n", network->trained_on.c_str(),
               consider(*network));
  for (int wl = 50; wl <= 95; wl += 5) {
    for (float rel : {0.f, 0.25f, 0.5f}) {
      for (float gap : {0.f, 0.5f, 1.f}) {
        RerankerModel m = RerankerModel::Default();
        m.weights[0] = 8.f * (100 - wl) / 100.f;
        m.weights[1] = 8.f * wl / 100.f;
        m.weights[3] = 8.f * rel;
        m.weights[2] = 8.f * gap;
        m.bias = -4.f - 4.f * rel;
        m.trained_on = absl::StrFormat(
            "score fusion %.2f x BM25 fraction + %.2f x cosine + %.2f x BM25/best + %.2f x "
            "(cosine - best), selected on dev",
            wl / 100.0, (100 - wl) / 100.0, rel, gap);
        consider(m);
      }
    }
  }
  best.model_hash = encoder->info().weights_hash;
  trained = best;

  // Claimant agreement, chosen on the training queries (their mean MAP@5 under the chosen
  // ranking; with cross-fitted sets, honest first-stage scores) rather than on dev, which reports
  // its effect.
  {
    auto train_map = [&](const RerankerModel& m) { return MeanMapAt5(train_judged, m); };
    RerankerModel m = *trained;
    m.claimant_weight = 0;
    double best_train = train_map(m);
    const double without = best_train;
    const double dev_without = mean_map(m);
    for (int depth : {5, 10, 20}) {
      for (int w = 1; w <= 8; ++w) {
        m.claimant_depth = depth;
        m.claimant_weight = static_cast<float>(w);
        const double map = train_map(m);
        if (map > best_train + 1e-9) {
          best_train = map;
          trained->claimant_weight = m.claimant_weight;
          trained->claimant_depth = depth;
        }
      }
    }
    std::fprintf(stderr,
                 "train reranker: claimant agreement weight %g over the best %d: mean train "
                 "MAP@5 %.4f -> %.4f, mean dev %.4f -> %.4f\n",
                 trained->claimant_weight, trained->claimant_depth, without, best_train,
                 dev_without, mean_map(*trained));
  }

  // The decision model: absolute features only, fitted on the dev sets' gold candidates against
  // each query's best wrong candidate under the chosen ranking.
  std::vector<RerankExample> decision_examples;
  for (size_t d = 0; d < dev_judged.size(); ++d) {
    const Judged& j = dev_judged[d];
    for (size_t q = 0; q < j.candidates.size(); ++q) {
      const auto& c = j.candidates[q];
      int best_wrong = -1;
      for (size_t i = 0; i < c.size(); ++i) {
        RerankFeatures f{};
        for (int a : RerankerModel::AbsoluteFeatures()) f[a] = c[i].features[a];
        if (j.gold[q][i]) {
          decision_examples.push_back({static_cast<int>(q), f, true});
        } else if (best_wrong < 0 ||
                   trained->Score(c[i].features) > trained->Score(c[best_wrong].features)) {
          best_wrong = static_cast<int>(i);
        }
      }
      if (best_wrong >= 0) {
        RerankFeatures f{};
        for (int a : RerankerModel::AbsoluteFeatures()) f[a] = c[best_wrong].features[a];
        decision_examples.push_back({static_cast<int>(q), f, false});
      }
    }
  }
  auto decision = TrainReranker(decision_examples);
  if (!decision.ok()) return Fail(decision.status());
  trained->decision_weights = decision->weights;
  trained->decision_bias = decision->bias;
  std::vector<std::pair<float, bool>> tops;
  for (size_t d = 0; d < dev_judged.size(); ++d) {
    const double fused = MapAt5(dev_judged[d], RerankerModel::Default(), nullptr);
    const double chosen = MapAt5(dev_judged[d], *trained, &tops, no_claim_weight);
    std::fprintf(stderr, "train reranker: %s: MAP@5 %.4f (built-in fusion %.4f), %zu queries\n",
                 names[d].c_str(), chosen, fused, dev_judged[d].candidates.size());
  }
  std::fprintf(stderr, "train reranker: chose %s\n", trained->trained_on.c_str());
  trained->match_threshold = Calibrate(tops, match_precision, 10, 0.99f);
  trained->suggest_threshold =
      std::min(trained->match_threshold, Calibrate(tops, suggest_precision, 10, 0.5f));
  std::vector<std::string> train_names;
  for (const QuerySet& set : *train) train_names.push_back(set.Name());
  trained->trained_on =
      p.Get("provenance").empty()
          ? absl::StrCat(trained->trained_on, "; train: ", absl::StrJoin(train_names, ", "),
                         "; selected and calibrated on: ", absl::StrJoin(names, ", "))
          : absl::StrCat(trained->trained_on, "; ", p.Get("provenance"));
  if (auto s = WriteFileAtomically(p.Get("out"), trained->ToJson()); !s.ok()) return Fail(s);
  std::fprintf(stderr, "train reranker: match threshold %.3f, suggest threshold %.3f; wrote %s\n",
               trained->match_threshold, trained->suggest_threshold, p.Get("out").c_str());
  return kExitOk;
}

}  // namespace claimmatch::cli
