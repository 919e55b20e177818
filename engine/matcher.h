// Matcher: for a query text, the checked claims it repeats, best first, each with a decision.
//
//   query -> cleaned (tags spelled out, run-together hashtags broken over the claims' vocabulary,
//            links removed)
//         -> dense candidates (FAISS, cosine) + lexical candidates (BM25)   [mode picks channels]
//         -> union -> the best of a preliminary fusion, less the claims stated after a dated
//            text (MatchOptions::later_claim_days) -> features (reranker.h) -> re-ranker
//            probability -> claimant agreement of the best candidates (reranker.h, hybrid mode;
//            every candidate votes, including those the filters then leave out: who said the
//            text does not depend on what is shown) -> sorted
//         -> decision per result, from its confidence (the re-ranker's absolute-feature model):
//            kMatch when >= match_threshold and the query has at least min_words_for_match words;
//            kSuggest when >= suggest_threshold; else kNone.
//   Results under the suggest threshold carry kNone: "no match" is an answer.
//
// Memory: for databases of up to kMaxSnapshotClaims claims the Matcher keeps, per claim, what the
// features need (word count, numbers and capitalised names of claim + title) and, for a flat vector
// index of at most kMaxSnapshotVectorBytes, a copy of the claim vectors. Candidates are then scored
// without SQLite reads (the store is read only for the k results reported, once per batch), and
// the dense channel is engine/dense_scan.h over the copy: an 8-bit prefilter plus float scores of
// the rows it cannot rule out, exactly the top k of a full float scan (single-threaded; no OpenMP
// threads). A text's results do not depend on the batch it comes in. The snapshot is read from
// the store and the vector index once (Prepare(), else the first query; the claims' analysis on
// two threads): about 0.3 s of CPU and 2.5 KiB per claim at 19k claims of 400-d. Larger databases
// use the indexes and the store per query.
//
// Thread safety: Match / MatchBatch / Candidates / Prepare are const and may run concurrently from
// many threads (the database's read side is thread-safe; the snapshot is built once under a
// lock); the Matcher borrows `db`, which must outlive it. With MatchOptions::parallel_channels a
// Matcher starts one worker thread (at the first such query; stopped by the destructor) shared by
// all callers: a caller whose task the worker has not started yet runs it itself. The worker
// polls for 200 µs after each task before it sleeps (a lookup's next task comes sooner than a
// wake-up).
#ifndef CLAIMMATCH_ENGINE_MATCHER_H_
#define CLAIMMATCH_ENGINE_MATCHER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "engine/claim.h"
#include "engine/claim_database.h"
#include "engine/claim_store.h"
#include "engine/reranker.h"

namespace claimmatch {

enum class MatchMode { kDense, kLexical, kHybrid };
enum class Decision { kNone, kSuggest, kMatch };

// "dense" / "lexical" / "hybrid"; "match" / "suggest" / "none".
absl::string_view MatchModeName(MatchMode mode);
absl::StatusOr<MatchMode> ParseMatchMode(absl::string_view name);
absl::string_view DecisionName(Decision decision);

struct MatchOptions {
  MatchMode mode = MatchMode::kHybrid;
  int k = 5;                               // results returned
  int dense_candidates = 50;               // FAISS top-n fed to the re-ranker
  int lexical_candidates = 60;             // BM25 top-n fed to the re-ranker
  std::optional<float> match_threshold;    // default: the re-ranker's calibrated value
  std::optional<float> suggest_threshold;  // default: the re-ranker's calibrated value
  // Queries of fewer words (as written: a tag is one word, a link none) are at most suggested.
  int min_words_for_match = 4;
  // A text that shares with the claim only names and terms of BM25 idf below this
  // (engine/name_overlap.h) is at most suggested. 0 turns the rule off.
  double names_only_min_idf = 2.0;
  ClaimFilter filter;  // language / publisher / verdict / claim date
  // The texts' date, in any form engine/dates.h NormalizeDate reads ("" = none), for the
  // re-ranker's date-proximity feature, in place of an embedded tweet's signature date; a date
  // that is not a full day (or not a date) counts as none. MatchBatch's `dates` give one per text.
  std::string date;
  // A text with a date (the one above, MatchBatch's, or an embedded tweet's signature date) does
  // not repeat a claim first stated more than this many days after it: such candidates are left
  // out, in every mode (a claim not yet made could not have been checked when the text was
  // written; on CheckThat! debates-train 7 of 562 gold claims were stated after their sentence,
  // 5 of them within a week). Only the claim date counts (a review date says when it was checked,
  // not when it was first said). Negative: keep them.
  int later_claim_days = 1;
  // Match of one text in hybrid mode runs the lexical channel (BM25) on a worker thread owned by
  // the Matcher while the calling thread runs the dense one, then joins the BM25 search
  // (Bm25Index::SharedSearch); without the snapshot (large databases) the two threads also split
  // the candidates' store reads and features. Lower latency for one lookup, the same results.
  // For interactive lookups; batch callers that keep the cores busy leave it off.
  bool parallel_channels = false;
};

struct MatchResult {
  ClaimRowId row_id = -1;
  ClaimRecord claim;
  float score = 0;       // ranking score (re-ranker probability, 0..1)
  float confidence = 0;  // decision confidence (0..1), compared with the thresholds
  float dense = 0;       // cosine similarity (0 when the dense channel is off)
  float lexical = 0;     // BM25 as a fraction of the query's best possible score (0..1)
  float bm25 = 0;        // raw BM25 score
  Decision decision = Decision::kNone;
};

// One query's candidates with their features, for training and inspecting the re-ranker.
struct Candidate {
  ClaimRowId row_id = -1;
  float dense = 0, lexical = 0, bm25 = 0;
  RerankFeatures features{};
  uint64_t claimant = 0;  // ClaimantKey of the claim's claimant (0: none)
};

// Returns the hybrid mode's ranking score of each of one query's candidates, what MatchBatch sorts
// by: the re-ranker's log-odds, its claimant agreement over them, as probabilities.
std::vector<float> HybridScores(const RerankerModel& reranker,
                                absl::Span<const Candidate> candidates);

// Up to this many claims the Matcher keeps its in-memory snapshot (see the top of this file).
inline constexpr int64_t kMaxSnapshotClaims = 300000;
// The snapshot copies the flat vectors only up to this size (131,072 claims of 512 floats).
inline constexpr int64_t kMaxSnapshotVectorBytes = int64_t{256} << 20;

class Matcher {
 public:
  // `reranker` defaults to RerankerModel::Default() when empty. Databases of more than
  // `max_snapshot_claims` claims are matched without the in-memory snapshot.
  Matcher(const ClaimDatabase& db, RerankerModel reranker,
          int64_t max_snapshot_claims = kMaxSnapshotClaims);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Builds the in-memory snapshot now instead of at the first query (a no-op above
  // max_snapshot_claims or when built). Returns OK; fails with store / index read errors.
  absl::Status Prepare() const;

  // Returns up to options.k results for `text`, best first. Fails on store / index errors.
  absl::StatusOr<std::vector<MatchResult>> Match(absl::string_view text,
                                                 const MatchOptions& options) const;
  // The same for many texts at once (one embedding call and one batched FAISS search). `dates` is
  // empty or holds one date per text (as MatchOptions::date; "" leaves options.date). Fails with
  // kInvalidArgument when `dates` is neither, or on store / index errors.
  absl::StatusOr<std::vector<std::vector<MatchResult>>> MatchBatch(
      absl::Span<const std::string> texts, const MatchOptions& options,
      absl::Span<const std::string> dates = {}) const;
  // The candidates of each text (union of both channels, unfiltered, unsorted) with features;
  // `dates` as MatchBatch's. Fails with kInvalidArgument when `dates` is neither empty nor one per
  // text, or on store / index errors.
  absl::StatusOr<std::vector<std::vector<Candidate>>> Candidates(
      absl::Span<const std::string> texts, const MatchOptions& options,
      absl::Span<const std::string> dates = {}) const;

  const RerankerModel& reranker() const { return reranker_; }

 private:
  struct Snapshot;  // matcher.cc
  class Worker;     // matcher.cc: the thread of parallel_channels

  // Candidates, also giving each text with its tags spelled out (SplitQueryTags) in `*split_out`
  // when non-null, so that MatchBatch's rules read the text as the channels did without redoing it.
  // Checks `dates` (empty or one per text) for both public entry points.
  absl::StatusOr<std::vector<std::vector<Candidate>>> Candidates(
      absl::Span<const std::string> texts, const MatchOptions& options,
      absl::Span<const std::string> dates, std::vector<std::string>* split_out) const;

  // Returns SplitTags(text) with run-together hashtags broken into words over the BM25 index's
  // vocabulary (engine/text_analysis.h BreakWord): how queries are spelled out for both channels.
  std::string SplitQueryTags(absl::string_view text) const;

  // Returns the worker thread, started on first use.
  Worker* GetWorker() const;

  // Returns the snapshot (building it on first use), or null above max_snapshot_claims_.
  absl::StatusOr<const Snapshot*> GetSnapshot() const;

  const ClaimDatabase& db_;
  RerankerModel reranker_;
  const int64_t max_snapshot_claims_;
  mutable absl::Mutex snapshot_mu_;
  mutable bool snapshot_done_ ABSL_GUARDED_BY(snapshot_mu_) = false;
  mutable std::unique_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(snapshot_mu_);
  mutable absl::Mutex worker_mu_;
  mutable std::unique_ptr<Worker> worker_ ABSL_GUARDED_BY(worker_mu_);
};

// Spells out compound hashtags and handles (embeddings/text_clean.h SplitTags:
// "#PizzaVendingMachine"
// -> "PizzaVendingMachine Pizza Vending Machine", "@BernieSanders" -> "@BernieSanders Bernie
// Sanders"), removes links (http(s)://..., www...., pic.twitter.com/...) and collapses whitespace.
// Handles and the "— Name (@handle) date" signature of embedded tweets are kept: on the CheckThat!
// tweets they name who made the claim, and removing them costs MAP@5.
std::string CleanQueryText(absl::string_view text);

// Words in `text` for the re-ranker's length feature, as it was trained: runs of ASCII letters or
// digits and of non-ASCII bytes (so an emoji counts, a Chinese sentence is one). The short-text
// rule counts with engine/text_analysis.h CountWrittenWords instead.
int CountWords(absl::string_view text);

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_MATCHER_H_
