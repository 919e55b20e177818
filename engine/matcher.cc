#include "engine/matcher.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "embeddings/status_macros.h"
#include "embeddings/text_clean.h"
#include "engine/bm25_index.h"
#include "engine/dates.h"
#include "engine/dense_scan.h"
#include "engine/name_overlap.h"
#include "engine/text_analysis.h"

namespace claimmatch {
namespace {

// Candidates kept after the preliminary fusion for the full features (which need the claims'
// text, fetched from the store). 60: mean dev MAP@5 0.6664, against 0.6616 at 30 and 0.6642 at 100.
constexpr int kRerankDepth = 60;

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

// Words that are capitalised only because they start a sentence or a quote ("There was no
// collusion", "He said"): not names, so they must not count as a shared name.
bool IsCapitalisedFunctionWord(const std::string& lower) {
  static const auto* const kWords = new std::unordered_set<std::string>{
      "a",        "about",  "after", "all",      "also",  "an",    "and",  "any",   "are",
      "as",       "at",     "be",    "because",  "but",   "by",    "can",  "could", "did",
      "do",       "does",   "don",   "even",     "every", "for",   "from", "had",   "has",
      "have",     "he",     "her",   "here",     "his",   "how",   "if",   "in",    "is",
      "it",       "its",    "just",  "last",     "let",   "many",  "more", "most",  "my",
      "no",       "not",    "now",   "of",       "on",    "one",   "only", "or",    "our",
      "over",     "people", "said",  "says",     "she",   "so",    "some", "that",  "the",
      "their",    "them",   "then",  "there",    "these", "they",  "this", "those", "to",
      "under",    "up",     "was",   "we",       "were",  "what",  "when", "where", "which",
      "while",    "who",    "why",   "will",     "with",  "would", "yes",  "you",   "your",
      "breaking", "new",    "today", "yesterday"};
  return kWords->count(lower) > 0;
}

// Numbers ("2016", "4,250", "3.5") and capitalised words ("Trump", "NATO") of a text, lower-cased,
// except capitalised function words, as sorted distinct 64-bit hashes (compared within one process
// only).
struct CueSet {
  std::vector<uint64_t> numbers;
  std::vector<uint64_t> names;
};

void SortUnique(std::vector<uint64_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

CueSet Cues(absl::string_view text) {
  CueSet cues;
  const absl::Hash<absl::string_view> hash;
  std::string word_buf;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = text[i];
    if (!IsWordByte(c)) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() &&
           (IsWordByte(text[j]) || ((text[j] == '.' || text[j] == ',') && j + 1 < text.size() &&
                                    std::isdigit(static_cast<unsigned char>(text[j + 1])) &&
                                    std::isdigit(static_cast<unsigned char>(text[j - 1]))))) {
      ++j;
    }
    const absl::string_view word = text.substr(i, j - i);
    if (std::isdigit(static_cast<unsigned char>(word[0]))) {
      word_buf.clear();
      for (char ch : word) {
        if (ch != ',') word_buf.push_back(ch);
      }
      cues.numbers.push_back(hash(word_buf));
    } else if (std::isupper(static_cast<unsigned char>(word[0])) && word.size() >= 2) {
      word_buf.assign(word.data(), word.size());
      absl::AsciiStrToLower(&word_buf);
      if (!IsCapitalisedFunctionWord(word_buf)) cues.names.push_back(hash(word_buf));
    }
    i = j;
  }
  SortUnique(cues.numbers);
  SortUnique(cues.names);
  return cues;
}

// Share of `query` (sorted, distinct) found in `claim` (sorted, distinct).
float Overlap(absl::Span<const uint64_t> query, absl::Span<const uint64_t> claim) {
  if (query.empty()) return 0;
  int hit = 0;
  size_t j = 0;
  for (uint64_t q : query) {
    while (j < claim.size() && claim[j] < q) ++j;
    if (j < claim.size() && claim[j] == q) ++hit;
  }
  return static_cast<float>(hit) / static_cast<float>(query.size());
}

// Hashes of analysed terms (BM25 analysis), compared within one process only.
uint64_t TermHash(absl::string_view term) { return absl::Hash<absl::string_view>()(term); }

// A query's distinct analysed terms: (hash, idf) sorted by hash, and the idf sum; and the same
// terms with their counts in order of first occurrence, as Bm25Index::SearchAnalyzed takes them.
struct QueryTerms {
  std::vector<std::pair<uint64_t, double>> terms;
  double idf_total = 0;
  std::vector<Bm25QueryTerm> bm25;
};

// Also sets `*upper` to bm25.ScoreUpperBound(clean_query), computed from the same analysis (the
// same sum in the same order, so the same double).
QueryTerms AnalyzeQueryTerms(absl::string_view clean_query, const Bm25Index& bm25, double* upper) {
  QueryTerms q;
  *upper = 0;
  std::vector<uint64_t> hashes;     // of q.bm25, in its order
  std::vector<size_t> occurrences;  // each term of the query as an index into q.bm25
  AnalyzeQuery(clean_query, [&](absl::string_view t) {
    const uint64_t h = TermHash(t);
    size_t i = 0;
    while (i < hashes.size() && (hashes[i] != h || q.bm25[i].term != t)) ++i;
    if (i == hashes.size()) {
      hashes.push_back(h);
      q.bm25.push_back({std::string(t), 0});
    }
    ++q.bm25[i].count;
    occurrences.push_back(i);
  });
  std::vector<absl::string_view> distinct;
  for (const Bm25QueryTerm& t : q.bm25) distinct.push_back(t.term);
  const std::vector<double> idfs = bm25.Idfs(distinct);
  for (size_t i = 0; i < hashes.size(); ++i) q.terms.emplace_back(hashes[i], idfs[i]);
  for (const size_t i : occurrences) *upper += idfs[i] * (Bm25Index::kK1 + 1.0);
  if (bm25.size() == 0) *upper = 0;
  std::sort(q.terms.begin(), q.terms.end());
  q.terms.erase(std::unique(q.terms.begin(), q.terms.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                q.terms.end());
  for (const auto& t : q.terms) q.idf_total += t.second;
  return q;
}

// A claim's distinct analysed terms (sorted hashes) of its claim text and of claim + title, and
// the idf sum of the claim text's.
struct ClaimTerms {
  std::vector<uint64_t> claim, body;
  double claim_idf = 0;
};

// The ClaimTerms of each record (null: skipped, left empty). The idfs of all the records' terms
// are looked up together (Bm25Index::Idfs) and each claim_idf sums them in order of first
// occurrence.
std::vector<ClaimTerms> AnalyzeClaimTerms(absl::Span<const ClaimRecord* const> records,
                                          const Bm25Index& bm25) {
  std::vector<ClaimTerms> out(records.size());
  std::vector<std::string> terms;  // each record's distinct claim-text terms, concatenated
  std::vector<size_t> terms_end(records.size(), 0);
  for (size_t i = 0; i < records.size(); ++i) {
    ClaimTerms& c = out[i];
    if (records[i] != nullptr) {
      const ClaimRecord& r = *records[i];
      AnalyzeText(r.text, [&](absl::string_view t) {
        const uint64_t h = TermHash(t);
        if (std::find(c.claim.begin(), c.claim.end(), h) != c.claim.end()) return;
        c.claim.push_back(h);
        terms.emplace_back(t);
      });
      c.body = c.claim;
      AnalyzeText(r.title, [&](absl::string_view t) { c.body.push_back(TermHash(t)); });
      SortUnique(c.claim);
      SortUnique(c.body);
    }
    terms_end[i] = terms.size();
  }
  const std::vector<absl::string_view> views(terms.begin(), terms.end());
  const std::vector<double> idfs = bm25.Idfs(views);
  size_t t = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    for (; t < terms_end[i]; ++t) out[i].claim_idf += idfs[t];
  }
  return out;
}

// Coverage features, IDF-weighted over distinct terms: f[11] the share of the claim text's terms
// the query has, f[12] the share of the query's terms the claim + title have.
void Coverage(const QueryTerms& q, absl::Span<const uint64_t> claim, double claim_idf,
              absl::Span<const uint64_t> body, RerankFeatures* f) {
  // Both sides are sorted by hash: one merge each (the sums add in the query's order, as before).
  double claim_hit = 0, query_hit = 0;
  size_t c = 0, b = 0;
  for (const auto& [h, idf] : q.terms) {
    while (c < claim.size() && claim[c] < h) ++c;
    if (c < claim.size() && claim[c] == h) claim_hit += idf;
    while (b < body.size() && body[b] < h) ++b;
    if (b < body.size() && body[b] == h) query_hit += idf;
  }
  (*f)[11] = claim_idf > 0 ? static_cast<float>(std::min(1.0, claim_hit / claim_idf)) : 0.f;
  (*f)[12] = q.idf_total > 0 ? static_cast<float>(query_hit / q.idf_total) : 0.f;
}

bool StartsWithAt(absl::string_view s, size_t i, absl::string_view prefix) {
  return s.substr(i, prefix.size()) == prefix;
}

}  // namespace

absl::string_view MatchModeName(MatchMode mode) {
  switch (mode) {
    case MatchMode::kDense:
      return "dense";
    case MatchMode::kLexical:
      return "lexical";
    case MatchMode::kHybrid:
      return "hybrid";
  }
  return "hybrid";
}

absl::StatusOr<MatchMode> ParseMatchMode(absl::string_view name) {
  if (name == "dense") return MatchMode::kDense;
  if (name == "lexical") return MatchMode::kLexical;
  if (name == "hybrid") return MatchMode::kHybrid;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown mode '", name, "' (expected dense, lexical or hybrid)"));
}

absl::string_view DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kMatch:
      return "match";
    case Decision::kSuggest:
      return "suggest";
    case Decision::kNone:
      return "none";
  }
  return "none";
}

int CountWords(absl::string_view text) {
  int words = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool w = IsWordByte(c);
    if (w && !in_word) ++words;
    in_word = w;
  }
  return words;
}

namespace {

// CleanQueryText of a text whose tags SplitTags has spelled out already.
std::string RemoveLinks(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    // Every link starts with 'h', 'p' or 'w': other bytes need no comparison.
    const bool link_start = c == 'h' || c == 'p' || c == 'w';
    if (link_start && (StartsWithAt(text, i, "http://") || StartsWithAt(text, i, "https://") ||
                       StartsWithAt(text, i, "pic.twitter.com/") ||
                       ((i == 0 || !IsWordByte(text[i - 1])) && StartsWithAt(text, i, "www.")))) {
      while (i < text.size() && !absl::ascii_isspace(text[i])) ++i;
      continue;
    }
    out.push_back(text[i]);
    ++i;
  }
  // Collapse whitespace.
  std::string collapsed;
  collapsed.reserve(out.size());
  for (char c : out) {
    if (absl::ascii_isspace(c)) {
      if (!collapsed.empty() && collapsed.back() != ' ') collapsed.push_back(' ');
    } else {
      collapsed.push_back(c);
    }
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  return collapsed;
}

}  // namespace

std::string CleanQueryText(absl::string_view text) { return RemoveLinks(SplitTags(text)); }

std::vector<float> HybridScores(const RerankerModel& reranker,
                                absl::Span<const Candidate> candidates) {
  std::vector<float> scores(candidates.size());
  std::vector<uint64_t> claimants(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    scores[i] = reranker.Logit(candidates[i].features);
    claimants[i] = candidates[i].claimant;
  }
  reranker.AddClaimantAgreement(claimants, absl::MakeSpan(scores));
  for (float& score : scores) score = RerankerModel::Probability(score);
  return scores;
}

namespace {

constexpr int32_t kNoDay = std::numeric_limits<int32_t>::min();

// A day number (engine/dates.h) as int32, kNoDay when unknown.
int32_t ToDay(const std::optional<int64_t>& day) {
  return day.has_value() ? static_cast<int32_t>(*day) : kNoDay;
}

// The day the claim was stated (its claim date), kNoDay when unknown.
int32_t StatedDay(const ClaimRecord& r) { return ToDay(DayNumber(r.claim_date)); }

// The claim's day for the date-proximity feature: its claim date, else its review date.
int32_t ClaimDay(const ClaimRecord& r) {
  const int32_t day = StatedDay(r);
  return day != kNoDay ? day : ToDay(DayNumber(r.review_date));
}

// The last day a claim may have been stated on to be a candidate for a text of `query_day`
// (MatchOptions::later_claim_days); INT32_MAX when any may.
int32_t LatestStatedDay(int32_t query_day, int later_claim_days) {
  if (query_day == kNoDay || later_claim_days < 0) return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(std::min<int64_t>(int64_t{query_day} + later_claim_days,
                                                std::numeric_limits<int32_t>::max()));
}

// The query's day: its given date (MatchOptions::date) when there is one, else the date of an
// embedded tweet's signature; kNoDay without either, or when the given one is not a full day.
int32_t QueryDay(absl::string_view text, absl::string_view given) {
  return ToDay(given.empty() ? DayNumber(TweetSignatureDate(text)) : ReadDay(given));
}

// The date-proximity features' scales (reranker.h): a week and a year.
constexpr double kWeekDays = 7.0;
constexpr double kYearDays = 365.0;

// The date-proximity features (reranker.h): exp(-|days apart| / scale), 0 when a day is unknown.
float DateProximity(int32_t query_day, int32_t claim_day, double scale) {
  if (query_day == kNoDay || claim_day == kNoDay) return 0.f;
  const double apart = std::abs(static_cast<double>(query_day) - claim_day);
  return static_cast<float>(std::exp(-apart / scale));
}

}  // namespace

struct Matcher::Snapshot {
  absl::flat_hash_map<ClaimRowId, int> slot_of_row;
  // By slot: the claim's words (for the length ratio), the idf sum of its claim text's distinct
  // terms (claim coverage), and four sorted hash sets in cues: numbers in
  // cues[cue_begin[4 s] .. cue_begin[4 s + 1]), then names, claim-text terms and claim + title
  // terms, each up to the next cue_begin.
  std::vector<int> words;
  std::vector<float> claim_idf;
  std::vector<uint64_t> claimant;   // ClaimantKey
  std::vector<int32_t> day;         // ClaimDay
  std::vector<int32_t> stated_day;  // StatedDay
  std::vector<uint32_t> cue_begin{0};
  std::vector<uint64_t> cues;
  // For a flat vector index: the claim vectors (a copy) with their prefilter, row r belonging
  // to vector_rows[r], and by slot the row (-1: not in the vector index).
  std::unique_ptr<DenseScan> scan;
  std::vector<ClaimRowId> vector_rows;
  std::vector<int> vector_of_slot;

  absl::Span<const uint64_t> Segment(int s, int i) const {
    return absl::MakeConstSpan(cues.data() + cue_begin[4 * s + i],
                               cues.data() + cue_begin[4 * s + i + 1]);
  }
  absl::Span<const uint64_t> Numbers(int s) const { return Segment(s, 0); }
  absl::Span<const uint64_t> Names(int s) const { return Segment(s, 1); }
  absl::Span<const uint64_t> ClaimTerms(int s) const { return Segment(s, 2); }
  absl::Span<const uint64_t> BodyTerms(int s) const { return Segment(s, 3); }
  bool has_vectors() const { return scan != nullptr; }

  // Top `k` by inner product for each query row (DenseScan: exact scores of the prefilter's
  // candidates), best first, equal scores by smaller row id.
  std::vector<std::vector<VectorIndex::Hit>> Search(const EmbeddingMatrix& queries, int k) const {
    std::vector<std::vector<VectorIndex::Hit>> out(queries.rows());
    const std::vector<std::vector<DenseScan::Hit>> hits = scan->Search(queries, k);
    for (size_t q = 0; q < hits.size(); ++q) {
      out[q].reserve(hits[q].size());
      for (const auto& [j, score] : hits[q]) out[q].push_back({vector_rows[j], score});
      std::sort(out[q].begin(), out[q].end(),
                [](const VectorIndex::Hit& x, const VectorIndex::Hit& y) {
                  return x.score != y.score ? x.score > y.score : x.id < y.id;
                });
    }
    return out;
  }
};

// Tells the CPU this thread is polling (x86's pause; nothing elsewhere).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// One thread that runs the lexical channel of single queries (MatchOptions::parallel_channels).
// A task the thread has not started when its caller needs it is run by the caller, so a busy
// worker (many concurrent callers) never makes a query wait for another query's work.
class Matcher::Worker {
 public:
  struct Task {
    std::function<void()> fn;
    std::atomic<bool> taken{false};
    absl::Mutex mu;
    // Set under mu (so that mu.Await wakes a waiter), read without it while polling.
    std::atomic<bool> done{false};

    // Runs fn unless someone has already taken it, then marks the task done.
    void RunIfFree() {
      if (taken.exchange(true)) return;
      fn();
      absl::MutexLock lock(&mu);
      done.store(true, std::memory_order_release);
    }
    bool IsDone() const { return done.load(std::memory_order_acquire); }
  };

  Worker() : thread_([this] { Loop(); }) {}
  ~Worker() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Submit(std::shared_ptr<Task> task) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(task));
    queued_.fetch_add(1, std::memory_order_release);
  }

  // Runs `task` on the calling thread unless the worker has started it, then waits until it is
  // done (again: a no-op). The wait spins for up to kSpin first: the worker's part of a query
  // usually ends within tens of microseconds of this thread's, sooner than a futex wake-up.
  static void Finish(Task& task) {
    task.RunIfFree();
    SpinUntil([&task] { return task.IsDone(); });
    absl::MutexLock lock(&task.mu);
    task.mu.Await(absl::Condition(&task, &Task::IsDone));
  }

 private:
  // How long a thread polls before it blocks: a query's next task (the second half of its
  // candidates) follows within this time.
  static constexpr absl::Duration kSpin = absl::Microseconds(200);

  // Polls `ready` until it returns true or kSpin has passed.
  template <typename Ready>
  static void SpinUntil(Ready ready) {
    const absl::Time deadline = absl::Now() + kSpin;
    while (!ready()) {
      for (int i = 0; i < 16; ++i) CpuRelax();
      if (absl::Now() > deadline) return;
    }
  }

  void Loop() {
    while (true) {
      SpinUntil([this] { return queued_.load(std::memory_order_acquire) > 0; });
      std::shared_ptr<Task> task;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &Worker::HasWorkOrStop));
        if (queue_.empty()) return;  // stopping
        task = std::move(queue_.front());
        queue_.pop_front();
        queued_.fetch_sub(1, std::memory_order_relaxed);
      }
      task->RunIfFree();
    }
  }

  bool HasWorkOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); }

  absl::Mutex mu_;
  std::deque<std::shared_ptr<Task>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int> queued_{0};  // queue_.size(), readable without the lock
  std::thread thread_;          // last: starts once the members above exist
};

Matcher::Worker* Matcher::GetWorker() const {
  absl::MutexLock lock(&worker_mu_);
  if (worker_ == nullptr) worker_ = std::make_unique<Worker>();
  return worker_.get();
}

Matcher::Matcher(const ClaimDatabase& db, RerankerModel reranker, int64_t max_snapshot_claims)
    : db_(db), reranker_(std::move(reranker)), max_snapshot_claims_(max_snapshot_claims) {}

Matcher::~Matcher() = default;

absl::Status Matcher::Prepare() const { return GetSnapshot().status(); }

absl::StatusOr<const Matcher::Snapshot*> Matcher::GetSnapshot() const {
  absl::MutexLock lock(&snapshot_mu_);
  if (snapshot_done_) return snapshot_.get();
  const int64_t n = std::max<int64_t>(db_.vectors().size(), db_.bm25().size());
  if (n > max_snapshot_claims_) {
    snapshot_done_ = true;
    return nullptr;
  }
  auto snap = std::make_unique<Snapshot>();
  const VectorIndex& index = db_.vectors();
  // The copy of the vectors doubles their memory: only up to kMaxSnapshotVectorBytes.
  const bool keep_vectors = index.type() == VectorIndexType::kFlat && index.size() > 0 &&
                            index.size() * index.dim() * 4 <= kMaxSnapshotVectorBytes;
  // The vectors go straight into the matrix the scan takes (trimmed to the rows found).
  EmbeddingMatrix vectors(keep_vectors ? index.size() : 0, index.dim());
  Eigen::Index n_vectors = 0;
  // The claims are read in batches; the analysis of a batch (cues, terms) is split between this
  // thread and a helper thread, and the results are added in store order (the same snapshot).
  struct Analysed {
    int words = 0;
    uint64_t claimant = 0;
    int32_t day = kNoDay;
    int32_t stated_day = kNoDay;
    CueSet cues;
    ClaimTerms terms;
  };
  constexpr size_t kBatch = 2048;
  constexpr size_t kMinSplit = 8;  // smaller batches are analysed here alone
  std::vector<std::pair<ClaimRowId, ClaimRecord>> batch;
  std::vector<Analysed> analysed;
  auto analyse = [&](size_t begin, size_t end) {
    std::vector<const ClaimRecord*> records;
    for (size_t i = begin; i < end; ++i) {
      const ClaimRecord& r = batch[i].second;
      analysed[i].words = CountWords(r.text);
      analysed[i].claimant = ClaimantKey(r.claimant);
      analysed[i].day = ClaimDay(r);
      analysed[i].stated_day = StatedDay(r);
      analysed[i].cues = Cues(absl::StrCat(r.text, " ", r.title));
      records.push_back(&r);
    }
    std::vector<ClaimTerms> terms = AnalyzeClaimTerms(records, db_.bm25());
    for (size_t i = begin; i < end; ++i) analysed[i].terms = std::move(terms[i - begin]);
  };
  auto add_batch = [&] {
    analysed.clear();
    analysed.resize(batch.size());
    const size_t mid = batch.size() >= kMinSplit ? batch.size() / 2 : batch.size();
    std::thread helper;
    if (mid < batch.size()) helper = std::thread([&] { analyse(mid, batch.size()); });
    analyse(0, mid);
    if (helper.joinable()) helper.join();
    for (size_t i = 0; i < batch.size(); ++i) {
      const ClaimRowId row = batch[i].first;
      const CueSet& cues = analysed[i].cues;
      const ClaimTerms& terms = analysed[i].terms;
      snap->slot_of_row.emplace(row, static_cast<int>(snap->words.size()));
      snap->words.push_back(analysed[i].words);
      snap->claim_idf.push_back(static_cast<float>(terms.claim_idf));
      snap->claimant.push_back(analysed[i].claimant);
      snap->day.push_back(analysed[i].day);
      snap->stated_day.push_back(analysed[i].stated_day);
      for (const std::vector<uint64_t>* seg :
           {&cues.numbers, &cues.names, &terms.claim, &terms.body}) {
        snap->cues.insert(snap->cues.end(), seg->begin(), seg->end());
        snap->cue_begin.push_back(static_cast<uint32_t>(snap->cues.size()));
      }
      snap->vector_of_slot.push_back(-1);
      if (keep_vectors && n_vectors < vectors.rows() && index.Contains(row)) {
        absl::StatusOr<EmbeddingRow> v = index.Get(row);
        if (v.ok()) {
          snap->vector_of_slot.back() = static_cast<int>(n_vectors);
          snap->vector_rows.push_back(row);
          vectors.row(n_vectors++) = *v;
        }
      }
    }
    batch.clear();
  };
  CM_RETURN_IF_ERROR(db_.store().ForEach([&](ClaimRowId row, const ClaimRecord& r) {
    batch.emplace_back(row, r);
    if (batch.size() == kBatch) add_batch();
    return absl::OkStatus();
  }));
  add_batch();
  if (n_vectors > 0) {
    vectors.conservativeResize(n_vectors, Eigen::NoChange);
    snap->scan = std::make_unique<DenseScan>(std::move(vectors));
  }
  snapshot_ = std::move(snap);
  snapshot_done_ = true;
  return snapshot_.get();
}

std::string Matcher::SplitQueryTags(absl::string_view text) const {
  const Bm25Index& bm25 = db_.bm25();
  return SplitTags(text, [&bm25](absl::string_view word) {
    return BreakWord(
        word, [&bm25](absl::string_view term) { return bm25.DocumentFrequency(term); },
        static_cast<int64_t>(bm25.size()));
  });
}

absl::StatusOr<std::vector<std::vector<Candidate>>> Matcher::Candidates(
    absl::Span<const std::string> texts, const MatchOptions& options,
    absl::Span<const std::string> dates) const {
  return Candidates(texts, options, dates, nullptr);
}

absl::StatusOr<std::vector<std::vector<Candidate>>> Matcher::Candidates(
    absl::Span<const std::string> texts, const MatchOptions& options,
    absl::Span<const std::string> dates, std::vector<std::string>* split_out) const {
  if (!dates.empty() && dates.size() != texts.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dates.size(), " dates for ", texts.size(), " texts"));
  }
  CM_ASSIGN_OR_RETURN(const Snapshot* snap, GetSnapshot());
  const int n = static_cast<int>(texts.size());
  // Tags spelled out once, for both channels' cleaning.
  std::vector<std::string> split(n), clean(n);
  for (int i = 0; i < n; ++i) {
    split[i] = SplitQueryTags(texts[i]);
    clean[i] = RemoveLinks(split[i]);  // CleanQueryText, with the word break
    if (clean[i].empty()) clean[i] = texts[i];
  }
  const bool use_dense = options.mode != MatchMode::kLexical && db_.vectors().size() > 0;
  const bool use_lexical = options.mode != MatchMode::kDense;
  const int over = options.filter.languages.empty() && options.filter.publishers.empty() &&
                           options.filter.verdicts.empty() &&
                           options.filter.claim_date_from.empty() &&
                           options.filter.claim_date_to.empty()
                       ? 1
                       : 4;
  // The lexical channel of text q: its analysed terms (also for the BM25 fraction's bound and the
  // coverage features: the query is analysed once) and the BM25 top n.
  struct Lexical {
    QueryTerms terms;
    double upper = 0;
    std::vector<Bm25Hit> hits;
  };
  std::vector<Lexical> lexical(n);
  // One text with both channels and parallel_channels: the BM25 search goes to the worker thread
  // while this thread runs the dense channel (encoding included), then joins it (the two share
  // its windows: engine/bm25_index.h SharedSearch). Finished before any return.
  std::unique_ptr<Bm25Index::SharedSearch> search;
  std::shared_ptr<Worker::Task> task;
  if (options.parallel_channels && n == 1 && use_dense && use_lexical) {
    lexical[0].terms = AnalyzeQueryTerms(clean[0], db_.bm25(), &lexical[0].upper);
    search = db_.bm25().StartSearch(lexical[0].terms.bm25, options.lexical_candidates * over);
    task = std::make_shared<Worker::Task>();
    task->fn = [s = search.get()] { s->Work(); };
    GetWorker()->Submit(task);
  }
  struct FinishTask {
    std::shared_ptr<Worker::Task>* task;
    ~FinishTask() {
      if (*task != nullptr) Worker::Finish(**task);
    }
  } finish_task{&task};
  EmbeddingMatrix queries;
  std::vector<std::vector<VectorIndex::Hit>> dense_hits(n);
  if (use_dense) {
    // The dense channel sees what the embedding model was trained on: social text without links,
    // handles or tweet signatures (embeddings/text_clean.h).
    std::vector<std::string> social(n);
    for (int i = 0; i < n; ++i) {
      social[i] = CleanSocialText(split[i]);
      if (social[i].empty()) social[i] = clean[i];
    }
    CM_ASSIGN_OR_RETURN(queries, db_.encoder().Encode(social, TextRole::kQuery));
    if (snap != nullptr && snap->has_vectors()) {
      dense_hits = snap->Search(queries, options.dense_candidates * over);
    } else {
      CM_ASSIGN_OR_RETURN(dense_hits,
                          db_.vectors().Search(queries, options.dense_candidates * over));
    }
  }
  if (task != nullptr) {
    search->Work();
    Worker::Finish(*task);
    lexical[0].hits = search->Result();
  }
  // Runs fn(begin, end) over [0, count): for one text with parallel_channels, the second half on
  // the worker thread while this thread runs the first (the per-candidate reads of a database too
  // large for the snapshot). Returns the first half's error, else the second's.
  auto split_work = [&](size_t count, const std::function<absl::Status(size_t, size_t)>& fn) {
    constexpr size_t kMinSplit = 8;
    if (task == nullptr || count < kMinSplit) return fn(0, count);
    const size_t mid = count / 2;
    absl::Status second;
    auto half = std::make_shared<Worker::Task>();
    half->fn = [&fn, &second, mid, count] { second = fn(mid, count); };
    GetWorker()->Submit(half);
    const absl::Status first_half = fn(0, mid);
    Worker::Finish(*half);
    return first_half.ok() ? second : first_half;
  };
  // Otherwise every text's BM25 search at once: for a batch (scoring), eight texts per pass over
  // the postings of their terms (Bm25Index::SearchAnalyzedBatch; the same hits as one by one).
  if (task == nullptr) {
    std::vector<std::vector<Bm25QueryTerm>> terms(n);
    for (int q = 0; q < n; ++q) {
      if (!HasLetterOrDigit(split[q])) continue;  // no candidates (below)
      lexical[q].terms = AnalyzeQueryTerms(clean[q], db_.bm25(), &lexical[q].upper);
      if (use_lexical) terms[q] = lexical[q].terms.bm25;
    }
    if (use_lexical) {
      std::vector<std::vector<Bm25Hit>> hits =
          db_.bm25().SearchAnalyzedBatch(terms, options.lexical_candidates * over);
      for (int q = 0; q < n; ++q) lexical[q].hits = std::move(hits[q]);
    }
  }
  const RerankerModel fusion = RerankerModel::Default();
  std::vector<std::vector<Candidate>> out(n);
  absl::flat_hash_map<ClaimRowId, int> slot;
  std::vector<int> dense_rank, lexical_rank;
  std::vector<float> fused, dots;
  std::vector<int> order, slots, lexical_only, lexical_only_rows;
  for (int q = 0; q < n; ++q) {
    // A text without a letter or digit ("", "   ", "?!", "🔥🔥") has nothing to match: no
    // candidates, rather than whatever claims lie nearest to an empty or emoji-only vector.
    if (!HasLetterOrDigit(split[q])) continue;
    slot.clear();
    dense_rank.clear();
    lexical_rank.clear();
    std::vector<Candidate>& cands = out[q];
    auto get = [&](ClaimRowId row) -> int {
      auto [it, inserted] = slot.emplace(row, static_cast<int>(cands.size()));
      if (inserted) {
        cands.emplace_back();
        cands.back().row_id = row;
        dense_rank.push_back(-1);
        lexical_rank.push_back(-1);
      }
      return it->second;
    };
    if (use_dense) {
      for (size_t r = 0; r < dense_hits[q].size(); ++r) {
        const int s = get(dense_hits[q][r].id);
        cands[s].dense = dense_hits[q][r].score;
        dense_rank[s] = static_cast<int>(r);
      }
    }
    const Lexical& lex = lexical[q];
    const QueryTerms& q_terms = lex.terms;
    const double upper = lex.upper;
    for (size_t r = 0; r < lex.hits.size(); ++r) {
      const int s = get(lex.hits[r].first);
      cands[s].bm25 = lex.hits[r].second;
      cands[s].lexical = upper > 0 ? static_cast<float>(lex.hits[r].second / upper) : 0.f;
      lexical_rank[s] = static_cast<int>(r);
    }
    // Cosine for candidates only the lexical channel found.
    if (use_dense && snap != nullptr && snap->has_vectors()) {
      // The rows are scattered in memory: collected first, then scored with prefetching.
      lexical_only.clear();
      lexical_only_rows.clear();
      for (size_t s = 0; s < cands.size(); ++s) {
        if (dense_rank[s] >= 0) continue;
        const auto it = snap->slot_of_row.find(cands[s].row_id);
        const int v = it == snap->slot_of_row.end() ? -1 : snap->vector_of_slot[it->second];
        if (v < 0) continue;
        lexical_only.push_back(static_cast<int>(s));
        lexical_only_rows.push_back(v);
      }
      dots.clear();
      snap->scan->Dots(queries, q, lexical_only_rows, &dots);
      for (size_t i = 0; i < lexical_only.size(); ++i) cands[lexical_only[i]].dense = dots[i];
    } else if (use_dense) {
      lexical_only.clear();
      for (size_t s = 0; s < cands.size(); ++s) {
        if (dense_rank[s] < 0) lexical_only.push_back(static_cast<int>(s));
      }
      const EmbeddingRow query = queries.row(q);
      CM_RETURN_IF_ERROR(
          split_work(lexical_only.size(), [&](size_t begin, size_t end) -> absl::Status {
            std::vector<ClaimRowId> rows;
            for (size_t i = begin; i < end; ++i) rows.push_back(cands[lexical_only[i]].row_id);
            CM_ASSIGN_OR_RETURN(const std::vector<std::optional<float>> dots,
                                db_.vectors().InnerProducts(query, rows));
            for (size_t i = begin; i < end; ++i) {
              if (dots[i - begin].has_value()) cands[lexical_only[i]].dense = *dots[i - begin];
            }
            return absl::OkStatus();
          }));
    }
    float best_dense = -1, best_lexical = 0;
    for (const Candidate& c : cands) {
      best_dense = std::max(best_dense, c.dense);
      best_lexical = std::max(best_lexical, c.lexical);
    }
    for (size_t s = 0; s < cands.size(); ++s) {
      RerankFeatures& f = cands[s].features;
      f.fill(0);
      f[0] = cands[s].dense;
      f[1] = cands[s].lexical;
      f[2] = use_dense ? cands[s].dense - best_dense : 0.f;
      f[3] = best_lexical > 0 ? cands[s].lexical / best_lexical : 0.f;
      f[4] = dense_rank[s] >= 0 ? 1.f / (1 + dense_rank[s]) : 0.f;
      f[5] = lexical_rank[s] >= 0 ? 1.f / (1 + lexical_rank[s]) : 0.f;
      f[6] = dense_rank[s] >= 0 ? 1.f : 0.f;
      f[7] = lexical_rank[s] >= 0 ? 1.f : 0.f;
    }
    // Claim-text features for the best candidates of a preliminary fusion.
    fused.resize(cands.size());
    for (size_t s = 0; s < cands.size(); ++s) fused[s] = fusion.Score(cands[s].features);
    order.resize(cands.size());
    for (size_t s = 0; s < order.size(); ++s) order[s] = static_cast<int>(s);
    const size_t depth = std::min(order.size(), static_cast<size_t>(kRerankDepth * over));
    const auto better = [&](int a, int b) {
      return fused[a] != fused[b] ? fused[a] > fused[b] : cands[a].row_id < cands[b].row_id;
    };
    // The best `depth` in order (a total order): selection, then a sort of those only.
    if (depth < order.size())
      std::nth_element(order.begin(), order.begin() + depth, order.end(), better);
    order.resize(depth);
    std::sort(order.begin(), order.end(), better);
    const CueSet q_cues = Cues(clean[q]);
    const int32_t q_day =
        QueryDay(texts[q], !dates.empty() && !dates[q].empty() ? dates[q] : options.date);
    const int32_t latest_day = LatestStatedDay(q_day, options.later_claim_days);
    const int q_words = CountWords(clean[q]);
    std::vector<Candidate> kept;
    kept.reserve(depth);
    if (snap != nullptr) {
      // Three passes, so that the scattered reads of the claims' data overlap: slots (and their
      // offsets prefetched), the cue ranges prefetched, then the features.
      slots.clear();
      for (int s : order) {
        const auto it = snap->slot_of_row.find(cands[s].row_id);
        const int slot = it == snap->slot_of_row.end() ? -1 : it->second;
        slots.push_back(slot);
        if (slot >= 0) __builtin_prefetch(&snap->cue_begin[4 * slot]);
      }
      for (int slot : slots) {
        if (slot < 0) continue;
        const char* begin =
            reinterpret_cast<const char*>(snap->cues.data() + snap->cue_begin[4 * slot]);
        const char* end =
            reinterpret_cast<const char*>(snap->cues.data() + snap->cue_begin[4 * slot + 4]);
        for (const char* p = begin; p < end; p += 64) __builtin_prefetch(p);
        __builtin_prefetch(&snap->words[slot]);
        __builtin_prefetch(&snap->claim_idf[slot]);
      }
      for (size_t i = 0; i < order.size(); ++i) {
        const int s = order[i];
        const int slot = slots[i];
        if (slot < 0) continue;                             // deleted before the snapshot
        if (snap->stated_day[slot] > latest_day) continue;  // stated after the text
        RerankFeatures& f = cands[s].features;
        f[8] = Overlap(q_cues.numbers, snap->Numbers(slot));
        f[9] = Overlap(q_cues.names, snap->Names(slot));
        f[10] = std::log((snap->words[slot] + 1.0f) / (q_words + 1.0f));
        Coverage(q_terms, snap->ClaimTerms(slot), snap->claim_idf[slot], snap->BodyTerms(slot), &f);
        f[kDateProximityFeature] = DateProximity(q_day, snap->day[slot], kWeekDays);
        f[kDateProximityYearFeature] = DateProximity(q_day, snap->day[slot], kYearDays);
        cands[s].claimant = snap->claimant[slot];
        kept.push_back(cands[s]);
      }
    } else {
      std::vector<ClaimRowId> rows;
      for (int s : order) rows.push_back(cands[s].row_id);
      // 0: deleted since the index was loaded, or stated after the text.
      std::vector<char> found(order.size(), 0);
      CM_RETURN_IF_ERROR(split_work(order.size(), [&](size_t begin, size_t end) -> absl::Status {
        CM_ASSIGN_OR_RETURN(
            std::vector<std::optional<ClaimRecord>> records,
            db_.store().GetByRowIds(absl::MakeConstSpan(rows).subspan(begin, end - begin)));
        std::vector<const ClaimRecord*> present;
        for (const std::optional<ClaimRecord>& r : records) {
          present.push_back(r.has_value() ? &*r : nullptr);
        }
        const std::vector<ClaimTerms> terms = AnalyzeClaimTerms(present, db_.bm25());
        for (size_t i = begin; i < end; ++i) {
          const ClaimRecord* r = present[i - begin];
          if (r == nullptr || StatedDay(*r) > latest_day) continue;  // deleted / stated later
          const CueSet c_cues = Cues(absl::StrCat(r->text, " ", r->title));
          RerankFeatures& f = cands[order[i]].features;
          f[8] = Overlap(q_cues.numbers, c_cues.numbers);
          f[9] = Overlap(q_cues.names, c_cues.names);
          f[10] = std::log((CountWords(r->text) + 1.0f) / (q_words + 1.0f));
          const ClaimTerms& t = terms[i - begin];
          Coverage(q_terms, t.claim, t.claim_idf, t.body, &f);
          const int32_t c_day = ClaimDay(*r);
          f[kDateProximityFeature] = DateProximity(q_day, c_day, kWeekDays);
          f[kDateProximityYearFeature] = DateProximity(q_day, c_day, kYearDays);
          cands[order[i]].claimant = ClaimantKey(r->claimant);
          found[i] = 1;
        }
        return absl::OkStatus();
      }));
      for (size_t i = 0; i < order.size(); ++i) {
        if (found[i]) kept.push_back(cands[order[i]]);
      }
    }
    cands = std::move(kept);
  }
  if (split_out != nullptr) *split_out = std::move(split);
  return out;
}

absl::StatusOr<std::vector<std::vector<MatchResult>>> Matcher::MatchBatch(
    absl::Span<const std::string> texts, const MatchOptions& options,
    absl::Span<const std::string> dates) const {
  std::vector<std::string> split;  // each text with its tags spelled out, as Candidates did it
  CM_ASSIGN_OR_RETURN(std::vector<std::vector<Candidate>> all,
                      Candidates(texts, options, dates, &split));
  const float match_t = options.match_threshold.value_or(reranker_.match_threshold);
  const float suggest_t = options.suggest_threshold.value_or(reranker_.suggest_threshold);
  const ClaimFilter& f = options.filter;
  const bool filtered = !f.languages.empty() || !f.publishers.empty() || !f.verdicts.empty() ||
                        !f.claim_date_from.empty() || !f.claim_date_to.empty();
  std::vector<std::vector<MatchResult>> out(texts.size());
  // The top candidates of every text; their claims are read from the store in one call at the end.
  std::vector<ClaimRowId> top_rows;
  for (size_t q = 0; q < texts.size(); ++q) {
    std::vector<Candidate>& cands = all[q];
    std::vector<float> scores;
    if (options.mode == MatchMode::kHybrid) {
      scores = HybridScores(reranker_, cands);
    } else {
      for (const Candidate& c : cands) {
        scores.push_back(options.mode == MatchMode::kDense ? c.dense : c.lexical);
      }
    }
    std::vector<int> order(cands.size());
    for (size_t s = 0; s < order.size(); ++s) order[s] = static_cast<int>(s);
    const auto better = [&](int a, int b) {
      if (scores[a] != scores[b]) return scores[a] > scores[b];
      if (cands[a].bm25 != cands[b].bm25) return cands[a].bm25 > cands[b].bm25;
      return cands[a].row_id < cands[b].row_id;
    };
    std::vector<bool> pass;
    if (filtered) {
      std::sort(order.begin(), order.end(), better);
      std::vector<ClaimRowId> rows;
      rows.reserve(order.size());
      for (int s : order) rows.push_back(cands[s].row_id);
      CM_ASSIGN_OR_RETURN(pass, db_.store().MatchesFilter(rows, f));
    } else {
      const size_t k = std::min(order.size(), static_cast<size_t>(options.k));
      std::partial_sort(order.begin(), order.begin() + k, order.end(), better);
      order.resize(k);
      pass.assign(k, true);
    }
    // Words as the user wrote them (links aside): a tag is one word, however many it spells out;
    // emoji are none; a Chinese, Japanese or Thai sentence has as many as its dictionary words.
    const bool long_enough =
        CountWrittenWords(RemoveLinks(texts[q])) >= options.min_words_for_match;
    for (size_t i = 0; i < order.size() && static_cast<int>(out[q].size()) < options.k; ++i) {
      if (!pass[i]) continue;
      const Candidate& c = cands[order[i]];
      MatchResult m;
      m.row_id = c.row_id;
      m.score = scores[order[i]];
      m.confidence =
          options.mode == MatchMode::kHybrid ? reranker_.Confidence(c.features) : m.score;
      m.dense = c.dense;
      m.lexical = c.lexical;
      m.bm25 = c.bm25;
      if (m.confidence >= match_t && long_enough) {
        m.decision = Decision::kMatch;
      } else if (m.confidence >= suggest_t) {
        m.decision = Decision::kSuggest;
      }
      top_rows.push_back(c.row_id);
      out[q].push_back(std::move(m));
    }
  }
  CM_ASSIGN_OR_RETURN(std::vector<std::optional<ClaimRecord>> records,
                      db_.store().GetByRowIds(top_rows));
  size_t next = 0;
  for (size_t q = 0; q < out.size(); ++q) {
    std::vector<MatchResult>& results = out[q];
    const std::string clean = RemoveLinks(split[q]);  // as BM25 read it, for the names-only rule
    std::vector<MatchResult> kept;
    kept.reserve(results.size());
    for (MatchResult& m : results) {
      std::optional<ClaimRecord>& r = records[next++];
      if (!r.has_value()) continue;  // deleted since the index was loaded
      m.claim = *std::move(r);
      if (m.decision == Decision::kMatch && options.names_only_min_idf > 0 &&
          NamesOnlyOverlap(
              clean, m.claim.text, m.claim.title,
              [&](absl::string_view t) { return db_.bm25().Idf(t); }, options.names_only_min_idf)) {
        m.decision = Decision::kSuggest;
      }
      kept.push_back(std::move(m));
    }
    results = std::move(kept);
  }
  return out;
}

absl::StatusOr<std::vector<MatchResult>> Matcher::Match(absl::string_view text,
                                                        const MatchOptions& options) const {
  const std::string one(text);
  CM_ASSIGN_OR_RETURN(auto all, MatchBatch(absl::MakeConstSpan(&one, 1), options));
  return std::move(all[0]);
}

}  // namespace claimmatch
