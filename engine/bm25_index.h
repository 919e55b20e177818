// Bm25Index: an in-memory inverted index over claims (keyed by ClaimRowId) that answers OR queries
// with the exact BM25 top-k of SQLite FTS5's bm25() (k1 = 1.2, b = 0.75, one column made of all the
// document's fields):
//
//   score(D, Q) = sum over query terms q (a repeated term counts once per occurrence) of
//                 idf(q) * f(q, D) * (k1 + 1) / (f(q, D) + k1 * (1 - b + b * |D| / avgdl))
//   idf(q)      = log((N - n(q) + 0.5) / (n(q) + 0.5)), replaced by 1e-6 when <= 0
//
// with N the number of documents, n(q) the number holding q, |D| the number of tokens of D (all
// fields) and avgdl the mean of |D|. Scores are positive (FTS5's bm25() returns the negation).
// Text goes through engine/text_analysis.h: documents through AnalyzeText, queries through
// AnalyzeQuery (URLs removed, one-character tokens dropped).
//
// Search is block-max MaxScore (Turtle & Flood 1995; Ding & Suel 2011; as in Lucene and PISA).
// Each term's postings are cut into blocks of `postings_per_block` postings, and each block keeps
// its largest f and shortest |D|: a bound of the term's contribution to any document of the block
// (the contribution rises with f and falls with |D|). Documents are visited in windows of
// `window_docs` numbers; per window, each term is bounded by the blocks that overlap the window
// (and by its global bound, from the term's (f, |D|) Pareto points). A window whose bounds sum
// below the current k-th score is skipped; otherwise the terms whose bounds, summed from the
// lowest, stay below the k-th score are "non-essential": documents are found only through the
// other ("essential") terms, whose postings in the window are accumulated term-at-a-time. A
// non-essential term with few postings in the window and a bound worth a share of the k-th score
// is then merged into the documents found (its postings walked once); one pass over the window's
// scores, 16 documents at a time, keeps the documents that can still reach the k-th score, and only
// those probe the remaining non-essential terms (stop-word-like: long lists, tiny bounds). Without
// stored gains, each term caches its contributions for f < 8 at the current length. Documents are
// numbered by ascending length (|D|, then insertion order) in saved files and whenever the index is
// loaded or compacted, so a window holds documents of about the same length: its bounds are
// tighter, and lengths are read from runs of equal length instead of per posting. A loaded or
// compacted index of up to Bm25IndexOptions::max_docs_with_gains documents also stores each
// posting's gain f / (f + k1 * (1 - b + b * |D| / avgdl)) as a float, so scoring a posting is one
// multiply; any Add or Remove changes avgdl and makes them stale, and Search then computes the same
// float until the next load or compaction. Per-term contributions are rounded to fixed point (the
// finest power-of-two unit, at most 2^-48, that keeps a query's sums below 2^52: about 2^-44 for a
// typical ten-term query; at least one unit) before summing, so a document's score does not depend
// on summation order and the pruned search returns exactly what the exhaustive one
// (SearchExhaustive) does: same ids, same scores, same order.
//
// Layout: postings per term are two parallel arrays (internal document numbers ascending, term
// frequencies), a third of gains when stored (12 bytes per posting then), and block summaries; a
// forward list of each document's term ids supports removal (4 bytes per posting; a loaded index
// builds it at its first Add or Remove, so a process that only searches never holds it). Remove()
// leaves a tombstone: the document stops counting in N, n(q) and avgdl at once, and its postings
// are dropped when tombstones exceed a quarter of the live documents (and in every saved file,
// which holds live documents only, numbered by length).
//
// One search can also be shared by several threads (SharedSearch: a lookup's two cores): they take
// the windows in turn and share the k-th best score found so far, which any of them may prune
// with (a document below it cannot be in the top k whichever thread finds it); their top k are
// merged at the end, so the result is again exactly the exhaustive one.
//
// Thread safety: Search / SearchExhaustive / Save, SharedSearch and the accessors are const and
// may run concurrently with each other; Add / Remove need exclusive access (no concurrent readers).
#ifndef CLAIMMATCH_ENGINE_BM25_INDEX_H_
#define CLAIMMATCH_ENGINE_BM25_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/claim.h"

namespace claimmatch {

// One search result: (claim row id, BM25 score). Results come best first by the exact fixed-point
// score, equal scores by smaller id (distinct exact scores may round to the same float).
using Bm25Hit = std::pair<ClaimRowId, float>;

// One term of a query analysed by the caller (engine/text_analysis.h AnalyzeQuery's output): a
// distinct term and the number of times the query holds it.
struct Bm25QueryTerm {
  std::string term;
  int count = 1;
};

// Tuning of the pruned search; results never depend on it.
struct Bm25IndexOptions {
  // Postings summarised by one block bound. REQUIRES: >= 1.
  uint32_t postings_per_block = 64;
  // Document numbers per search window. REQUIRES: >= 1. 8192 was faster than 4096 at 19,250 and
  // at 1,000,000 claims on an AVX2-only AMD EPYC (benchmarks/README.md, session 16; 4096 had been
  // faster on a Xeon with four times the L2).
  uint32_t window_docs = 8192;
  // Indexes of at most this many documents store each posting's gain when loaded or compacted
  // (see the top of this file); larger ones compute gains while searching, which was faster there
  // (a stored gain saved 8-20% of the search time at 19,250 claims and cost 5-9% at 100,000 and
  // 1,000,000: benchmarks/README.md, "score_benchmark.sh").
  uint64_t max_docs_with_gains = 50'000;
  // Load computes the checksum of a payload of at least this many bytes on a second thread while
  // it parses it (a mismatch is still reported as such, never as a parse error).
  uint64_t parallel_checksum_bytes = uint64_t{8} << 20;
};

// What one Search() did (for benchmarks and profiling).
struct Bm25SearchStats {
  int64_t terms = 0;            // distinct query terms held by the index
  int64_t windows = 0;          // windows visited
  int64_t windows_skipped = 0;  // of which none could hold a top-k document
  int64_t essential_terms = 0;  // summed over the windows not skipped
  int64_t postings_scored = 0;  // essential postings accumulated
  int64_t postings_merged = 0;  // non-essential postings merged into the documents found
  int64_t candidates = 0;       // documents found through the essential terms
  int64_t probes = 0;           // non-essential postings looked up
  int64_t offered = 0;          // candidates that reached the top-k heap
};

class Bm25Index {
 public:
  static constexpr double kK1 = 1.2;
  static constexpr double kB = 0.75;
  // The idf of a term held by at least half of the documents (FTS5's value).
  static constexpr double kMinIdf = 1e-6;
  // Version of the file format written by Save(). Load also reads version 1 files whose terms hold
  // no character of the scripts now indexed as bigrams (engine/text_analysis.h HoldsBigramScript).
  static constexpr uint32_t kFormatVersion = 2;

  Bm25Index() = default;
  explicit Bm25Index(const Bm25IndexOptions& options);
  // Not copyable (it can be large); movable.
  Bm25Index(const Bm25Index&) = delete;
  Bm25Index& operator=(const Bm25Index&) = delete;
  Bm25Index(Bm25Index&&) = default;
  Bm25Index& operator=(Bm25Index&&) = default;

  // Returns the index saved at `path`, and the change sequence number it was saved with in
  // `*change_seq` when non-null; fails with kNotFound if there is no such file, kInternal on an I/O
  // error, kDataLoss (naming `path` and the problem) if the file is truncated, corrupt or of
  // another format version. Documents are renumbered by length if the file's order is not.
  static absl::StatusOr<Bm25Index> Load(absl::string_view path, int64_t* change_seq = nullptr,
                                        const Bm25IndexOptions& options = {});

  // Writes the live documents to `path` atomically, recording `change_seq` (the claim store's
  // change sequence number the index is complete up to; checksummed with the rest). Returns OK,
  // or kInternal naming the path.
  absl::Status Save(absl::string_view path, int64_t change_seq = 0) const;

  // Indexes the document `id` made of `fields` (claim text, title, subtitle...), replacing any
  // document with the same id. Returns OK, or kResourceExhausted if the index would exceed 2^32 - 2
  // documents or a document 2^32 - 1 tokens.
  absl::Status Add(ClaimRowId id, absl::Span<const std::string> fields);

  // Removes the document `id`. Returns true if it was indexed, false if not (a no-op).
  bool Remove(ClaimRowId id);

  // Returns the up to `k` best documents for the OR query `query` (raw text), best first, equal
  // scores by smaller id; documents sharing no term with the query are never returned. Empty if k
  // <= 0. Adds what it did to `*stats` when non-null.
  std::vector<Bm25Hit> Search(absl::string_view query, int k,
                              Bm25SearchStats* stats = nullptr) const;
  // The same for a query the caller has analysed already: `terms` are AnalyzeQuery's terms of the
  // query, each distinct term once in order of first occurrence, with its count (so the query is
  // not analysed twice). Returns exactly what Search of the query text returns.
  std::vector<Bm25Hit> SearchAnalyzed(absl::Span<const Bm25QueryTerm> terms, int k,
                                      Bm25SearchStats* stats = nullptr) const;
  // Returns SearchAnalyzed(queries[i], k) for every i (the same ids, scores and order). With
  // stored gains and at least kBatchLanes queries, they are searched kBatchLanes at a time, in one
  // exhaustive term-at-a-time pass over the union of their terms, 4,096 documents at a time (the
  // group's scores then stay in L2): each posting is read once and scored for every query of the
  // group holding its term (with AVX2 in two vectors of 4 lanes, else lane by lane), and each
  // document's row of 8 scores is offered to the queries' top k in one comparison (with AVX2;
  // else lane by lane). For batch scoring (many short texts sharing common words) this reads far
  // fewer postings per query than the pruned search does.
  std::vector<std::vector<Bm25Hit>> SearchAnalyzedBatch(
      absl::Span<const std::vector<Bm25QueryTerm>> queries, int k) const;
  static constexpr int kBatchLanes = 8;

  // One query's search that several threads may run together (a lookup's second core): each
  // Work() call takes windows (see the top of this file) that no call has taken yet, in document
  // order, and the calls share the k-th best score found so far, so each prunes about as one
  // thread would. The result does not depend on how the windows were shared.
  // Thread safety: Work() may run on any number of threads at once; Result() only after every
  // Work() call has returned. The index must outlive it and stay unchanged.
  class SharedSearch {
   public:
    ~SharedSearch();
    SharedSearch(const SharedSearch&) = delete;
    SharedSearch& operator=(const SharedSearch&) = delete;
    // Searches windows until none is left to take. Returns nothing; never fails.
    void Work();
    // Returns exactly what SearchAnalyzed(terms, k) returns (the windows no Work() call took are
    // searched here first); adds what the calls did to `*stats` when non-null.
    std::vector<Bm25Hit> Result(Bm25SearchStats* stats = nullptr);

   private:
    friend class Bm25Index;
    struct Share;  // bm25_index.cc
    SharedSearch(const Bm25Index& index, absl::Span<const Bm25QueryTerm> terms, int k);
    const Bm25Index& index_;
    std::unique_ptr<Share> share_;
  };
  // Returns a search of `terms` (as for SearchAnalyzed) that threads run with Work(); nothing is
  // searched until one does (or Result() is called).
  std::unique_ptr<SharedSearch> StartSearch(absl::Span<const Bm25QueryTerm> terms, int k) const;

  // As Search, but scores every document holding a query term (no pruning): the reference Search
  // is checked against, and the baseline of benchmarks/bm25_benchmark.cc.
  std::vector<Bm25Hit> SearchExhaustive(absl::string_view query, int k) const;

  // Returns the score a document holding every query term infinitely often would get: the sum over
  // the query's terms (with repeats) of idf * (k1 + 1), terms absent from the index counting with
  // df = 0. Dividing a Search() score by it gives a fraction of the query matched, comparable
  // across queries. 0 for an empty query or index.
  double ScoreUpperBound(absl::string_view query) const;

  // Returns the number of live documents holding the analysed `term` (0 when none does).
  int64_t DocumentFrequency(absl::string_view term) const;
  // Returns the BM25 idf of an analysed `term` (AnalyzeText's output) as Search uses it: at least
  // a small positive floor, also for terms no live claim holds.
  double Idf(absl::string_view term) const;
  // Returns Idf(terms[i]) for each term: the same values, with the lookups of many terms
  // overlapped (prefetched), for callers that need hundreds at once.
  std::vector<double> Idfs(absl::Span<const absl::string_view> terms) const;
  // Returns whether the document `id` is indexed.
  bool Contains(ClaimRowId id) const { return doc_of_id_.contains(id); }
  // Returns the number of indexed (live) documents.
  size_t size() const { return doc_of_id_.size(); }
  // Returns the number of distinct terms with at least one live document.
  size_t num_terms() const { return live_terms_; }
  // Returns avgdl, the mean number of tokens per live document (0 when empty).
  double average_length() const;

 private:
  // Load's parse of the payload (after the header) of a file of format `version` named `path`;
  // returns the index and sets `*change_seq`, or fails with kDataLoss naming `path`.
  static absl::StatusOr<Bm25Index> ParsePayload(absl::string_view path, absl::string_view payload,
                                                uint32_t version, const Bm25IndexOptions& options,
                                                int64_t* change_seq);

  // Summary of the postings [j * postings_per_block, (j + 1) * postings_per_block) of a term.
  struct Block {
    uint32_t first_doc;  // the block's first (smallest) document number
    uint32_t last_doc;   // the block's last (largest) document number
    uint32_t max_tf;     // its largest term frequency
    uint32_t min_len;    // its shortest document
  };
  struct PostingList {
    std::vector<uint32_t> docs;  // internal document numbers, strictly increasing
    std::vector<uint32_t> tfs;   // term frequency in docs[i], >= 1
    // Gain(tfs[i], |docs[i]|) under the current avgdl (see gains_current_), else stale.
    std::vector<float> gains;
    std::vector<Block> blocks;  // live or not, like `docs`
    uint32_t live_df = 0;       // live documents among `docs`
    // The (f, |D|) pairs of `docs` (live or not) that no other pair beats on both (higher f,
    // shorter |D|): the best contribution of the term is at one of them, whatever avgdl is. Sorted
    // by f ascending (so |D| ascending); at most kMaxBoundPoints, else the single corner
    // (max f, min |D|), still an upper bound.
    std::vector<std::pair<uint32_t, uint32_t>> bound_points;
    // Appends the posting (`doc`, `tf`) of a document of `len` tokens (live_df unchanged).
    void Append(uint32_t doc, uint32_t tf, uint32_t len, uint32_t postings_per_block);
    // Adds the posting (`tf`, `len`) to bound_points.
    void AddBoundPoint(uint32_t tf, uint32_t len);
  };
  static constexpr size_t kMaxBoundPoints = 8;
  struct QueryTerm;   // defined in bm25_index.cc
  struct TermCursor;  // defined in bm25_index.cc
  // The live documents numbered by ascending length (then current number), and the postings of
  // the terms they hold under these numbers.
  struct Renumbering {
    std::vector<uint32_t> order;       // by new number: the current number
    std::vector<uint32_t> new_term;    // by term id: the new id (UINT32_MAX: no live document)
    std::vector<uint64_t> term_begin;  // by new term id, plus an end: offsets into docs and tfs
    std::vector<uint32_t> docs;        // new document numbers, ascending per term
    std::vector<uint32_t> tfs;
  };
  // `forward_begin` / `forward_terms`: the forward lists (forward_begin_ / forward_terms_ when
  // current, else ComputeForwardLists').
  Renumbering Renumber(const std::vector<uint64_t>& forward_begin,
                       const std::vector<uint32_t>& forward_terms) const;
  // Computes every document's forward list (its term ids, ascending) from the postings.
  void ComputeForwardLists(std::vector<uint64_t>* begin, std::vector<uint32_t>* terms) const;
  // Builds forward_begin_ / forward_terms_ unless they are current (a loaded index has none until
  // its first Add or Remove).
  void BuildForwardLists();
  struct PreparedQuery;  // defined in bm25_index.cc

  // Analyzes `query` into scored terms (one per distinct term, weighted by its count).
  PreparedQuery PrepareQuery(absl::string_view query) const;
  // The same from the terms of the query held by the index (distinct posting lists in order of
  // first occurrence, with counts).
  PreparedQuery PrepareFound(absl::Span<const std::pair<const PostingList*, int>> found) const;
  // The distinct posting lists of `terms` held by the index, in order of first occurrence, with
  // their summed counts.
  std::vector<std::pair<const PostingList*, int>> FindTerms(
      absl::Span<const Bm25QueryTerm> terms) const;
  // The pruned search of a prepared query (see the top of this file).
  std::vector<Bm25Hit> SearchPrepared(PreparedQuery q, int k, Bm25SearchStats* stats) const;
  // Searches the windows of `share`'s query that no other call has taken, and merges the best
  // documents found into its top k.
  void SearchWindows(SharedSearch::Share* share) const;
  // Appends a document that holds `counts` (term id, frequency); returns its number.
  uint32_t AppendDocument(ClaimRowId id, uint32_t length,
                          const std::vector<std::pair<uint32_t, uint32_t>>& counts);
  // Tombstones the document `id`; returns false if it is not indexed.
  bool RemoveWithoutCompaction(ClaimRowId id);
  // Compacts when tombstones exceed a quarter of the live documents (and 64).
  void MaybeCompact();
  // Drops tombstoned documents and renumbers the rest by ascending length (then current number).
  void Compact();
  // Stores every posting's gain under the current avgdl and sets gains_current_, if the index
  // holds at most options_.max_docs_with_gains documents; else frees any stored gains.
  void ComputeGains();
  // Recomputes sorted_docs_ and the length runs from doc_lengths_.
  void RebuildLengthRuns();
  // Extends the length runs with the document `d` just appended, if the order still holds.
  void ExtendLengthRuns(uint32_t d);

  Bm25IndexOptions options_;
  absl::flat_hash_map<std::string, uint32_t> term_ids_;
  std::vector<std::string> terms_;       // by term id
  std::vector<PostingList> postings_;    // by term id
  std::vector<ClaimRowId> doc_ids_;      // by document number
  std::vector<uint32_t> doc_lengths_;    // by document number: tokens in all fields
  std::vector<uint8_t> doc_alive_;       // by document number: 0 = tombstone
  std::vector<uint64_t> forward_begin_;  // by document number: offset into forward_terms_
  std::vector<uint32_t> forward_terms_;  // term ids of each document, concatenated
  // Whether forward_begin_ / forward_terms_ hold every document's list: false after Load until
  // the first Add or Remove builds them (searching never reads them).
  bool forward_current_ = true;
  absl::flat_hash_map<ClaimRowId, uint32_t> doc_of_id_;  // live documents only
  // Documents [0, sorted_docs_) have non-decreasing lengths (tombstones included): run r of them
  // ends before document run_end_[r] and holds documents of run_len_[r] tokens. Search reads
  // lengths from the runs instead of gathering them.
  uint32_t sorted_docs_ = 0;
  std::vector<uint32_t> run_end_;
  std::vector<uint32_t> run_len_;
  // Whether every posting's stored gain is current: set by ComputeGains (at Load and Compact) when
  // the index is small enough, cleared by any change (a change of avgdl changes every gain).
  // Search computes gains while not.
  bool gains_current_ = false;
  uint64_t live_tokens_ = 0;  // sum of doc_lengths_ over live documents
  size_t live_terms_ = 0;     // terms with live_df > 0
};

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_BM25_INDEX_H_
