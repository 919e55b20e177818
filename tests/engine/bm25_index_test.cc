#include "engine/bm25_index.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "embeddings/file_util.h"
#include "engine/text_analysis.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::MakeTempDir;
using ::claimmatch::testing::StatusIs;
using ::claimmatch::testing::TestDataDir;
using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A naive BM25 in doubles, written from FTS5's bm25() definition, over the same analysis.
class ReferenceBm25 {
 public:
  void Add(ClaimRowId id, const std::vector<std::string>& fields) {
    std::map<std::string, int> tf;
    int len = 0;
    for (const std::string& f : fields) {
      for (const std::string& t : AnalyzeToTerms(f)) {
        ++tf[t];
        ++len;
      }
    }
    docs_[id] = {std::move(tf), len};
  }
  void Remove(ClaimRowId id) { docs_.erase(id); }

  // Scores of every document holding a query term.
  std::map<ClaimRowId, double> Score(const std::string& query) const {
    std::map<ClaimRowId, double> scores;
    if (docs_.empty()) return scores;
    double total = 0;
    for (const auto& [id, doc] : docs_) total += doc.len;
    const double n = docs_.size();
    const double avgdl = total / n;
    for (const std::string& q : AnalyzeQueryToTerms(query)) {
      int df = 0;
      for (const auto& [id, doc] : docs_) df += doc.tf.count(q);
      if (df == 0) continue;
      double idf = std::log((n - df + 0.5) / (df + 0.5));
      if (idf <= 0) idf = 1e-6;
      for (const auto& [id, doc] : docs_) {
        const auto it = doc.tf.find(q);
        if (it == doc.tf.end()) continue;
        const double f = it->second;
        scores[id] += idf * (f * (1.2 + 1)) / (f + 1.2 * (1 - 0.75 + 0.75 * doc.len / avgdl));
      }
    }
    return scores;
  }

 private:
  struct Doc {
    std::map<std::string, int> tf;
    int len;
  };
  std::map<ClaimRowId, Doc> docs_;
};

// Search must equal SearchExhaustive exactly, and both must be the reference's top k: scores
// within 1e-4 relative, no unreturned document scoring above the last returned one.
// AnalyzeQuery's terms of `query` as SearchAnalyzed takes them: distinct, in order of first
// occurrence, with counts.
std::vector<Bm25QueryTerm> AnalyzedQuery(const std::string& query) {
  std::vector<Bm25QueryTerm> terms;
  AnalyzeQuery(query, [&](absl::string_view t) {
    for (Bm25QueryTerm& seen : terms) {
      if (seen.term == t) {
        ++seen.count;
        return;
      }
    }
    terms.push_back({std::string(t), 1});
  });
  return terms;
}

void ExpectExactTopK(const Bm25Index& index, const ReferenceBm25& ref, const std::string& query,
                     int k) {
  SCOPED_TRACE(absl::StrCat("query '", query, "' k=", k));
  const std::vector<Bm25Hit> hits = index.Search(query, k);
  ASSERT_EQ(hits, index.SearchExhaustive(query, k));
  ASSERT_EQ(hits, index.SearchAnalyzed(AnalyzedQuery(query), k));
  const std::map<ClaimRowId, double> expected = ref.Score(query);
  ASSERT_EQ(hits.size(), std::min<size_t>(k, expected.size()));
  std::set<ClaimRowId> returned;
  for (size_t i = 0; i < hits.size(); ++i) {
    const auto [id, score] = hits[i];
    ASSERT_TRUE(expected.count(id)) << "id " << id;
    EXPECT_NEAR(score, expected.at(id), 1e-4 * expected.at(id)) << "id " << id;
    // Ties are broken by id on the exact (fixed-point) score; distinct exact scores may round to
    // the same float, so only the float order is checked here.
    if (i > 0) {
      EXPECT_GE(hits[i - 1].second, score) << "order at " << i;
    }
    returned.insert(id);
  }
  if (hits.empty()) return;
  const double last = hits.back().second;
  for (const auto& [id, score] : expected) {
    if (!returned.count(id)) {
      EXPECT_LE(score, last * (1 + 1e-4)) << "missed id " << id;
    }
  }
}

// Zipf-distributed words "w0".."w{v-1}" (rank r has weight 1 / (r + 1)^1.1).
class ZipfWords {
 public:
  ZipfWords(int vocabulary, uint32_t seed) : rng_(seed) {
    std::vector<double> w(vocabulary);
    for (int r = 0; r < vocabulary; ++r) w[r] = 1.0 / std::pow(r + 1.0, 1.1);
    dist_ = std::discrete_distribution<int>(w.begin(), w.end());
  }
  std::string Text(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) absl::StrAppend(&s, i ? " " : "", "w", dist_(rng_));
    return s;
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::discrete_distribution<int> dist_;
};

std::vector<std::string> RandomFields(ZipfWords& words) {
  std::uniform_int_distribution<int> n_fields(1, 3), n_words(0, 25);
  std::vector<std::string> fields(n_fields(words.rng()));
  for (std::string& f : fields) f = words.Text(n_words(words.rng()));
  return fields;
}

TEST(Bm25IndexTest, ScoresEqualSqliteFts5Bm25) {
  // Expected values: SQLite 3.40.1, fts5(body, tokenize='porter unicode61'), -bm25(v).
  Bm25Index index;
  const std::vector<std::pair<ClaimRowId, std::string>> docs = {
      {10, "The cat sat on the mat"},    {20, "A dog chased the cats"},
      {30, "Cats, cats and more cats!"}, {40, "Birds sing"},
      {50, "Fish swim in the sea"},      {60, "The dog barked"}};
  for (const auto& [id, text] : docs) ASSERT_THAT(index.Add(id, {text}), IsOk());
  using Hits = std::vector<Bm25Hit>;
  auto near = [](const Hits& got, const std::vector<std::pair<ClaimRowId, double>>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, want[i].first) << "rank " << i;
      EXPECT_NEAR(got[i].second, want[i].second, 1e-5 * want[i].second) << "rank " << i;
    }
  };
  // "cat" is in half of the documents: FTS5's idf floor of 1e-6.
  near(index.Search("cat", 10),
       {{30, 1.521276595744681e-06}, {20, 9.407894736842107e-07}, {10, 8.640483383685802e-07}});
  near(index.Search("cat dog", 10), {{60, 0.6724279446480242},
                                     {20, 0.5529844479013358},
                                     {30, 1.521276595744681e-06},
                                     {10, 8.640483383685802e-07}});
  // A repeated query term counts twice.
  near(index.Search("cat cats", 10),
       {{30, 3.042553191489362e-06}, {20, 1.8815789473684213e-06}, {10, 1.7280966767371603e-06}});
  near(index.Search("dogs singing", 2), {{40, 1.6663449930997964}, {60, 0.6724279446480242}});
  EXPECT_THAT(index.Search("unicorn", 10), IsEmpty());
  EXPECT_THAT(index.Search("cat", 0), IsEmpty());
  EXPECT_EQ(index.size(), 6u);
  EXPECT_DOUBLE_EQ(index.average_length(), 26.0 / 6);
}

// The analysed-query entry point returns exactly what Search of the text returns (ids and
// scores), counts repeated terms, merges a term given twice and ignores unknown terms.
TEST(Bm25IndexTest, SearchAnalyzedEqualsSearchOfTheText) {
  Bm25Index index;
  ASSERT_THAT(index.Add(1, {"the cat sat on the mat", "cats"}), IsOk());
  ASSERT_THAT(index.Add(2, {"a dog chased the cat"}), IsOk());
  ASSERT_THAT(index.Add(3, {"dogs and cats and birds"}), IsOk());
  ASSERT_THAT(index.Add(4, {"nothing in common here"}), IsOk());
  const std::string query = "Cat cats dog https://t.co/x the zebra dog";
  const std::vector<Bm25QueryTerm> terms = AnalyzedQuery(query);
  ASSERT_EQ(terms.size(), 4u);  // cat (twice), dog (twice), the, zebra
  EXPECT_EQ(terms[0].term, "cat");
  EXPECT_EQ(terms[0].count, 2);
  const std::vector<Bm25Hit> hits = index.Search(query, 10);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(index.SearchAnalyzed(terms, 10), hits);
  EXPECT_EQ(index.SearchAnalyzed(terms, 2), index.Search(query, 2));
  // "cat" given as two entries of one count each: the same as one entry of two.
  std::vector<Bm25QueryTerm> split = terms;
  split[0].count = 1;
  split.push_back({"cat", 1});
  EXPECT_EQ(index.SearchAnalyzed(split, 10), hits);
  EXPECT_THAT(index.SearchAnalyzed({{"zebra", 3}}, 10), IsEmpty());
  EXPECT_THAT(index.SearchAnalyzed(terms, 0), IsEmpty());
  EXPECT_THAT(index.SearchAnalyzed({}, 10), IsEmpty());
}

TEST(Bm25IndexTest, TiesAreBrokenBySmallerId) {
  Bm25Index index;
  for (ClaimRowId id : {7, -3, 5, 100}) ASSERT_THAT(index.Add(id, {"same words here"}), IsOk());
  ASSERT_THAT(index.Add(1, {"other text entirely"}), IsOk());
  const std::vector<Bm25Hit> hits = index.Search("same words", 3);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].first, -3);
  EXPECT_EQ(hits[1].first, 5);
  EXPECT_EQ(hits[2].first, 7);
  EXPECT_EQ(hits[0].second, hits[2].second);
}

TEST(Bm25IndexTest, PrunedSearchIsExactOnRandomCorpora) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    ZipfWords words(/*vocabulary=*/1500, seed);
    Bm25Index index;
    ReferenceBm25 ref;
    std::uniform_int_distribution<ClaimRowId> ids(-1'000'000'000, 1'000'000'000);
    for (int i = 0; i < 1500; ++i) {
      const ClaimRowId id = ids(words.rng());
      const std::vector<std::string> fields = RandomFields(words);
      ASSERT_THAT(index.Add(id, fields), IsOk());
      ref.Add(id, fields);
    }
    std::uniform_int_distribution<int> query_len(1, 25);
    for (int q = 0; q < 60; ++q) {
      const std::string query = words.Text(query_len(words.rng())) + " unseenword";
      for (int k : {1, 5, 10, 100}) ExpectExactTopK(index, ref, query, k);
    }
  }
}

// Returns `index` saved and loaded again with `options` (documents renumbered by length).
Bm25Index Reloaded(const Bm25Index& index, const Bm25IndexOptions& options) {
  const std::string path = JoinPath(MakeTempDir("bm25_reload"), "index.bm25");
  EXPECT_THAT(index.Save(path), IsOk());
  absl::StatusOr<Bm25Index> loaded = Bm25Index::Load(path, nullptr, options);
  EXPECT_THAT(loaded, IsOk());
  return loaded.ok() ? *std::move(loaded) : Bm25Index(options);
}

// Random inserts, upserts and removals; every 200 steps Search must be exact, and with `reload`
// the index is also saved and loaded (renumbered by length) and mutated further.
void CheckUpsertsAndRemovals(const Bm25IndexOptions& options, bool reload) {
  ZipfWords words(/*vocabulary=*/800, /*seed=*/7);
  Bm25Index index(options);
  ReferenceBm25 ref;
  std::vector<ClaimRowId> live;
  std::uniform_int_distribution<int> op(0, 9);
  for (int step = 0; step < 4000; ++step) {
    const int o = op(words.rng());
    if (o < 6 || live.size() < 10) {  // insert a new id
      const ClaimRowId id = step * 3 + 1;
      const std::vector<std::string> fields = RandomFields(words);
      ASSERT_THAT(index.Add(id, fields), IsOk());
      ref.Add(id, fields);
      live.push_back(id);
    } else {
      std::uniform_int_distribution<size_t> pick(0, live.size() - 1);
      const size_t i = pick(words.rng());
      if (o < 8) {  // upsert
        const std::vector<std::string> fields = RandomFields(words);
        ASSERT_THAT(index.Add(live[i], fields), IsOk());
        ref.Add(live[i], fields);
      } else {  // remove
        EXPECT_TRUE(index.Remove(live[i]));
        EXPECT_FALSE(index.Remove(live[i]));
        ref.Remove(live[i]);
        live[i] = live.back();
        live.pop_back();
      }
    }
    if (step % 200 == 199) {
      ASSERT_EQ(index.size(), live.size());
      for (int q = 0; q < 10; ++q) {
        ASSERT_NO_FATAL_FAILURE(ExpectExactTopK(index, ref, words.Text(12), 10));
      }
      ASSERT_NO_FATAL_FAILURE(ExpectExactTopK(index, ref, words.Text(5), 100'000));
      if (reload && step % 1000 == 999) index = Reloaded(index, options);
    }
  }
}

// A loaded index scores with the gains it stores; one changed since, or too large to store them,
// computes them. All give the same bits: same ids, same scores (compared exactly), same order.
TEST(Bm25IndexTest, StoredAndComputedGainsGiveIdenticalResults) {
  ZipfWords words(/*vocabulary=*/900, /*seed=*/5);
  Bm25Index built;  // by Add: gains computed at search time
  for (int i = 0; i < 1200; ++i) ASSERT_THAT(built.Add(i * 7 + 3, RandomFields(words)), IsOk());
  Bm25Index loaded = Reloaded(built, Bm25IndexOptions());  // gains stored
  Bm25Index changed = Reloaded(built, Bm25IndexOptions());
  const std::vector<std::string> extra = RandomFields(words);
  ASSERT_THAT(changed.Add(999'999, extra), IsOk());  // stale again
  ASSERT_THAT(built.Add(999'999, extra), IsOk());
  Bm25Index reloaded = Reloaded(changed, Bm25IndexOptions());
  Bm25IndexOptions never_stored;
  never_stored.max_docs_with_gains = 0;
  Bm25Index computed = Reloaded(changed, never_stored);
  for (int q = 0; q < 40; ++q) {
    const std::string query = words.Text(3 + q % 20);
    SCOPED_TRACE(query);
    for (int k : {1, 10, 100}) {
      // Before the extra document: built minus it is `loaded`; compare loaded with its own file.
      const std::vector<Bm25Hit> after_add = changed.Search(query, k);
      ASSERT_FALSE(after_add.empty());
      EXPECT_EQ(after_add, reloaded.Search(query, k));
      EXPECT_EQ(after_add, computed.Search(query, k));
      EXPECT_EQ(after_add, built.Search(query, k));
      EXPECT_EQ(after_add, changed.SearchExhaustive(query, k));
      EXPECT_EQ(loaded.Search(query, k), loaded.SearchExhaustive(query, k));
    }
  }
}

// SearchAnalyzedBatch returns exactly each query's own SearchAnalyzed (ids, scores compared
// exactly, order): with stored gains eight queries at a time (batches that fill no whole group,
// repeated terms, terms the index lacks, a query without terms, a query repeated within a
// group; 9,000 documents: two whole windows of the batch's 4,096 and a part of one), and one by
// one for an index whose gains are stale or a batch of fewer than eight.
TEST(Bm25IndexTest, BatchSearchEqualsSearchingEachQuery) {
  ZipfWords words(/*vocabulary=*/1200, /*seed=*/11);
  Bm25Index built;
  for (int i = 0; i < 9000; ++i) ASSERT_THAT(built.Add(i * 5 - 4000, RandomFields(words)), IsOk());
  Bm25Index loaded = Reloaded(built, Bm25IndexOptions());  // gains stored: the batched path
  Bm25Index changed = Reloaded(built, Bm25IndexOptions());
  ASSERT_THAT(changed.Add(77, RandomFields(words)), IsOk());  // gains stale: one by one
  std::uniform_int_distribution<int> query_len(1, 30);
  std::vector<std::vector<Bm25QueryTerm>> queries;
  for (int q = 0; q < 37; ++q) {
    queries.push_back(AnalyzedQuery(words.Text(query_len(words.rng())) + " w0 w0 unseenword"));
  }
  queries[5] = AnalyzedQuery("unseenword");  // no term the index holds
  queries[6] = {};
  queries[9] = queries[8];
  for (const Bm25Index* index : {&loaded, &changed}) {
    for (const size_t n : {size_t{37}, size_t{8}, size_t{7}, size_t{1}}) {
      const absl::Span<const std::vector<Bm25QueryTerm>> batch(queries.data(), n);
      for (int k : {1, 10, 60, 100'000}) {
        SCOPED_TRACE(absl::StrCat(index == &loaded ? "loaded" : "changed", " n=", n, " k=", k));
        const std::vector<std::vector<Bm25Hit>> hits = index->SearchAnalyzedBatch(batch, k);
        ASSERT_EQ(hits.size(), n);
        for (size_t q = 0; q < n; ++q) {
          EXPECT_EQ(hits[q], index->SearchAnalyzed(queries[q], k)) << "query " << q;
        }
        if (n > 6) {
          EXPECT_THAT(hits[5], IsEmpty());
          EXPECT_THAT(hits[6], IsEmpty());
        }
        if (k == 60 && n > 8) {
          EXPECT_EQ(hits[0].size(), 60u);
        }
      }
      EXPECT_THAT(index->SearchAnalyzedBatch(batch, 0), Each(IsEmpty()));
    }
  }
}

TEST(Bm25IndexTest, ExactAfterUpsertsAndRemovals) {
  CheckUpsertsAndRemovals(Bm25IndexOptions(), /*reload=*/false);
}

TEST(Bm25IndexTest, ExactAfterUpsertsRemovalsAndReloadsWithTinyBlocks) {
  for (const Bm25IndexOptions& options :
       {Bm25IndexOptions{1, 1}, Bm25IndexOptions{2, 7}, Bm25IndexOptions{64, 4096}}) {
    SCOPED_TRACE(
        absl::StrCat("block ", options.postings_per_block, " window ", options.window_docs));
    CheckUpsertsAndRemovals(options, /*reload=*/true);
  }
}

// Block-max MaxScore returns exactly the exhaustive top k for any block and window size, on the
// index as built (insertion order) and as loaded (numbered by length), k up to past the
// collection.
TEST(Bm25IndexTest, BlockMaxSearchIsExactForAnyBlockAndWindowSize) {
  ZipfWords words(/*vocabulary=*/1200, /*seed=*/21);
  std::vector<std::pair<ClaimRowId, std::vector<std::string>>> docs;
  std::uniform_int_distribution<ClaimRowId> ids(-1'000'000, 1'000'000);
  ReferenceBm25 ref;
  for (int i = 0; i < 2000; ++i) {
    docs.emplace_back(ids(words.rng()), RandomFields(words));
    ref.Add(docs.back().first, docs.back().second);
  }
  std::vector<std::string> queries;
  std::uniform_int_distribution<int> query_len(1, 30);
  for (int q = 0; q < 10; ++q) queries.push_back(words.Text(query_len(words.rng())));
  for (const Bm25IndexOptions& options : {Bm25IndexOptions{1, 1}, Bm25IndexOptions{2, 3},
                                          Bm25IndexOptions{128, 100}, Bm25IndexOptions{64, 4096}}) {
    SCOPED_TRACE(
        absl::StrCat("block ", options.postings_per_block, " window ", options.window_docs));
    Bm25Index added(options);
    for (const auto& [id, fields] : docs) ASSERT_THAT(added.Add(id, fields), IsOk());
    const Bm25Index loaded = Reloaded(added, options);
    for (const std::string& query : queries) {
      for (int k : {1, 100, 5000}) {
        ASSERT_NO_FATAL_FAILURE(ExpectExactTopK(added, ref, query, k));
        ASSERT_NO_FATAL_FAILURE(ExpectExactTopK(loaded, ref, query, k));
        EXPECT_EQ(loaded.Search(query, k), added.Search(query, k));
      }
    }
  }
}

// Many documents with equal scores: ties must be broken by id exactly as the exhaustive search
// does, whatever the document numbering.
TEST(Bm25IndexTest, ManyTiesAreBrokenExactly) {
  ZipfWords words(/*vocabulary=*/6, /*seed=*/5);
  std::uniform_int_distribution<int> n_words(1, 4);
  std::uniform_int_distribution<ClaimRowId> ids(-100'000, 100'000);
  Bm25Index index(Bm25IndexOptions{4, 16});
  ReferenceBm25 ref;
  for (int i = 0; i < 3000; ++i) {
    const ClaimRowId id = ids(words.rng());
    const std::vector<std::string> fields = {words.Text(n_words(words.rng()))};
    ASSERT_THAT(index.Add(id, fields), IsOk());
    ref.Add(id, fields);
  }
  const Bm25Index loaded = Reloaded(index, Bm25IndexOptions{4, 16});
  for (const char* query : {"w0", "w1 w2", "w5 w4 w3", "w0 w0 w1", "w2 w3 w4 w5 w0"}) {
    for (int k : {1, 7, 50, 1000, 4000}) {
      ASSERT_NO_FATAL_FAILURE(ExpectExactTopK(index, ref, query, k));
      ASSERT_NO_FATAL_FAILURE(ExpectExactTopK(loaded, ref, query, k));
      EXPECT_EQ(loaded.Search(query, k), index.Search(query, k)) << query << " k=" << k;
    }
  }
}

// Search reports what it did; a loaded index (numbered by length) prunes: it scores fewer
// postings than the query terms hold.
TEST(Bm25IndexTest, SearchStatsCountTheWork) {
  ZipfWords words(/*vocabulary=*/2000, /*seed=*/3);
  Bm25Index added;
  for (ClaimRowId id = 0; id < 20'000; ++id)
    ASSERT_THAT(added.Add(id, RandomFields(words)), IsOk());
  const Bm25Index index = Reloaded(added, Bm25IndexOptions());
  const std::string query = words.Text(20);
  Bm25SearchStats stats;
  ASSERT_EQ(index.Search(query, 10, &stats).size(), 10u);
  EXPECT_GT(stats.terms, 0);
  const uint32_t window = Bm25IndexOptions().window_docs;
  EXPECT_EQ(stats.windows, (20'000 + window - 1) / window);
  EXPECT_GT(stats.postings_scored, 0);
  EXPECT_GE(stats.candidates, stats.offered);
  EXPECT_GE(stats.offered, 10);
  int64_t held = 0;
  for (const std::string& term : AnalyzeQueryToTerms(query)) {
    held += static_cast<int64_t>(index.SearchExhaustive(term, 1'000'000).size());
  }
  EXPECT_LT(stats.postings_scored + stats.postings_merged, held);
}

// A SharedSearch worked by several threads at once (windows taken in turn, the k-th score
// shared) returns exactly the exhaustive top k, and its windows are searched once in all.
TEST(Bm25IndexTest, SharedSearchOnSeveralThreadsIsExact) {
  ZipfWords words(/*vocabulary=*/2000, /*seed=*/11);
  Bm25Index added;
  for (ClaimRowId id = 0; id < 20'000; ++id)
    ASSERT_THAT(added.Add(id * 5 - 30'000, RandomFields(words)), IsOk());
  for (const Bm25IndexOptions& options : {Bm25IndexOptions{8, 16}, Bm25IndexOptions{64, 1024}}) {
    SCOPED_TRACE(absl::StrCat("window ", options.window_docs));
    const Bm25Index index = Reloaded(added, options);
    const int64_t windows = (20'000 + options.window_docs - 1) / options.window_docs;
    for (int q = 0; q < 30; ++q) {
      const std::string query = words.Text(2 + q % 25);
      const std::vector<Bm25QueryTerm> terms = AnalyzedQuery(query);
      for (int threads : {1, 2, 4}) {
        for (int k : {1, 10, 100}) {
          SCOPED_TRACE(absl::StrCat("query '", query, "' k=", k, " threads ", threads));
          std::unique_ptr<Bm25Index::SharedSearch> search = index.StartSearch(terms, k);
          std::vector<std::thread> pool;
          for (int t = 0; t < threads; ++t) pool.emplace_back([&search] { search->Work(); });
          for (std::thread& t : pool) t.join();
          Bm25SearchStats stats;
          ASSERT_EQ(search->Result(&stats), index.SearchExhaustive(query, k));
          EXPECT_EQ(stats.windows, windows);
          EXPECT_EQ(stats.terms, static_cast<int64_t>(terms.size()));
        }
      }
    }
  }
}

// Result() searches what no Work() call took: alone, it is SearchAnalyzed; after Work() it adds
// nothing; k <= 0 or a query of unknown terms gives nothing.
TEST(Bm25IndexTest, SharedSearchResultWithoutWorkers) {
  ZipfWords words(/*vocabulary=*/500, /*seed=*/4);
  Bm25Index added;
  for (ClaimRowId id = 0; id < 3000; ++id) ASSERT_THAT(added.Add(id, RandomFields(words)), IsOk());
  const Bm25Index index = Reloaded(added, Bm25IndexOptions{64, 256});
  const std::vector<Bm25QueryTerm> terms = AnalyzedQuery(words.Text(12));
  const std::vector<Bm25Hit> expected = index.SearchAnalyzed(terms, 20);
  ASSERT_EQ(expected.size(), 20u);
  EXPECT_EQ(index.StartSearch(terms, 20)->Result(), expected);
  std::unique_ptr<Bm25Index::SharedSearch> worked = index.StartSearch(terms, 20);
  worked->Work();
  worked->Work();  // nothing left to take
  Bm25SearchStats stats;
  EXPECT_EQ(worked->Result(&stats), expected);
  EXPECT_EQ(stats.windows, (3000 + 255) / 256);
  EXPECT_THAT(index.StartSearch(terms, 0)->Result(), IsEmpty());
  EXPECT_THAT(index.StartSearch({{"nosuchterm", 1}}, 5)->Result(), IsEmpty());
}

// Idfs gives Idf's value for every term, known or not, in order (compared exactly).
TEST(Bm25IndexTest, IdfsEqualIdfOfEachTerm) {
  Bm25Index index;
  ASSERT_THAT(index.Add(1, {"vaccines cause autism", "autism"}), IsOk());
  ASSERT_THAT(index.Add(2, {"vaccines are safe"}), IsOk());
  ASSERT_THAT(index.Add(3, {"the moon landing was filmed"}), IsOk());
  const std::vector<absl::string_view> terms = {"vaccin", "autism", "nosuchterm",
                                                "vaccin", "moon",   ""};
  const std::vector<double> idfs = index.Idfs(terms);
  ASSERT_EQ(idfs.size(), terms.size());
  for (size_t i = 0; i < terms.size(); ++i) EXPECT_EQ(idfs[i], index.Idf(terms[i])) << terms[i];
  EXPECT_EQ(idfs[0], Bm25Index::kMinIdf);  // in 2 of 3 documents: log(1.5 / 2.5) < 0
  EXPECT_NEAR(idfs[1], std::log(2.5 / 1.5), 1e-12);
  EXPECT_NEAR(idfs[2], std::log(3.5 / 0.5), 1e-12);
  EXPECT_THAT(index.Idfs({}), IsEmpty());
}

// A loaded index builds its forward lists only at its first change; saving it unchanged computes
// them for the save: the same bytes as the file it came from. Removing from it afterwards is exact.
TEST(Bm25IndexTest, LoadedIndexSavesAndChangesWithoutItsForwardLists) {
  ZipfWords words(/*vocabulary=*/700, /*seed=*/9);
  Bm25Index added;
  ReferenceBm25 ref;
  for (ClaimRowId id = 0; id < 1500; ++id) {
    const std::vector<std::string> fields = RandomFields(words);
    ASSERT_THAT(added.Add(id * 3 + 1, fields), IsOk());
    ref.Add(id * 3 + 1, fields);
  }
  const std::string dir = MakeTempDir("bm25_forward");
  const std::string first = JoinPath(dir, "first.bm25");
  const std::string second = JoinPath(dir, "second.bm25");
  ASSERT_THAT(added.Save(first, 42), IsOk());
  absl::StatusOr<Bm25Index> loaded = Bm25Index::Load(first);
  ASSERT_THAT(loaded, IsOk());
  ASSERT_THAT(loaded->Save(second, 42), IsOk());
  absl::StatusOr<std::string> a = ReadFile(first);
  absl::StatusOr<std::string> b = ReadFile(second);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_TRUE(*a == *b) << "the re-saved file differs";
  for (ClaimRowId id = 1; id < 1500 * 3; id += 9) {
    ASSERT_TRUE(loaded->Remove(id)) << id;
    ref.Remove(id);
  }
  EXPECT_EQ(loaded->size(), 1500u - 500u);
  for (int q = 0; q < 20; ++q) {
    ASSERT_NO_FATAL_FAILURE(ExpectExactTopK(*loaded, ref, words.Text(10), 20));
  }
}

TEST(Bm25IndexTest, UpsertReplacesAndRemoveForgets) {
  Bm25Index index;
  ASSERT_THAT(index.Add(1, {"apples and oranges", "fruit"}), IsOk());
  ASSERT_THAT(index.Add(2, {"bananas"}), IsOk());
  ASSERT_THAT(index.Add(3, {"cherries"}), IsOk());
  ASSERT_EQ(index.Search("apples", 5).size(), 1u);
  ASSERT_THAT(index.Add(1, {"pears only"}), IsOk());  // upsert
  EXPECT_EQ(index.size(), 3u);
  EXPECT_THAT(index.Search("apples fruit", 5), IsEmpty());
  ASSERT_EQ(index.Search("pears", 5).size(), 1u);
  EXPECT_EQ(index.Search("pears", 5)[0].first, 1);
  EXPECT_TRUE(index.Remove(1));
  EXPECT_FALSE(index.Contains(1));
  EXPECT_THAT(index.Search("pears", 5), IsEmpty());
  EXPECT_EQ(index.num_terms(), 2u);  // banana, cherri

  // Statistics follow removals: the same scores as an index that never held the document.
  Bm25Index fresh;
  ASSERT_THAT(fresh.Add(2, {"bananas"}), IsOk());
  ASSERT_THAT(fresh.Add(3, {"cherries"}), IsOk());
  EXPECT_EQ(index.Search("bananas cherries", 5), fresh.Search("bananas cherries", 5));
  EXPECT_DOUBLE_EQ(index.average_length(), 1.0);
}

TEST(Bm25IndexTest, EmptyDocumentsAndQueries) {
  Bm25Index index;
  EXPECT_THAT(index.Search("anything", 5), IsEmpty());
  ASSERT_THAT(index.Add(4, {"", "  ...  "}), IsOk());
  EXPECT_TRUE(index.Contains(4));
  EXPECT_THAT(index.Search("anything", 5), IsEmpty());
  ASSERT_THAT(index.Add(5, {"anything goes"}), IsOk());
  EXPECT_THAT(index.Search("https://t.co/x a", 5), IsEmpty());
  EXPECT_EQ(index.Search("anything", 5).size(), 1u);
}

// ---- Persistence ----

Bm25Index SmallIndex() {
  Bm25Index index;
  ZipfWords words(/*vocabulary=*/300, /*seed=*/11);
  for (ClaimRowId id = 0; id < 200; ++id) EXPECT_THAT(index.Add(id, RandomFields(words)), IsOk());
  for (ClaimRowId id = 0; id < 200; id += 7) EXPECT_TRUE(index.Remove(id));  // tombstones
  return index;
}

TEST(Bm25IndexTest, SaveLoadRoundTrip) {
  const Bm25Index index = SmallIndex();
  const std::string path = JoinPath(MakeTempDir("bm25_roundtrip"), "index.bm25");
  ASSERT_THAT(index.Save(path, /*change_seq=*/1234567890123), IsOk());
  int64_t seq = 0;
  absl::StatusOr<Bm25Index> loaded = Bm25Index::Load(path, &seq);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(seq, 1234567890123);
  EXPECT_EQ(loaded->size(), index.size());
  EXPECT_EQ(loaded->num_terms(), index.num_terms());
  EXPECT_DOUBLE_EQ(loaded->average_length(), index.average_length());
  EXPECT_FALSE(loaded->Contains(7));
  ZipfWords words(/*vocabulary=*/300, /*seed=*/12);
  for (int q = 0; q < 50; ++q) {
    const std::string query = words.Text(10);
    EXPECT_EQ(loaded->Search(query, 10), index.Search(query, 10)) << query;
  }
  // The loaded index stays mutable.
  ASSERT_THAT(loaded->Add(1000, {"w0 w1 w2"}), IsOk());
  EXPECT_TRUE(loaded->Remove(1));
  ASSERT_THAT(loaded->Save(path), IsOk());
  EXPECT_THAT(Bm25Index::Load(path), IsOk());
}

// A file written in insertion order (as before documents were numbered by length) still loads,
// is renumbered, and searches the same.
TEST(Bm25IndexTest, LoadsAFileInInsertionOrder) {
  std::string payload;
  auto put = [&](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) payload.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  put(77, 8);  // change sequence
  put(2, 8);   // documents
  put(2, 8);   // terms
  put(3, 8);   // postings
  put(10, 8);  // document 0: id 10, 2 tokens
  put(2, 4);
  put(20, 8);  // document 1: id 20, 1 token
  put(1, 4);
  put(5, 4);
  payload += "alpha";
  put(2, 4);  // df 2: (0, 1), (1, 1)
  for (uint64_t v : {0, 1, 1, 1}) put(v, 4);
  put(4, 4);
  payload += "beta";
  put(1, 4);  // df 1: (0, 1)
  for (uint64_t v : {0, 1}) put(v, 4);
  std::string file = "CMBM25IX";
  for (uint64_t v : {uint64_t{1}, uint64_t{0}}) {
    for (int i = 0; i < 4; ++i) file.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  for (uint64_t v : {static_cast<uint64_t>(payload.size()), Fingerprint64(payload)}) {
    for (int i = 0; i < 8; ++i) file.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  file += payload;
  const std::string path = JoinPath(MakeTempDir("bm25_old_order"), "index.bm25");
  ASSERT_THAT(WriteFileAtomically(path, file), IsOk());
  int64_t seq = 0;
  absl::StatusOr<Bm25Index> loaded = Bm25Index::Load(path, &seq);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(seq, 77);
  Bm25Index expected;
  ASSERT_THAT(expected.Add(10, {"alpha beta"}), IsOk());
  ASSERT_THAT(expected.Add(20, {"alpha"}), IsOk());
  for (const char* query : {"alpha", "beta", "alpha beta"}) {
    EXPECT_EQ(loaded->Search(query, 5), expected.SearchExhaustive(query, 5)) << query;
  }
  ASSERT_EQ(loaded->Search("alpha", 5).size(), 2u);
  EXPECT_EQ(loaded->Search("alpha", 5)[0].first, 20);  // the shorter document
  // Saved again, documents come by length: the file changes, the results do not.
  ASSERT_THAT(loaded->Save(path, 77), IsOk());
  absl::StatusOr<std::string> resaved = ReadFile(path);
  ASSERT_THAT(resaved, IsOk());
  EXPECT_NE(*resaved, file);
  absl::StatusOr<Bm25Index> again = Bm25Index::Load(path);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->Search("alpha beta", 5), expected.SearchExhaustive("alpha beta", 5));
}

TEST(Bm25IndexTest, LoadMissingFileIsNotFound) {
  EXPECT_THAT(Bm25Index::Load(JoinPath(MakeTempDir("bm25_missing"), "none.bm25")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none.bm25")));
}

class Bm25CorruptFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = JoinPath(MakeTempDir("bm25_corrupt"), "index.bm25");
    ASSERT_THAT(SmallIndex().Save(path_), IsOk());
    absl::StatusOr<std::string> bytes = ReadFile(path_);
    ASSERT_THAT(bytes, IsOk());
    bytes_ = *bytes;
  }
  // Writes `bytes` and expects Load to fail with kDataLoss naming the path and `what`, with the
  // checksum computed before the parse and (as for large files) beside it.
  void ExpectDataLoss(const std::string& bytes, const std::string& what) {
    ASSERT_THAT(WriteFileAtomically(path_, bytes), IsOk());
    for (uint64_t parallel_checksum_bytes : {uint64_t{1} << 40, uint64_t{0}}) {
      Bm25IndexOptions options;
      options.parallel_checksum_bytes = parallel_checksum_bytes;
      EXPECT_THAT(Bm25Index::Load(path_, nullptr, options),
                  StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(path_), HasSubstr(what))))
          << "parallel checksum from " << parallel_checksum_bytes << " bytes";
    }
  }
  // Replaces the payload (after the 32-byte header) and fixes the size and checksum fields, so
  // only the structural checks can catch the damage.
  std::string WithPayload(const std::string& payload) {
    std::string out = bytes_.substr(0, 16);
    for (uint64_t v : {static_cast<uint64_t>(payload.size()), Fingerprint64(payload)}) {
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
    return out + payload;
  }
  std::string path_;
  std::string bytes_;
};

TEST_F(Bm25CorruptFileTest, Truncated) {
  ExpectDataLoss(bytes_.substr(0, 20), "truncated header");
  ExpectDataLoss(bytes_.substr(0, bytes_.size() - 1), "truncated");
  ExpectDataLoss(bytes_ + "x", "padded");
}

TEST_F(Bm25CorruptFileTest, FlippedPayloadByteFailsChecksum) {
  for (size_t at : {size_t{32}, size_t{100}, bytes_.size() - 1}) {
    std::string bad = bytes_;
    bad[at] ^= 0x01;
    ExpectDataLoss(bad, "checksum");
  }
  // A flip that also breaks the structure (the document count: "counts exceed" once the checksum
  // is fixed) is still reported as a checksum mismatch, also when the parse runs beside it.
  std::string bad = bytes_;
  bad[32 + 8 + 7] = 0x7F;
  ExpectDataLoss(bad, "checksum mismatch");
}

TEST_F(Bm25CorruptFileTest, ParallelChecksumLoadsTheSameIndex) {
  Bm25IndexOptions options;
  options.parallel_checksum_bytes = 0;
  int64_t seq = -1;
  absl::StatusOr<Bm25Index> loaded = Bm25Index::Load(path_, &seq, options);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(seq, 0);
  const Bm25Index expected = SmallIndex();
  EXPECT_EQ(loaded->size(), expected.size());
  for (const char* query : {"w0", "w1 w7 w30", "w2 w150 w299"}) {
    const std::vector<Bm25Hit> hits = loaded->Search(query, 10);
    EXPECT_EQ(hits.size(), 10u) << query;
    EXPECT_EQ(hits, expected.SearchExhaustive(query, 10)) << query;
  }
}

TEST_F(Bm25CorruptFileTest, BadMagicAndWrongVersion) {
  std::string bad = bytes_;
  bad[0] = 'X';
  ExpectDataLoss(bad, "magic");
  bad = bytes_;
  bad[8] = 3;  // version 3
  ExpectDataLoss(bad, "unsupported format version 3");
}

// Format 1 files (Han, kana, Hangul and Thai runs indexed whole) still load when no term holds such
// a character; one that does must be rebuilt, or its Chinese claims would never match.
TEST(Bm25IndexTest, FormatOneLoadsUnlessItHoldsBigramScriptTerms) {
  const std::string dir = MakeTempDir("bm25_v1");
  for (const bool chinese : {false, true}) {
    Bm25Index index;
    ASSERT_THAT(index.Add(1, {"oil prices"}), IsOk());
    ASSERT_THAT(index.Add(2, {chinese ? "\u7F8E\u570B\u77F3\u6CB9" : "gas prices"}), IsOk());
    const std::string path = JoinPath(dir, chinese ? "zh.bm25" : "en.bm25");
    ASSERT_THAT(index.Save(path), IsOk());
    absl::StatusOr<std::string> bytes = ReadFile(path);
    ASSERT_THAT(bytes, IsOk());
    ASSERT_EQ((*bytes)[8], 2);
    (*bytes)[8] = 1;  // the version field, outside the checksummed payload
    ASSERT_THAT(WriteFileAtomically(path, *bytes), IsOk());
    absl::StatusOr<Bm25Index> loaded = Bm25Index::Load(path);
    if (chinese) {
      EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kDataLoss,
                                   AllOf(HasSubstr(path), HasSubstr("format version 1"))));
    } else {
      ASSERT_THAT(loaded, IsOk());
      EXPECT_EQ(loaded->Search("oil", 5).size(), 1u);
    }
  }
}

// A Chinese paraphrase shares bigrams with the claim it repeats.
TEST(Bm25IndexTest, ChineseParaphraseFindsItsClaim) {
  Bm25Index index;
  // Taiwan FactCheck Center claim (tests/data/claimreview/tfc-taiwan_zh.jsonld): "the US asks
  // countries to sanction Russia, but secretly buys Russian oil and resells it at a profit".
  ASSERT_THAT(
      index.Add(7, {"\u7F8E\u570B\u8981\u6C42\u5404\u570B\u5236\u88C1\u4FC4\u7F85\u65AF\uFF0C"
                    "\u79C1\u4E0B\u537B\u5927\u8CB7\u4FC4\u7F85\u65AF\u77F3\u6CB9"}),
      IsOk());
  ASSERT_THAT(index.Add(8, {"\u75AB\u82D7\u6703\u6539\u8B8A\u4EBA\u7684DNA"}), IsOk());
  ASSERT_THAT(index.Add(9, {"Russia sanctions and oil"}), IsOk());
  // "美國私下大買俄羅斯石油" (the US secretly buys lots of Russian oil).
  const std::vector<Bm25Hit> hits =
      index.Search("\u7F8E\u570B\u79C1\u4E0B\u5927\u8CB7\u4FC4\u7F85\u65AF\u77F3\u6CB9", 5);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].first, 7);
}

TEST_F(Bm25CorruptFileTest, StructurallyInvalidPayloadWithValidChecksum) {
  const std::string payload = bytes_.substr(32);
  // Absurd document count.
  std::string bad = payload;
  bad[8 + 7] = 0x7F;  // after the 8-byte change sequence
  ExpectDataLoss(WithPayload(bad), "counts exceed");
  // Posting count that disagrees with the terms.
  bad = payload;
  bad[8 + 16] ^= 0x01;
  ExpectDataLoss(WithPayload(bad), "posting count mismatch");
  // A document length that disagrees with its postings: shorter (caught at the posting that
  // exceeds it) and longer (caught once all postings are read). The last document is the longest
  // (documents are numbered by length), so it has postings.
  uint64_t n_docs = 0;
  std::memcpy(&n_docs, payload.data() + 8, 8);  // little-endian host
  ASSERT_GT(n_docs, 1u);
  const size_t length_at = 32 + 12 * (n_docs - 1) + 8;  // u32 after the last document's u64 id
  const std::string last = absl::StrCat("document ", n_docs - 1, " has length ");
  bad = payload;
  bad.replace(length_at, 4, std::string(4, '\0'));
  ExpectDataLoss(WithPayload(bad), last + "0 but its postings hold more tokens");
  bad = payload;
  bad[length_at + 3] = 0x01;  // high byte: + 2^24
  ExpectDataLoss(WithPayload(bad), last + "167772");
  ExpectDataLoss(WithPayload(bad), "but its postings hold");
  // Trailing garbage (checksummed).
  ExpectDataLoss(WithPayload(payload + "junk"), "trailing bytes");
  // Cut inside the postings.
  ExpectDataLoss(WithPayload(payload.substr(0, payload.size() - 6)), "bad document count");
  // Empty payload.
  ExpectDataLoss(WithPayload(""), "truncated counts");
}

// ---- Quality: CheckThat! tweets-dev -> Snopes claims, MAP@5 ----

TEST(Bm25IndexQualityTest, TweetsDevMapAt5) {
  const std::string dir = TestDataDir() + "/claims-dev";
  std::ifstream claims(dir + "/snopes-claims.jsonl");
  ASSERT_TRUE(claims.good());
  Bm25Index index;
  std::vector<std::string> claim_ids;
  std::string line;
  while (std::getline(claims, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    std::vector<std::string> fields;
    for (const char* f : {"claim", "title", "subtitle"}) {
      fields.push_back(j.contains(f) ? j[f].get<std::string>() : "");
    }
    ASSERT_THAT(index.Add(static_cast<ClaimRowId>(claim_ids.size()), fields), IsOk());
    claim_ids.push_back(j["id"].get<std::string>());
  }
  ASSERT_EQ(index.size(), 14231u);
  absl::flat_hash_map<std::string, std::string> tweets;
  std::ifstream tsv(dir + "/tweets-dev.tsv");
  while (std::getline(tsv, line)) {
    const std::vector<std::string> cols = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    if (cols.size() == 2) tweets[cols[0]] = cols[1];
  }
  std::map<std::string, std::set<std::string>> gold;
  std::ifstream qrels(dir + "/tweets-dev.qrels");
  while (std::getline(qrels, line)) {
    const std::vector<std::string> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
    if (parts.size() >= 3) gold[parts[0]].insert(parts[2]);
  }
  ASSERT_EQ(gold.size(), 199u);
  double sum_ap = 0;
  for (const auto& [qid, relevant] : gold) {
    const std::vector<Bm25Hit> hits = index.Search(tweets[qid], 5);
    int found = 0;
    double ap = 0;
    for (size_t i = 0; i < hits.size(); ++i) {
      if (relevant.count(claim_ids[hits[i].first])) ap += static_cast<double>(++found) / (i + 1);
    }
    sum_ap += ap / relevant.size();  // CheckThat AP@k: divide by the number of gold claims
  }
  const double map5 = sum_ap / gold.size();
  std::cout << "MAP@5 tweets-dev = " << map5 << "\n";
  RecordProperty("map_at_5", std::to_string(map5));
  EXPECT_GE(map5, 0.916);
}

}  // namespace
}  // namespace claimmatch
