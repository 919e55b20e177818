#include "engine/bm25_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

// The vector paths of SearchAnalyzedBatch and of the windowed search's candidate scan (CPUs with
// AVX-512 have these too).
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define CLAIMMATCH_BM25_AVX2 1
#endif

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "embeddings/file_util.h"
#include "engine/text_analysis.h"

namespace claimmatch {
namespace {

// The per-document part of one term's score, f / (f + k1 * (1 - b + b * |D| / avgdl)) with
// c1 = k1 * (1 - b) and c2 = k1 * b / avgdl, rounded to float: the value Bm25Index stores per
// posting (PostingList::gains), so a stored and a computed gain are the same bits. Monotone in
// `tf` (up) and `len` (down), as float rounding preserves order.
inline float Gain(uint32_t tf, uint32_t len, double c1, double c2) {
  const double t = static_cast<double>(tf);
  float gain = static_cast<float>(t / (t + c1 + c2 * static_cast<double>(len)));
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  // The rounding to float must happen wherever this is inlined. GCC 12 compiles C++ with
  // -fexcess-precision=fast: at -O3 with AVX-512 it vectorised TermCursor::FillCache's loop over f
  // and fed the double quotient straight into Contribution's fma, skipping the rounding
  // (contributions then differed from the stored gains' by up to 2^-24 of their value, and
  // PrepareFound's bounds could fall below a contribution). The empty asm makes the rounded float
  // the only value the compiler may use.
  __asm__("" : "+x"(gain));
#endif
  return gain;
}

// One term's contribution in fixed point: `weight` already holds qtf * idf * (k1 + 1) * scale
// (scores are summed as integers: exact and order-independent). Monotone in `gain`, so it bounds
// itself; at least 1, so a document holding a query term has a positive score.
inline int64_t Contribution(double weight, float gain) {
  // One rounding (fused multiply-add), whatever the compiler would contract: SearchAnalyzedBatch's
  // vector lanes compute the same.
  return std::max<int64_t>(1,
                           static_cast<int64_t>(std::fma(weight, static_cast<double>(gain), 0.5)));
}

inline int64_t Contribution(double weight, uint32_t tf, uint32_t len, double c1, double c2) {
  return Contribution(weight, Gain(tf, len, c1, c2));
}

// Returns whether any of the 16 scores from `a` is at least `at_least` (a window's final scan runs
// this test once per 16 documents of the collection). AVX2 has no 64-bit max: compared four at a
// time.
inline bool AnyAtLeast16(const int64_t* a, int64_t at_least) {
#if defined(CLAIMMATCH_BM25_AVX2)
  const __m256i below = _mm256_set1_epi64x(at_least - 1);
  const auto above = [&](int i) {
    return _mm256_cmpgt_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 4 * i)),
                              below);
  };
  const __m256i any =
      _mm256_or_si256(_mm256_or_si256(above(0), above(1)), _mm256_or_si256(above(2), above(3)));
  return _mm256_testz_si256(any, any) == 0;
#else
  int64_t most = a[0];
  for (int i = 1; i < 16; ++i) most = std::max(most, a[i]);
  return most >= at_least;
#endif
}

// Gain's c1 and c2 for a collection of mean document length `avgdl` > 0: the one place both the
// stored gains and a query's are derived from, so that they are the same bits.
inline double GainC1() { return Bm25Index::kK1 * (1.0 - Bm25Index::kB); }
inline double GainC2(double avgdl) { return Bm25Index::kK1 * Bm25Index::kB / avgdl; }

// The length of document `d` from the length runs (Bm25Index::run_end_ / run_len_), moving
// `*run` forward to the run that holds it. REQUIRES: d < sorted_docs_, *run not past that run.
inline uint32_t RunLength(const uint32_t* run_end, const uint32_t* run_len, uint32_t d,
                          size_t* run) {
  while (run_end[*run] <= d) ++*run;
  return run_len[*run];
}

// BM25's idf of a term held by `df` of `n` documents, floored at kMinIdf (FTS5's value): the one
// formula Idf, Idfs, ScoreUpperBound and the searches' term weights share.
inline double IdfOf(double n, double df) {
  const double idf = std::log((n - df + 0.5) / (df + 0.5));
  return idf <= 0.0 ? Bm25Index::kMinIdf : idf;
}

struct Candidate {
  int64_t score;
  ClaimRowId id;
};

// Best first: higher score, then smaller id.
inline bool Better(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

// Better as a function object, so that the heap operations inline it.
struct BetterThan {
  bool operator()(const Candidate& a, const Candidate& b) const { return Better(a, b); }
};

// The k best candidates offered so far; front() of the heap is the worst of them.
class TopK {
 public:
  explicit TopK(int k) : k_(static_cast<size_t>(k)) { heap_.reserve(k_); }
  bool full() const { return heap_.size() == k_; }
  // The score a candidate must reach to possibly enter (valid when full()).
  int64_t threshold() const { return heap_.front().score; }
  // Returns true if the candidate entered.
  bool Offer(int64_t score, ClaimRowId id) {
    const Candidate c{score, id};
    if (heap_.size() < k_) {
      heap_.push_back(c);
      std::push_heap(heap_.begin(), heap_.end(), BetterThan());
      return true;
    }
    if (!Better(c, heap_.front())) return false;
    ReplaceWorst(c);
    return true;
  }
  // Offers every candidate of `other` (moved whole when this holds none).
  void Merge(TopK&& other) {
    if (heap_.empty()) {
      heap_ = std::move(other.heap_);
      return;
    }
    for (const Candidate& c : other.heap_) Offer(c.score, c.id);
  }
  std::vector<Bm25Hit> Finish(double inv_scale) {
    std::sort(heap_.begin(), heap_.end(), BetterThan());
    std::vector<Bm25Hit> hits;
    hits.reserve(heap_.size());
    for (const Candidate& c : heap_) {
      hits.emplace_back(c.id, static_cast<float>(static_cast<double>(c.score) * inv_scale));
    }
    return hits;
  }

 private:
  // Replaces the worst candidate (the front) by `c`, which is better, in one pass down the heap
  // (std::pop_heap + std::push_heap would take two).
  void ReplaceWorst(const Candidate& c) {
    const size_t n = heap_.size();
    size_t i = 0;
    while (true) {
      const size_t left = 2 * i + 1;
      if (left >= n) break;
      // The worse child (a max-heap under Better: parents are worse than their children).
      size_t child = left;
      if (left + 1 < n && Better(heap_[left], heap_[left + 1])) child = left + 1;
      if (!Better(c, heap_[child])) break;  // c is worse than both children: it belongs here
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = c;
  }

  size_t k_;
  std::vector<Candidate> heap_;
};

// Adds the counts of `from` to `*to`.
void AddStats(const Bm25SearchStats& from, Bm25SearchStats* to) {
  to->terms += from.terms;
  to->windows += from.windows;
  to->windows_skipped += from.windows_skipped;
  to->essential_terms += from.essential_terms;
  to->postings_scored += from.postings_scored;
  to->postings_merged += from.postings_merged;
  to->candidates += from.candidates;
  to->probes += from.probes;
  to->offered += from.offered;
}

// ---- Binary format helpers (little-endian, fixed width) ----

constexpr char kMagic[8] = {'C', 'M', 'B', 'M', '2', '5', 'I', 'X'};
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 8;  // magic, version, reserved, size, fingerprint

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out->append(b, 4);
}

void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out->append(b, 8);
}

uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// A bounds-checked cursor over untrusted bytes.
class Reader {
 public:
  explicit Reader(absl::string_view data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  bool U32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = static_cast<uint32_t>(GetLe(data_.data() + pos_, 4));
    pos_ += 4;
    return true;
  }
  bool U64(uint64_t* v) {
    if (remaining() < 8) return false;
    *v = GetLe(data_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool Bytes(size_t n, absl::string_view* v) {
    if (remaining() < n) return false;
    *v = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};

absl::Status DataLoss(absl::string_view path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("bm25 index ", path, ": ", what));
}

}  // namespace

struct Bm25Index::QueryTerm {
  const PostingList* list;
  double weight;        // qtf * idf * (k1 + 1) * scale
  int64_t upper_bound;  // >= any Contribution() over `list`
};

struct Bm25Index::PreparedQuery {
  std::vector<QueryTerm> terms;
  double inv_scale = 0.0;  // score = integer sum * inv_scale
  double c1 = 0.0;         // k1 * (1 - b)
  double c2 = 0.0;         // k1 * b / avgdl
};

Bm25Index::Bm25Index(const Bm25IndexOptions& options) : options_(options) {
  options_.postings_per_block = std::max<uint32_t>(options_.postings_per_block, 1);
  options_.window_docs = std::max<uint32_t>(options_.window_docs, 1);
}

void Bm25Index::PostingList::Append(uint32_t doc, uint32_t tf, uint32_t len,
                                    uint32_t postings_per_block) {
  if (docs.size() % postings_per_block == 0) {
    blocks.push_back({doc, doc, tf, len});
  } else {
    Block& b = blocks.back();
    b.last_doc = doc;
    b.max_tf = std::max(b.max_tf, tf);
    b.min_len = std::min(b.min_len, len);
  }
  docs.push_back(doc);
  tfs.push_back(tf);
  AddBoundPoint(tf, len);
}

void Bm25Index::PostingList::AddBoundPoint(uint32_t tf, uint32_t len) {
  auto& points = bound_points;
  for (const auto& [t, l] : points) {
    if (t >= tf && l <= len) return;  // dominated
  }
  points.erase(std::remove_if(points.begin(), points.end(),
                              [&](const auto& p) { return p.first <= tf && p.second >= len; }),
               points.end());
  points.insert(std::lower_bound(points.begin(), points.end(), std::make_pair(tf, len)),
                std::make_pair(tf, len));
  if (points.size() > kMaxBoundPoints) {
    uint32_t max_tf = 0;
    uint32_t min_len = UINT32_MAX;
    for (const auto& [t, l] : points) {
      max_tf = std::max(max_tf, t);
      min_len = std::min(min_len, l);
    }
    points.assign(1, {max_tf, min_len});
  }
}

double Bm25Index::average_length() const {
  return doc_of_id_.empty() ? 0.0 : static_cast<double>(live_tokens_) / static_cast<double>(size());
}

absl::Status Bm25Index::Add(ClaimRowId id, absl::Span<const std::string> fields) {
  const bool replacing = doc_of_id_.contains(id);
  if (!replacing && doc_ids_.size() >= std::numeric_limits<uint32_t>::max() - 1) {
    return absl::ResourceExhaustedError("bm25 index: too many documents");
  }
  BuildForwardLists();
  std::vector<uint32_t> ids;
  uint64_t length = 0;
  for (const std::string& field : fields) {
    AnalyzeText(field, [&](absl::string_view term) {
      ++length;
      auto it = term_ids_.find(term);
      if (it == term_ids_.end()) {
        it = term_ids_.emplace(std::string(term), static_cast<uint32_t>(terms_.size())).first;
        terms_.emplace_back(term);
        postings_.emplace_back();
      }
      ids.push_back(it->second);
    });
  }
  if (length >= std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("bm25 index: document ", id, " has too many tokens"));
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::pair<uint32_t, uint32_t>> counts;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j < ids.size() && ids[j] == ids[i]) ++j;
    counts.emplace_back(ids[i], static_cast<uint32_t>(j - i));
    i = j;
  }
  if (replacing) RemoveWithoutCompaction(id);
  AppendDocument(id, static_cast<uint32_t>(length), counts);
  MaybeCompact();
  return absl::OkStatus();
}

uint32_t Bm25Index::AppendDocument(ClaimRowId id, uint32_t length,
                                   const std::vector<std::pair<uint32_t, uint32_t>>& counts) {
  const auto d = static_cast<uint32_t>(doc_ids_.size());
  doc_ids_.push_back(id);
  doc_lengths_.push_back(length);
  doc_alive_.push_back(1);
  forward_begin_.push_back(forward_terms_.size());
  for (const auto& [term, tf] : counts) {
    PostingList& list = postings_[term];
    list.Append(d, tf, length, options_.postings_per_block);
    if (list.live_df++ == 0) ++live_terms_;
    forward_terms_.push_back(term);
  }
  doc_of_id_[id] = d;
  live_tokens_ += length;
  gains_current_ = false;
  ExtendLengthRuns(d);
  return d;
}

void Bm25Index::ExtendLengthRuns(uint32_t d) {
  if (sorted_docs_ != d) return;
  const uint32_t len = doc_lengths_[d];
  if (run_len_.empty() || run_len_.back() < len) {
    run_end_.push_back(d + 1);
    run_len_.push_back(len);
  } else if (run_len_.back() == len) {
    run_end_.back() = d + 1;
  } else {
    return;  // shorter than its predecessor: the sorted prefix ends here
  }
  sorted_docs_ = d + 1;
}

void Bm25Index::RebuildLengthRuns() {
  sorted_docs_ = 0;
  run_end_.clear();
  run_len_.clear();
  for (size_t d = 0; d < doc_lengths_.size() && sorted_docs_ == d; ++d) {
    ExtendLengthRuns(static_cast<uint32_t>(d));
  }
}

bool Bm25Index::Remove(ClaimRowId id) {
  if (!RemoveWithoutCompaction(id)) return false;
  MaybeCompact();
  return true;
}

void Bm25Index::MaybeCompact() {
  const size_t dead = doc_ids_.size() - doc_of_id_.size();
  if (dead > 64 && dead * 4 > doc_of_id_.size()) Compact();
}

bool Bm25Index::RemoveWithoutCompaction(ClaimRowId id) {
  const auto it = doc_of_id_.find(id);
  if (it == doc_of_id_.end()) return false;
  BuildForwardLists();
  const uint32_t d = it->second;
  doc_of_id_.erase(it);
  doc_alive_[d] = 0;
  live_tokens_ -= doc_lengths_[d];
  gains_current_ = false;
  const uint64_t end =
      d + 1 < forward_begin_.size() ? forward_begin_[d + 1] : forward_terms_.size();
  for (uint64_t i = forward_begin_[d]; i < end; ++i) {
    if (--postings_[forward_terms_[i]].live_df == 0) --live_terms_;
  }
  return true;
}

void Bm25Index::ComputeForwardLists(std::vector<uint64_t>* begin,
                                    std::vector<uint32_t>* terms) const {
  const size_t n_docs = doc_ids_.size();
  std::vector<uint64_t> count(n_docs + 1, 0);
  for (const PostingList& list : postings_) {
    for (const uint32_t d : list.docs) ++count[d + 1];
  }
  for (size_t d = 0; d < n_docs; ++d) count[d + 1] += count[d];
  terms->resize(count[n_docs]);
  begin->assign(count.begin(), count.end() - 1);
  // Term ids in ascending order: each document's list comes out sorted.
  for (uint32_t t = 0; t < postings_.size(); ++t) {
    for (const uint32_t d : postings_[t].docs) (*terms)[count[d]++] = t;
  }
}

void Bm25Index::BuildForwardLists() {
  if (forward_current_) return;
  ComputeForwardLists(&forward_begin_, &forward_terms_);
  forward_current_ = true;
}

Bm25Index::Renumbering Bm25Index::Renumber(const std::vector<uint64_t>& forward_begin,
                                           const std::vector<uint32_t>& forward_terms) const {
  Renumbering r;
  const size_t n_docs = doc_ids_.size();
  r.order.reserve(doc_of_id_.size());
  for (size_t d = 0; d < n_docs; ++d) {
    if (doc_alive_[d]) r.order.push_back(static_cast<uint32_t>(d));
  }
  std::stable_sort(r.order.begin(), r.order.end(),
                   [&](uint32_t a, uint32_t b) { return doc_lengths_[a] < doc_lengths_[b]; });
  // Terms without live documents disappear; the others keep their relative order, so forward
  // lists stay sorted by term id.
  r.new_term.assign(terms_.size(), UINT32_MAX);
  r.term_begin.push_back(0);
  for (size_t t = 0; t < terms_.size(); ++t) {
    if (postings_[t].live_df == 0) continue;
    r.new_term[t] = static_cast<uint32_t>(r.term_begin.size() - 1);
    r.term_begin.push_back(r.term_begin.back() + postings_[t].live_df);
  }
  // Each document's forward list holds its term ids ascending, and so does the term-ordered walk
  // of the postings: it yields each document's frequencies in its forward list's order.
  std::vector<uint32_t> forward_tfs(forward_terms.size());
  {
    std::vector<uint64_t> fill(forward_begin);
    for (const PostingList& list : postings_) {
      for (size_t i = 0; i < list.docs.size(); ++i) forward_tfs[fill[list.docs[i]]++] = list.tfs[i];
    }
  }
  std::vector<uint64_t> fill(r.term_begin.begin(), r.term_begin.end() - 1);
  r.docs.resize(r.term_begin.back());
  r.tfs.resize(r.term_begin.back());
  for (size_t i = 0; i < r.order.size(); ++i) {
    const uint32_t d = r.order[i];
    const uint64_t end = d + 1 < n_docs ? forward_begin[d + 1] : forward_terms.size();
    for (uint64_t j = forward_begin[d]; j < end; ++j) {
      const uint64_t at = fill[r.new_term[forward_terms[j]]]++;
      r.docs[at] = static_cast<uint32_t>(i);
      r.tfs[at] = forward_tfs[j];
    }
  }
  return r;
}

void Bm25Index::Compact() {
  BuildForwardLists();
  const Renumbering r = Renumber(forward_begin_, forward_terms_);
  const size_t n_docs = doc_ids_.size();
  std::vector<std::string> terms;
  std::vector<PostingList> postings(r.term_begin.size() - 1);
  for (size_t t = 0; t < terms_.size(); ++t) {
    if (r.new_term[t] != UINT32_MAX) terms.push_back(std::move(terms_[t]));
  }
  std::vector<ClaimRowId> doc_ids;
  std::vector<uint32_t> doc_lengths;
  std::vector<uint64_t> forward_begin;
  std::vector<uint32_t> forward_terms;
  doc_ids.reserve(r.order.size());
  doc_lengths.reserve(r.order.size());
  forward_begin.reserve(r.order.size());
  forward_terms.reserve(r.docs.size());
  for (const uint32_t d : r.order) {
    doc_ids.push_back(doc_ids_[d]);
    doc_lengths.push_back(doc_lengths_[d]);
    forward_begin.push_back(forward_terms.size());
    const uint64_t end = d + 1 < n_docs ? forward_begin_[d + 1] : forward_terms_.size();
    for (uint64_t j = forward_begin_[d]; j < end; ++j) {
      forward_terms.push_back(r.new_term[forward_terms_[j]]);
    }
  }
  for (size_t t = 0; t < postings.size(); ++t) {
    PostingList& list = postings[t];
    const uint64_t begin = r.term_begin[t];
    const uint64_t end = r.term_begin[t + 1];
    list.live_df = static_cast<uint32_t>(end - begin);
    list.docs.reserve(end - begin);
    list.tfs.reserve(end - begin);
    for (uint64_t i = begin; i < end; ++i) {
      list.Append(r.docs[i], r.tfs[i], doc_lengths[r.docs[i]], options_.postings_per_block);
    }
  }
  term_ids_.clear();
  for (size_t t = 0; t < terms.size(); ++t) term_ids_.emplace(terms[t], static_cast<uint32_t>(t));
  for (size_t i = 0; i < doc_ids.size(); ++i) doc_of_id_[doc_ids[i]] = static_cast<uint32_t>(i);
  terms_ = std::move(terms);
  postings_ = std::move(postings);
  doc_ids_ = std::move(doc_ids);
  doc_lengths_ = std::move(doc_lengths);
  doc_alive_.assign(doc_ids_.size(), 1);
  forward_begin_ = std::move(forward_begin);
  forward_terms_ = std::move(forward_terms);
  RebuildLengthRuns();
  ComputeGains();
}

void Bm25Index::ComputeGains() {
  gains_current_ = false;
  if (doc_ids_.size() > options_.max_docs_with_gains) {
    for (PostingList& list : postings_) std::vector<float>().swap(list.gains);
    return;
  }
  const double avgdl = average_length();
  const double c1 = GainC1();
  const double c2 = avgdl > 0 ? GainC2(avgdl) : 0.0;
  for (PostingList& list : postings_) {
    list.gains.resize(list.docs.size());
    for (size_t i = 0; i < list.docs.size(); ++i) {
      list.gains[i] = Gain(list.tfs[i], doc_lengths_[list.docs[i]], c1, c2);
    }
  }
  gains_current_ = true;
}

int64_t Bm25Index::DocumentFrequency(absl::string_view term) const {
  const auto it = term_ids_.find(term);
  return it == term_ids_.end() ? 0 : postings_[it->second].live_df;
}

double Bm25Index::Idf(absl::string_view term) const {
  return IdfOf(static_cast<double>(size()), static_cast<double>(DocumentFrequency(term)));
}

std::vector<double> Bm25Index::Idfs(absl::Span<const absl::string_view> terms) const {
  // Three passes, so that the scattered reads overlap: the terms' slots in term_ids_, then their
  // posting lists' df, then the idfs.
  for (const absl::string_view t : terms) term_ids_.prefetch(t);
  std::vector<const PostingList*> lists(terms.size(), nullptr);
  for (size_t i = 0; i < terms.size(); ++i) {
    const auto it = term_ids_.find(terms[i]);
    if (it == term_ids_.end()) continue;
    lists[i] = &postings_[it->second];
    __builtin_prefetch(&lists[i]->live_df);
  }
  const double n = static_cast<double>(size());
  std::vector<double> idfs(terms.size());
  for (size_t i = 0; i < terms.size(); ++i) {
    idfs[i] = IdfOf(n, lists[i] == nullptr ? 0.0 : lists[i]->live_df);
  }
  return idfs;
}

double Bm25Index::ScoreUpperBound(absl::string_view query) const {
  if (size() == 0) return 0.0;
  const double n = static_cast<double>(size());
  double total = 0.0;
  AnalyzeQuery(query, [&](absl::string_view term) {
    total += IdfOf(n, static_cast<double>(DocumentFrequency(term))) * (kK1 + 1.0);
  });
  return total;
}

Bm25Index::PreparedQuery Bm25Index::PrepareQuery(absl::string_view query) const {
  std::vector<std::pair<const PostingList*, int>> found;
  AnalyzeQuery(query, [&](absl::string_view term) {
    const auto it = term_ids_.find(term);
    if (it == term_ids_.end()) return;
    const PostingList* list = &postings_[it->second];
    if (list->live_df == 0) return;
    for (auto& [l, count] : found) {
      if (l == list) {
        ++count;
        return;
      }
    }
    found.emplace_back(list, 1);
  });
  return PrepareFound(found);
}

Bm25Index::PreparedQuery Bm25Index::PrepareFound(
    absl::Span<const std::pair<const PostingList*, int>> found) const {
  PreparedQuery q;
  if (found.empty() || live_tokens_ == 0) return q;
  const double n = static_cast<double>(size());
  q.c1 = GainC1();
  q.c2 = GainC2(average_length());  // live_tokens_ > 0
  std::vector<double> weights;
  double total = 0.0;  // bounds any score: each term adds less than its weight
  for (const auto& [list, count] : found) {
    weights.push_back(count * IdfOf(n, list->live_df) * (kK1 + 1.0));
    total += weights.back();
  }
  // The finest power-of-two unit, down to 2^-48, whose integer sums stay below 2^52: a sum is then
  // exact in a double too (SearchAnalyzedBatch's accumulators).
  const int exponent = std::min(48, 51 - static_cast<int>(std::ceil(std::log2(total + 1.0))));
  const double scale = std::ldexp(1.0, exponent);
  q.inv_scale = std::ldexp(1.0, -exponent);
  for (size_t i = 0; i < found.size(); ++i) {
    const PostingList* list = found[i].first;
    const double weight = weights[i] * scale;
    int64_t bound = 0;
    for (const auto& [tf, len] : list->bound_points) {
      bound = std::max(bound, Contribution(weight, tf, len, q.c1, q.c2));
    }
    // +1 absorbs any last-bit rounding: the bound stays >= every contribution.
    q.terms.push_back({list, weight, bound + 1});
  }
  return q;
}

std::vector<Bm25Hit> Bm25Index::SearchExhaustive(absl::string_view query, int k) const {
  if (k <= 0) return {};
  const PreparedQuery q = PrepareQuery(query);
  if (q.terms.empty()) return {};
  std::vector<int64_t> acc(doc_ids_.size(), 0);
  std::vector<uint8_t> seen(doc_ids_.size(), 0);
  std::vector<uint32_t> touched;
  for (const QueryTerm& t : q.terms) {
    const PostingList& list = *t.list;
    for (size_t i = 0; i < list.docs.size(); ++i) {
      const uint32_t d = list.docs[i];
      acc[d] += Contribution(t.weight, list.tfs[i], doc_lengths_[d], q.c1, q.c2);
      if (!seen[d]) {
        seen[d] = 1;
        touched.push_back(d);
      }
    }
  }
  TopK top(k);
  for (const uint32_t d : touched) {
    if (doc_alive_[d]) top.Offer(acc[d], doc_ids_[d]);
  }
  return top.Finish(q.inv_scale);
}

// A query term's position in its postings during Search.
struct Bm25Index::TermCursor {
  const uint32_t* docs;
  const uint32_t* tfs;
  const float* gains;  // the stored gains when they are current, else null (computed)
  const Block* blocks;
  size_t pos;    // next posting
  size_t end;    // number of postings
  size_t block;  // no block before it reaches the current window
  size_t n_blocks;
  double weight;
  int64_t upper_bound;  // over the whole list
  // Contributions at |D| = cached_len: cached[f] for each f < kCachedTfs whose bit is set in
  // cached_mask (a document length changes rarely along a window: documents are numbered by
  // length, so a window's postings see one or two lengths; the division of the gain then runs
  // once per length and f, and the f > 1 postings take no unpredictable branch).
  static constexpr uint32_t kCachedTfs = 8;
  uint32_t cached_len;
  uint32_t cached_mask;
  int64_t cached[kCachedTfs];

  // Returns the term's contribution to the document of posting `p`, of `len` tokens (read only
  // when gains are not stored).
  int64_t Score(size_t p, uint32_t len, double c1, double c2) {
    if (gains != nullptr) return Contribution(weight, gains[p]);
    const uint32_t tf = tfs[p];
    if (len != cached_len) {
      cached_len = len;
      cached_mask = 0;
    }
    if (tf >= kCachedTfs) return Contribution(weight, tf, len, c1, c2);
    if ((cached_mask >> tf & 1) == 0) {
      cached[tf] = Contribution(weight, tf, len, c1, c2);
      cached_mask |= 1u << tf;
    }
    return cached[tf];
  }
  // Fills cached[1, kCachedTfs) for documents of `len` tokens (unless it holds them already).
  void FillCache(uint32_t len, double c1, double c2) {
    constexpr uint32_t kAll = (1u << kCachedTfs) - 2;  // f = 0 is never asked
    if (len == cached_len && cached_mask == kAll) return;
    cached_len = len;
    for (uint32_t tf = 1; tf < kCachedTfs; ++tf) cached[tf] = Contribution(weight, tf, len, c1, c2);
    cached_mask = kAll;
  }
  // Moves to the first posting >= `d` (gallop, then binary search).
  void SeekTo(uint32_t d) {
    if (pos >= end || docs[pos] >= d) return;
    size_t lo = pos;
    size_t step = 1;
    while (lo + step < end && docs[lo + step] < d) {
      lo += step;
      step <<= 1;
    }
    const size_t hi = std::min(lo + step, end);
    pos = static_cast<size_t>(std::lower_bound(docs + lo, docs + hi, d) - docs);
  }
  // Calls visit(d - base, contribution) for each posting d in [base, limit), from the current
  // position on, and moves past them. Without stored gains, lengths come from the runs
  // (`run_end`, `run_len`, starting at run `run`, which must not end at or before `base`) when
  // `run_end` is non-null, else from `lengths`. Returns the number of postings visited.
  template <typename Visit>
  size_t ScanWindow(uint32_t base, uint64_t limit, const uint32_t* run_end, const uint32_t* run_len,
                    size_t run, const uint32_t* lengths, double c1, double c2, Visit visit) {
    const size_t start = pos;
    size_t p = pos;
    if (gains != nullptr) {
      const double w = weight;
      for (; p < end && docs[p] < limit; ++p) visit(docs[p] - base, Contribution(w, gains[p]));
    } else if (run_end != nullptr) {
      // One run of equal lengths at a time (at 1M claims a window holds one or two): its
      // contributions for f < kCachedTfs are then a table lookup, without a branch on the length or
      // the cache.
      while (p < end && docs[p] < limit) {
        while (docs[p] >= run_end[run]) ++run;
        const uint64_t stop = std::min<uint64_t>(run_end[run], limit);
        FillCache(run_len[run], c1, c2);
        for (; p < end && docs[p] < stop; ++p) {
          const uint32_t tf = tfs[p];
          visit(docs[p] - base,
                tf < kCachedTfs ? cached[tf] : Contribution(weight, tf, cached_len, c1, c2));
        }
      }
    } else {
      for (; p < end && docs[p] < limit; ++p)
        visit(docs[p] - base, Score(p, lengths[docs[p]], c1, c2));
    }
    pos = p;
    return p - start;
  }
};

std::vector<Bm25Hit> Bm25Index::Search(absl::string_view query, int k,
                                       Bm25SearchStats* stats) const {
  if (k <= 0) return {};
  return SearchPrepared(PrepareQuery(query), k, stats);
}

std::vector<std::pair<const Bm25Index::PostingList*, int>> Bm25Index::FindTerms(
    absl::Span<const Bm25QueryTerm> terms) const {
  std::vector<std::pair<const PostingList*, int>> found;
  found.reserve(terms.size());
  for (const Bm25QueryTerm& t : terms) {
    const auto it = term_ids_.find(t.term);
    if (it == term_ids_.end() || t.count <= 0) continue;
    const PostingList* list = &postings_[it->second];
    if (list->live_df == 0) continue;
    bool repeated = false;  // a term given twice counts with both counts
    for (auto& [l, count] : found) {
      if (l == list) {
        count += t.count;
        repeated = true;
        break;
      }
    }
    if (!repeated) found.emplace_back(list, t.count);
  }
  return found;
}

std::vector<Bm25Hit> Bm25Index::SearchAnalyzed(absl::Span<const Bm25QueryTerm> terms, int k,
                                               Bm25SearchStats* stats) const {
  if (k <= 0) return {};
  return SearchPrepared(PrepareFound(FindTerms(terms)), k, stats);
}

std::vector<std::vector<Bm25Hit>> Bm25Index::SearchAnalyzedBatch(
    absl::Span<const std::vector<Bm25QueryTerm>> queries, int k) const {
  std::vector<std::vector<Bm25Hit>> out(queries.size());
  if (k <= 0) return out;
  if (!gains_current_ || queries.size() < static_cast<size_t>(kBatchLanes)) {
    for (size_t i = 0; i < queries.size(); ++i) out[i] = SearchAnalyzed(queries[i], k);
    return out;
  }
  // Documents are scored a window of kWindow at a time: acc[(d - base) * kBatchLanes + l] holds
  // document d's score for lane l's query, zero between windows (the selection clears what it
  // read). The sums are integers below 2^52 (PrepareFound's unit), so doubles hold them exactly:
  // 64 bytes per document, 256 KB per window, which stays in a 512 KB L2 (the whole collection's
  // 1.2 MB at 19,250 claims did not: the window made the batch search about 13% cheaper on such a
  // CPU, benchmarks/README.md session 16). Each term's postings are walked window by window.
  const uint32_t n_docs = static_cast<uint32_t>(doc_ids_.size());
  constexpr uint32_t kWindow = 4096;
  std::vector<double> acc(static_cast<size_t>(std::min(n_docs, kWindow)) * kBatchLanes, 0.0);
  std::vector<size_t> next;  // per term, its first posting not yet scored
  struct Term {
    const PostingList* list;
    double weight[kBatchLanes];  // 0 in lanes whose query lacks the term
    uint8_t lanes;               // bit l: lane l's query holds it
  };
  std::vector<Term> terms;
  absl::flat_hash_map<const PostingList*, size_t> term_of;
  std::vector<TopK> top;
  for (size_t first = 0; first < queries.size(); first += kBatchLanes) {
    const int lanes = static_cast<int>(std::min<size_t>(kBatchLanes, queries.size() - first));
    double inv_scale[kBatchLanes] = {};
    terms.clear();
    term_of.clear();
    for (int l = 0; l < lanes; ++l) {
      const PreparedQuery q = PrepareFound(FindTerms(queries[first + l]));
      inv_scale[l] = q.inv_scale;
      for (const QueryTerm& t : q.terms) {
        const auto [it, added] = term_of.emplace(t.list, terms.size());
        if (added) terms.push_back(Term{t.list, {}, 0});
        terms[it->second].weight[l] = t.weight;
        terms[it->second].lanes |= static_cast<uint8_t>(1u << l);
      }
    }
    top.clear();
    for (int l = 0; l < lanes; ++l) top.emplace_back(k);
    double floor[kBatchLanes];  // the score a document needs to be offered to lane l
    for (int l = 0; l < kBatchLanes; ++l) {
      floor[l] = l < lanes ? 1.0 : std::numeric_limits<double>::infinity();
    }
    next.assign(terms.size(), 0);
    for (uint32_t base = 0; base < n_docs; base += kWindow) {
      const uint32_t limit = std::min(n_docs, base + kWindow);
      // Every posting of every term in the window, scored for the lanes holding the term at once:
      // exactly the Contribution() each query's own search adds (max(1, trunc(fma(weight, gain,
      // 0.5))), an integer below 2^52, exact as a double; integer sums: order does not matter).
      for (size_t i = 0; i < terms.size(); ++i) {
        const Term& t = terms[i];
        const uint32_t* docs = t.list->docs.data();
        const float* gains = t.list->gains.data();
        const size_t start = next[i];
        const size_t end = static_cast<size_t>(
            std::lower_bound(docs + start, docs + t.list->docs.size(), limit) - docs);
        next[i] = end;
#if defined(CLAIMMATCH_BM25_AVX2)
        const __m256d w_lo = _mm256_loadu_pd(t.weight);
        const __m256d w_hi = _mm256_loadu_pd(t.weight + 4);
        const __m256d half = _mm256_set1_pd(0.5);
        const __m256d one = _mm256_set1_pd(1.0);
        // All bits set in the lanes holding the term (bit l of t.lanes -> lane l).
        const __m256i bit = _mm256_set_epi64x(8, 4, 2, 1);
        const __m256d m_lo = _mm256_castsi256_pd(
            _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(t.lanes), bit), bit));
        const __m256d m_hi = _mm256_castsi256_pd(
            _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(t.lanes >> 4), bit), bit));
        for (size_t p = start; p < end; ++p) {
          double* a = acc.data() + static_cast<size_t>(docs[p] - base) * kBatchLanes;
          const __m256d g = _mm256_set1_pd(static_cast<double>(gains[p]));
          const __m256d c_lo = _mm256_and_pd(
              m_lo, _mm256_max_pd(_mm256_round_pd(_mm256_fmadd_pd(w_lo, g, half),
                                                  _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC),
                                  one));
          const __m256d c_hi = _mm256_and_pd(
              m_hi, _mm256_max_pd(_mm256_round_pd(_mm256_fmadd_pd(w_hi, g, half),
                                                  _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC),
                                  one));
          _mm256_storeu_pd(a, _mm256_add_pd(_mm256_loadu_pd(a), c_lo));
          _mm256_storeu_pd(a + 4, _mm256_add_pd(_mm256_loadu_pd(a + 4), c_hi));
        }
#else
        for (size_t p = start; p < end; ++p) {
          double* a = acc.data() + static_cast<size_t>(docs[p] - base) * kBatchLanes;
          for (int l = 0; l < kBatchLanes; ++l) {
            if (t.lanes >> l & 1) a[l] += static_cast<double>(Contribution(t.weight[l], gains[p]));
          }
        }
#endif
      }
      // Each lane's top k: every document with a score reaches its heap (documents in ascending
      // order, as without windows).
      for (uint32_t d = base; d < limit; ++d) {
        double* a = acc.data() + static_cast<size_t>(d - base) * kBatchLanes;
        uint32_t reached = 0;
#if defined(CLAIMMATCH_BM25_AVX2)
        reached = static_cast<uint32_t>(_mm256_movemask_pd(
                      _mm256_cmp_pd(_mm256_loadu_pd(a), _mm256_loadu_pd(floor), _CMP_GE_OQ))) |
                  static_cast<uint32_t>(_mm256_movemask_pd(_mm256_cmp_pd(
                      _mm256_loadu_pd(a + 4), _mm256_loadu_pd(floor + 4), _CMP_GE_OQ)))
                      << 4;
#else
        for (int l = 0; l < kBatchLanes; ++l) {
          reached |= static_cast<uint32_t>(a[l] >= floor[l]) << l;
        }
#endif
        if (reached != 0 && doc_alive_[d]) {
          for (; reached != 0; reached &= reached - 1) {
            const int l = __builtin_ctz(reached);
            if (top[l].Offer(static_cast<int64_t>(a[l]), doc_ids_[d]) && top[l].full()) {
              floor[l] = static_cast<double>(top[l].threshold());
            }
          }
        }
        std::fill(a, a + kBatchLanes, 0.0);
      }
    }
    for (int l = 0; l < lanes; ++l) out[first + l] = top[l].Finish(inv_scale[l]);
  }
  return out;
}

// What the Work() calls of one SharedSearch share: the query, the next window to take, the best
// k-th score any call has found (a document scoring below it cannot be in the top k, whichever
// call finds it), and the merged top k with the calls' statistics.
struct Bm25Index::SharedSearch::Share {
  Share(PreparedQuery query, int k) : q(std::move(query)), k(std::max(k, 0)), top(this->k) {}
  const PreparedQuery q;
  const int k;
  std::atomic<uint64_t> next_window{0};
  std::atomic<int64_t> threshold{-1};
  absl::Mutex mu;
  TopK top ABSL_GUARDED_BY(mu);
  Bm25SearchStats stats ABSL_GUARDED_BY(mu);

  // Returns the merged top k, best first, adding the calls' statistics to `*out` when non-null.
  // REQUIRES: every call has returned.
  std::vector<Bm25Hit> Finish(Bm25SearchStats* out) {
    absl::MutexLock lock(&mu);
    if (out != nullptr) AddStats(stats, out);
    return top.Finish(q.inv_scale);
  }

  // Raises the shared threshold to `t` unless it is higher already.
  void Raise(int64_t t) {
    int64_t seen = threshold.load(std::memory_order_relaxed);
    while (seen < t && !threshold.compare_exchange_weak(seen, t, std::memory_order_relaxed)) {
    }
  }
};

Bm25Index::SharedSearch::SharedSearch(const Bm25Index& index, absl::Span<const Bm25QueryTerm> terms,
                                      int k)
    : index_(index),
      share_(std::make_unique<Share>(index.PrepareFound(index.FindTerms(terms)), k)) {}

Bm25Index::SharedSearch::~SharedSearch() = default;

void Bm25Index::SharedSearch::Work() {
  if (share_->k == 0 || share_->q.terms.empty()) return;
  index_.SearchWindows(share_.get());
}

std::vector<Bm25Hit> Bm25Index::SharedSearch::Result(Bm25SearchStats* stats) {
  Work();
  return share_->Finish(stats);
}

std::unique_ptr<Bm25Index::SharedSearch> Bm25Index::StartSearch(
    absl::Span<const Bm25QueryTerm> terms, int k) const {
  return std::unique_ptr<SharedSearch>(new SharedSearch(*this, terms, k));
}

std::vector<Bm25Hit> Bm25Index::SearchPrepared(PreparedQuery q, int k,
                                               Bm25SearchStats* stats) const {
  if (q.terms.empty() || k <= 0) return {};
  SharedSearch::Share share(std::move(q), k);
  SearchWindows(&share);
  return share.Finish(stats);
}

void Bm25Index::SearchWindows(SharedSearch::Share* share) const {
  const PreparedQuery& q = share->q;
  const double c1 = q.c1;
  const double c2 = q.c2;
  const size_t n = q.terms.size();
  const uint32_t per_block = options_.postings_per_block;
  std::vector<TermCursor> cursors(n);
  for (size_t i = 0; i < n; ++i) {
    const PostingList& list = *q.terms[i].list;
    TermCursor& c = cursors[i];
    c.docs = list.docs.data();
    c.tfs = list.tfs.data();
    c.gains = gains_current_ ? list.gains.data() : nullptr;
    c.blocks = list.blocks.data();
    c.pos = 0;
    c.end = list.docs.size();
    c.block = 0;
    c.n_blocks = list.blocks.size();
    c.weight = q.terms[i].weight;
    c.upper_bound = q.terms[i].upper_bound;
    c.cached_len = UINT32_MAX;
    c.cached_mask = 0;
  }
  Bm25SearchStats st;
  TopK top(share->k);
  int64_t threshold = -1;  // a candidate scoring below this cannot enter the top k
  // Per window: each term's bound and its postings (at most) in the window, the terms by
  // ascending bound, and prefix[j] = the sum of the bounds of order[0..j].
  std::vector<int64_t> bound(n);
  std::vector<size_t> in_window(n);
  std::vector<uint32_t> order(n);
  std::vector<int64_t> prefix(n);
  // See the merge below.
  constexpr size_t kMergeFactor = 4;
  constexpr int64_t kMergeMinShare = 8;
  const uint32_t window = options_.window_docs;
  // Scores of the window's documents, padded to whole groups of the final scan. The final scan
  // reads every group of the window: at 1M claims essential postings reach about 87% of them, and
  // marking the reached groups to skip the others cost more than it saved (benchmarks/README.md,
  // session 16).
  constexpr uint32_t kGroup = 16;  // AnyAtLeast16's
  std::vector<int64_t> acc_storage(window + kGroup, 0);
  int64_t* const acc = acc_storage.data();
  const uint64_t n_docs = doc_ids_.size();
  const bool has_tombstones = doc_ids_.size() != doc_of_id_.size();
  size_t window_run = 0;  // the length run holding `base`, while base < sorted_docs_
  const uint64_t n_windows = (n_docs + window - 1) / window;
  for (uint64_t w = share->next_window.fetch_add(1, std::memory_order_relaxed); w < n_windows;
       w = share->next_window.fetch_add(1, std::memory_order_relaxed)) {
    const uint64_t base = w * window;
    const uint64_t limit = std::min<uint64_t>(base + window, n_docs);
    const auto base32 = static_cast<uint32_t>(base);
    ++st.windows;
    // Another call may have found a higher k-th score.
    threshold = std::max(threshold, share->threshold.load(std::memory_order_relaxed));
    int64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      // The blocks overlapping [base, limit): from the first that ends at or after base, while
      // they start before limit.
      TermCursor& c = cursors[i];
      while (c.block < c.n_blocks && c.blocks[c.block].last_doc < base) ++c.block;
      c.pos = std::max(c.pos, c.block * per_block);  // earlier blocks end before base
      uint32_t max_tf = 0;
      uint32_t min_len = UINT32_MAX;
      size_t j = c.block;
      for (; j < c.n_blocks && c.blocks[j].first_doc < limit; ++j) {
        max_tf = std::max(max_tf, c.blocks[j].max_tf);
        min_len = std::min(min_len, c.blocks[j].min_len);
        if (c.blocks[j].last_doc >= limit) {
          ++j;
          break;
        }
      }
      in_window[i] = (j - c.block) * per_block;
      // +1 absorbs any last-bit rounding, as for the global bound.
      bound[i] = max_tf == 0
                     ? 0
                     : std::min(c.upper_bound, Contribution(c.weight, max_tf, min_len, c1, c2) + 1);
      total += bound[i];
      order[i] = static_cast<uint32_t>(i);
    }
    if (total == 0 || total < threshold) {
      ++st.windows_skipped;
      continue;
    }
    for (size_t i = 1; i < n; ++i) {  // insertion sort: a few dozen terms at most
      const uint32_t t = order[i];
      size_t j = i;
      for (; j > 0 && bound[order[j - 1]] > bound[t]; --j) order[j] = order[j - 1];
      order[j] = t;
    }
    int64_t sum = 0;
    for (size_t j = 0; j < n; ++j) {
      sum += bound[order[j]];
      prefix[j] = sum;
    }
    // Terms order[0, first_essential) cannot alone reach the threshold.
    size_t first_essential = 0;
    while (prefix[first_essential] < threshold) ++first_essential;  // total >= threshold
    st.essential_terms += static_cast<int64_t>(n - first_essential);
    const uint32_t* run_end = nullptr;
    const uint32_t* run_len = nullptr;
    if (limit <= sorted_docs_) {
      while (run_end_[window_run] <= base) ++window_run;
      run_end = run_end_.data();
      run_len = run_len_.data();
    }
    size_t essential_postings = 0;
    for (size_t j = first_essential; j < n; ++j) {
      if (bound[order[j]] == 0) continue;
      TermCursor c = cursors[order[j]];
      c.SeekTo(base32);
      essential_postings +=
          c.ScanWindow(base32, limit, run_end, run_len, window_run, doc_lengths_.data(), c1, c2,
                       [&](uint32_t offset, int64_t v) { acc[offset] += v; });
      cursors[order[j]] = c;
    }
    st.postings_scored += static_cast<int64_t>(essential_postings);
    // acc[offset] > 0 now marks the documents found. Non-essential terms with few postings in
    // the window compared with the essential ones (highest bound first) are merged into them:
    // each of their postings whose document was found adds its contribution. This costs at most
    // kMergeFactor times the essential work, and spares probing them for each document found.
    // Terms whose bound is below 1/kMergeMinShare of the threshold are left to the probes: few
    // documents come that close to the threshold, and such terms (stop words) have long lists.
    // Terms order[merged, first_essential) are merged; the rest are probed below.
    size_t merged = first_essential;
    while (merged > 0 && in_window[order[merged - 1]] <= kMergeFactor * essential_postings &&
           bound[order[merged - 1]] >= threshold / kMergeMinShare) {
      const uint32_t t = order[--merged];
      if (bound[t] == 0) continue;
      TermCursor c = cursors[t];
      c.SeekTo(base32);
      st.postings_merged += static_cast<int64_t>(c.ScanWindow(
          base32, limit, run_end, run_len, window_run, doc_lengths_.data(), c1, c2,
          [&](uint32_t offset, int64_t v) { acc[offset] += acc[offset] > 0 ? v : 0; }));
      cursors[t] = c;
    }
    // Each found document that can still reach the threshold with the remaining terms' bounds is
    // completed by probing them, highest bound first, while its bound stays above the threshold.
    // acc is zeroed for the next window as it is read.
    const int64_t rest = merged > 0 ? prefix[merged - 1] : 0;
    int64_t at_least = std::max<int64_t>(1, threshold - rest);
    size_t candidate_run = window_run;
    // Keeps the candidates of the kGroup documents from offset g (see above) and zeroes them.
    auto scan_group = [&](uint32_t g) {
      int64_t* const a = acc + g;
      if (AnyAtLeast16(a, at_least)) {
        for (uint32_t i = 0; i < kGroup; ++i) {
          if (a[i] < at_least) continue;
          const uint32_t d = base32 + g + i;
          if (has_tombstones && !doc_alive_[d]) continue;
          ++st.candidates;
          int64_t score = a[i];
          uint32_t len = 0;
          if (merged > 0 && !gains_current_) {
            if (run_end != nullptr) {
              len = RunLength(run_end, run_len, d, &candidate_run);
            } else {
              len = doc_lengths_[d];
            }
          }
          bool pruned = false;
          for (size_t j = merged; j-- > 0;) {
            if (score + prefix[j] < threshold) {
              pruned = true;
              break;
            }
            if (bound[order[j]] == 0) continue;
            TermCursor& c = cursors[order[j]];
            c.SeekTo(d);
            ++st.probes;
            if (c.pos < c.end && c.docs[c.pos] == d) {
              score += c.Score(c.pos, len, c1, c2);
              ++c.pos;
            }
          }
          if (pruned || score < threshold) continue;
          ++st.offered;
          if (top.Offer(score, doc_ids_[d]) && top.full() && top.threshold() > threshold) {
            threshold = top.threshold();
            at_least = std::max<int64_t>(1, threshold - rest);
            share->Raise(threshold);
          }
        }
      }
      for (uint32_t i = 0; i < kGroup; ++i) a[i] = 0;
    };
    for (uint32_t g = 0; g < limit - base; g += kGroup) scan_group(g);
  }
  absl::MutexLock lock(&share->mu);
  share->stats.terms = static_cast<int64_t>(n);  // the same for every call
  AddStats(st, &share->stats);
  share->top.Merge(std::move(top));
}

absl::Status Bm25Index::Save(absl::string_view path, int64_t change_seq) const {
  // Live documents only, numbered by length; terms without live documents are dropped.
  // A loaded index that has not changed has no forward lists yet: built here for this save only.
  std::vector<uint64_t> begin;
  std::vector<uint32_t> terms;
  if (!forward_current_) ComputeForwardLists(&begin, &terms);
  const Renumbering r =
      forward_current_ ? Renumber(forward_begin_, forward_terms_) : Renumber(begin, terms);
  const uint64_t n_docs = r.order.size();
  const uint64_t n_terms = r.term_begin.size() - 1;
  const uint64_t n_postings = r.docs.size();
  std::string payload;
  payload.reserve(32 + n_docs * 12 + n_postings * 8 + n_terms * 16);
  PutU64(&payload, static_cast<uint64_t>(change_seq));
  PutU64(&payload, n_docs);
  PutU64(&payload, n_terms);
  PutU64(&payload, n_postings);
  for (const uint32_t d : r.order) {
    PutU64(&payload, static_cast<uint64_t>(doc_ids_[d]));
    PutU32(&payload, doc_lengths_[d]);
  }
  for (size_t t = 0; t < terms_.size(); ++t) {
    const uint32_t nt = r.new_term[t];
    if (nt == UINT32_MAX) continue;
    PutU32(&payload, static_cast<uint32_t>(terms_[t].size()));
    payload.append(terms_[t]);
    PutU32(&payload, static_cast<uint32_t>(r.term_begin[nt + 1] - r.term_begin[nt]));
    for (uint64_t i = r.term_begin[nt]; i < r.term_begin[nt + 1]; ++i) {
      PutU32(&payload, r.docs[i]);
      PutU32(&payload, r.tfs[i]);
    }
  }
  std::string file(kMagic, sizeof(kMagic));
  PutU32(&file, kFormatVersion);
  PutU32(&file, 0);
  PutU64(&file, payload.size());
  PutU64(&file, Fingerprint64(payload));
  file.append(payload);
  return WriteFileAtomically(path, file);
}

absl::StatusOr<Bm25Index> Bm25Index::Load(absl::string_view path, int64_t* change_seq,
                                          const Bm25IndexOptions& options) {
  // Mapped, not read: a 200 MB file is then not copied into a buffer first (the index keeps
  // nothing of it: terms and postings are copied out).
  absl::StatusOr<std::unique_ptr<MappedFile>> mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  const absl::string_view file = (*mapped)->data();
  if (file.size() < kHeaderSize) {
    return DataLoss(path, absl::StrCat("truncated header (", file.size(), " bytes)"));
  }
  if (std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0) {
    return DataLoss(path, "bad magic: not a BM25 index file");
  }
  Reader header(file.substr(sizeof(kMagic), kHeaderSize - sizeof(kMagic)));
  uint32_t version = 0;
  uint32_t reserved = 0;
  uint64_t payload_size = 0;
  uint64_t fingerprint = 0;
  header.U32(&version);
  header.U32(&reserved);
  header.U64(&payload_size);
  header.U64(&fingerprint);
  // Format 1 differs only in its terms: runs of Han, kana, Hangul, Thai... were indexed whole, not
  // as bigrams. Such a file loads unless one of its terms holds such a character (checked below).
  if (version != kFormatVersion && version != 1) {
    return DataLoss(path, absl::StrCat("unsupported format version ", version, " (expected ",
                                       kFormatVersion, ")"));
  }
  if (reserved != 0) return DataLoss(path, "non-zero reserved header field");
  const absl::string_view payload = file.substr(kHeaderSize);
  if (payload.size() != payload_size) {
    return DataLoss(path, absl::StrCat("truncated or padded: header says the payload has ",
                                       payload_size, " bytes, the file holds ", payload.size()));
  }
  // The checksum of a large payload is computed on a second thread while the payload is parsed
  // (the parser checks everything it reads, so a corrupt payload cannot mislead it; a mismatch
  // still wins over any parse error): FNV-1a runs at ~4 cycles per byte, 0.25 s for a 200 MB file.
  uint64_t computed = 0;
  absl::StatusOr<Bm25Index> index = absl::UnknownError("not parsed");
  int64_t seq = 0;
  if (payload.size() >= options.parallel_checksum_bytes) {
    std::thread checksum([&computed, payload] { computed = Fingerprint64(payload); });
    index = ParsePayload(path, payload, version, options, &seq);
    checksum.join();
  } else {
    computed = Fingerprint64(payload);
    if (computed == fingerprint) index = ParsePayload(path, payload, version, options, &seq);
  }
  if (computed != fingerprint) return DataLoss(path, "checksum mismatch (corrupt payload)");
  if (index.ok() && change_seq != nullptr) *change_seq = seq;
  return index;
}

absl::StatusOr<Bm25Index> Bm25Index::ParsePayload(absl::string_view path, absl::string_view payload,
                                                  uint32_t version, const Bm25IndexOptions& options,
                                                  int64_t* change_seq) {
  Reader in(payload);
  uint64_t seq = 0;
  uint64_t n_docs = 0;
  uint64_t n_terms = 0;
  uint64_t n_postings = 0;
  if (!in.U64(&seq) || !in.U64(&n_docs) || !in.U64(&n_terms) || !in.U64(&n_postings)) {
    return DataLoss(path, "truncated counts");
  }
  if (seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return DataLoss(path, "negative change sequence");
  }
  if (change_seq != nullptr) *change_seq = static_cast<int64_t>(seq);
  // Each document takes 12 bytes, each term at least 9, each posting 8: reject impossible counts
  // before allocating anything.
  if (n_docs >= std::numeric_limits<uint32_t>::max() - 1 || n_docs > in.remaining() / 12 ||
      n_terms > in.remaining() / 9 || n_postings > in.remaining() / 8) {
    return DataLoss(path, absl::StrCat("counts exceed the file size (", n_docs, " documents, ",
                                       n_terms, " terms, ", n_postings, " postings)"));
  }
  Bm25Index index(options);
  const uint32_t per_block = index.options_.postings_per_block;
  index.doc_ids_.reserve(n_docs);
  index.doc_lengths_.reserve(n_docs);
  index.doc_of_id_.reserve(n_docs);
  for (uint64_t d = 0; d < n_docs; ++d) {
    uint64_t id = 0;
    uint32_t len = 0;
    if (!in.U64(&id) || !in.U32(&len)) return DataLoss(path, "truncated document table");
    if (!index.doc_of_id_.emplace(static_cast<ClaimRowId>(id), static_cast<uint32_t>(d)).second) {
      return DataLoss(path, absl::StrCat("duplicate document id ", static_cast<int64_t>(id)));
    }
    index.doc_ids_.push_back(static_cast<ClaimRowId>(id));
    index.doc_lengths_.push_back(len);
    index.live_tokens_ += len;
  }
  // Per document, the tokens its postings have not accounted for yet: each posting takes its tf,
  // and every count must end at 0. A posting's length comes from the length runs when the
  // documents are numbered by length (as Save writes them), so the only scattered access per
  // posting is to this array (4 bytes per document).
  std::vector<uint32_t> left = index.doc_lengths_;
  index.RebuildLengthRuns();
  const uint32_t* const run_end = index.run_end_.data();
  const uint32_t* const run_len = index.run_len_.data();
  const uint64_t sorted = index.sorted_docs_;
  uint64_t postings_seen = 0;
  index.terms_.reserve(n_terms);
  index.postings_.reserve(n_terms);
  index.term_ids_.reserve(n_terms);
  for (uint64_t t = 0; t < n_terms; ++t) {
    uint32_t term_size = 0;
    absl::string_view term;
    uint32_t df = 0;
    if (!in.U32(&term_size) || !in.Bytes(term_size, &term) || !in.U32(&df)) {
      return DataLoss(path, absl::StrCat("truncated term ", t));
    }
    if (term.empty()) return DataLoss(path, absl::StrCat("empty term ", t));
    if (version == 1 && HoldsBigramScript(term)) {
      return DataLoss(path,
                      "format version 1 indexed Chinese, Japanese, Korean or Thai text as whole "
                      "runs (format 2 indexes their bigrams)");
    }
    if (df == 0 || df > n_docs || df > in.remaining() / 8) {
      return DataLoss(path, absl::StrCat("bad document count ", df, " for term ", t));
    }
    if (!index.term_ids_.emplace(std::string(term), static_cast<uint32_t>(t)).second) {
      return DataLoss(path, absl::StrCat("duplicate term ", t));
    }
    PostingList list;
    list.docs.reserve(df);
    list.tfs.reserve(df);
    list.blocks.reserve((df + per_block - 1) / per_block);
    list.live_df = df;
    size_t run = 0;
    for (uint32_t i = 0; i < df; ++i) {
      uint32_t d = 0;
      uint32_t tf = 0;
      in.U32(&d);  // cannot fail: df <= remaining / 8 was checked
      in.U32(&tf);
      if (d >= n_docs || (i > 0 && d <= list.docs[i - 1]) || tf == 0) {
        return DataLoss(path, absl::StrCat("bad posting ", i, " of term ", t));
      }
      uint32_t& tokens_left = left[d];
      if (tf > tokens_left) {
        return DataLoss(path, absl::StrCat("document ", d, " has length ", index.doc_lengths_[d],
                                           " but its postings hold more tokens"));
      }
      tokens_left -= tf;
      // Postings ascend, so `run` only moves forward.
      const uint32_t len =
          d < sorted ? RunLength(run_end, run_len, d, &run) : index.doc_lengths_[d];
      list.Append(d, tf, len, per_block);
    }
    postings_seen += df;
    index.terms_.emplace_back(term);
    index.postings_.push_back(std::move(list));
  }
  if (postings_seen != n_postings) {
    return DataLoss(path, absl::StrCat("posting count mismatch: header says ", n_postings,
                                       ", terms hold ", postings_seen));
  }
  if (in.remaining() != 0) {
    return DataLoss(path, absl::StrCat(in.remaining(), " trailing bytes after the postings"));
  }
  for (uint64_t d = 0; d < n_docs; ++d) {
    if (left[d] != 0) {
      return DataLoss(path, absl::StrCat("document ", d, " has length ", index.doc_lengths_[d],
                                         " but its postings hold ", index.doc_lengths_[d] - left[d],
                                         " tokens"));
    }
  }
  // The forward lists wait for the first change (BuildForwardLists): a process that only searches
  // never needs them.
  index.forward_current_ = false;
  index.doc_alive_.assign(n_docs, 1);
  index.live_terms_ = index.terms_.size();
  if (index.sorted_docs_ != n_docs) {
    index.Compact();  // computes the gains
  } else {
    index.ComputeGains();
  }
  return index;
}

}  // namespace claimmatch
