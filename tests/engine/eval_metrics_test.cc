#include "engine/eval_metrics.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::StatusIs;
using ::claimmatch::testing::TestDataDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::vector<ScoredDoc> Docs(const std::vector<std::string>& ids) {
  std::vector<ScoredDoc> docs;
  for (size_t i = 0; i < ids.size(); ++i) docs.push_back({ids[i], 1.0 / (i + 1)});
  return docs;
}

// q1..q7 with hand-computed metrics: several gold docs, a query without hits (q5), one missing
// from the run (q4), a hit only past rank 100 (q7), a query whose only judgement is rel 0 (q6) and
// a run query absent from the qrels (qX); the last two do not count.
TEST(EvalMetricsTest, ToyRunHandComputed) {
  absl::StatusOr<Qrels> qrels = ParseQrels(
      "q1 0 d1 1\nq1 0 d2 2\nq1 0 d9 0\nq2 0 d3 1\nq3 0 d4 1\nq3 0 d5 1\nq3 0 d6 1\n"
      "q4 0 d7 1\nq5 0 d8 1\nq6 0 d1 0\nq7 0 d10 1\n",
      "toy.qrels");
  ASSERT_THAT(qrels, IsOk());
  std::vector<std::string> q7_docs;
  for (int i = 0; i < 100; ++i) q7_docs.push_back(absl::StrCat("f", i));
  q7_docs.push_back("d10");
  const std::string run_text = FormatRunLines("q1", Docs({"d1", "x", "d2", "y", "z"}), "toy") +
                               FormatRunLines("q2", Docs({"x", "y", "z", "w", "v", "d3"}), "toy") +
                               FormatRunLines("q3", Docs({"x", "d5", "d4", "y", "d6"}), "toy") +
                               FormatRunLines("q5", Docs({"x", "y"}), "toy") +
                               FormatRunLines("q7", Docs(q7_docs), "toy") +
                               FormatRunLines("qX", Docs({"d1"}), "toy");
  absl::StatusOr<TrecRun> run = ParseRun(run_text, "toy.run");
  ASSERT_THAT(run, IsOk());

  const Metrics m = ComputeMetrics(*run, *qrels);
  EXPECT_EQ(m.queries, 6);
  // AP@1: q1 1/2.
  EXPECT_DOUBLE_EQ(m.map1, 0.5 / 6);
  // AP@3: q1 (1 + 2/3)/2 = 5/6; q3 hits at 2, 3: (1/2 + 2/3)/3 = 7/18.
  EXPECT_DOUBLE_EQ(m.map3, (5.0 / 6 + 7.0 / 18) / 6);
  // AP@5: q1 5/6; q3 hits at 2, 3, 5: (1/2 + 2/3 + 3/5)/3 = 53/90.
  EXPECT_DOUBLE_EQ(m.map5, (5.0 / 6 + 53.0 / 90) / 6);
  // RR: q1 1, q2 1/6, q3 1/2, q7 1/101 (MRR looks at the whole ranking).
  EXPECT_DOUBLE_EQ(m.mrr, (1 + 1.0 / 6 + 1.0 / 2 + 1.0 / 101) / 6);
  EXPECT_DOUBLE_EQ(m.r5, 2.0 / 6);    // q1, q3
  EXPECT_DOUBLE_EQ(m.r100, 3.0 / 6);  // q1, q2, q3
  EXPECT_EQ(FormatMetrics(m),
            "MAP@1=0.0833 MAP@3=0.2037 MAP@5=0.2370 MRR=0.2794 R@5=0.3333 R@100=0.5000");
}

TEST(EvalMetricsTest, EmptyQrelsGiveZeros) {
  const Metrics m = ComputeMetrics(TrecRun{{"q1", {"d1"}}}, Qrels{});
  EXPECT_EQ(m.queries, 0);
  EXPECT_EQ(FormatMetrics(m),
            "MAP@1=0.0000 MAP@3=0.0000 MAP@5=0.0000 MRR=0.0000 R@5=0.0000 R@100=0.0000");
}

TEST(EvalMetricsTest, RepeatedDocCountsOnceForRecall) {
  // As the baseline: AP counts each listing of a gold doc, recall a set of docs.
  const Metrics m = ComputeMetrics(TrecRun{{"q", {"g", "g"}}}, Qrels{{"q", {"g", "h"}}});
  EXPECT_DOUBLE_EQ(m.map3, (1.0 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(m.r5, 0.5);
}

TEST(EvalMetricsTest, FormatRunLines) {
  EXPECT_EQ(FormatRunLines("q1", {{"d7", 0.91234567}, {"d2", -1.5}}, "bm25"),
            "q1 Q0 d7 1 0.912346 bm25\nq1 Q0 d2 2 -1.500000 bm25\n");
  EXPECT_EQ(FormatRunLines("q1", {}, "bm25"), "");
}

TEST(EvalMetricsTest, ParseRunOrdersByRank) {
  absl::StatusOr<TrecRun> run =
      ParseRun("q1 Q0 b 2 0.5 t\r\nq2\tQ0\tz\t1\t9\tt\n\nq1 Q0 a 1 0.9 t\nq1 Q0 c 2 0.4 t\n", "r");
  ASSERT_THAT(run, IsOk());
  EXPECT_THAT(*run, UnorderedElementsAre(Pair("q1", ElementsAre("a", "b", "c")),
                                         Pair("q2", ElementsAre("z"))));
}

TEST(EvalMetricsTest, ParseRunRejectsMalformedLines) {
  EXPECT_THAT(ParseRun("q1 Q0 a 1 0.9 t\nq1 Q0 b 2 0.5\n", "my.run"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("my.run:2: expected 6")));
  EXPECT_THAT(ParseRun("q1 Q0 a one 0.9 t\n", "my.run"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("my.run:1: rank \"one\"")));
  EXPECT_THAT(ParseRun("q1 Q0 a 1 high t\n", "my.run"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("my.run:1: score \"high\"")));
  EXPECT_THAT(
      ParseRun("q1 Q0 a 1 0.9 t\n\nq1 Q0 a 2 0.8 t\n", "my.run"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("my.run:3: query \"q1\" lists doc \"a\" again (first on line 1)")));
}

TEST(EvalMetricsTest, ParseQrels) {
  absl::StatusOr<Qrels> qrels = ParseQrels("q1 0 a 1\r\n\nq1\t0\tb\t1\nq2 0 c 0\nq3 0 d 1\n", "q");
  ASSERT_THAT(qrels, IsOk());
  EXPECT_THAT(*qrels, UnorderedElementsAre(Pair("q1", UnorderedElementsAre("a", "b")),
                                           Pair("q3", UnorderedElementsAre("d"))));
  EXPECT_THAT(ParseQrels("q1 0 a 1\nq1 0 b\n", "dev.qrels"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dev.qrels:2: expected 4 fields (qid 0 docid rel), found 3")));
  EXPECT_THAT(ParseQrels("q1 0 a yes\n", "dev.qrels"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dev.qrels:1: rel \"yes\" is not an integer")));
}

TEST(EvalMetricsTest, ParseQueriesTsv) {
  absl::StatusOr<std::vector<EvalQuery>> queries =
      ParseQueriesTsv("tweet_id\ttweet\nt1\tFirst text\textra\r\n\nt2\t\n", "q.tsv");
  ASSERT_THAT(queries, IsOk());
  ASSERT_EQ(queries->size(), 2);
  EXPECT_EQ((*queries)[0].id, "t1");
  EXPECT_EQ((*queries)[0].text, "First text");
  EXPECT_EQ((*queries)[1].id, "t2");
  EXPECT_EQ((*queries)[1].text, "");
  // Quoted as CSV writers quote (the CheckThat! tweets files): unquoted; anything else kept.
  queries = ParseQueriesTsv(
      "q1\t\"He said \"\"no\"\". \xE2\x80\x94 A (@a) May 12, 2015\"\n"
      "q2\t\"Vaccines cause autism\"\n"
      "q3\t\"a \"lone\" quote\"\n"
      "q4\t\"\n",
      "q.tsv");
  ASSERT_THAT(queries, IsOk());
  ASSERT_EQ(queries->size(), 4);
  EXPECT_EQ((*queries)[0].text, "He said \"no\". \xE2\x80\x94 A (@a) May 12, 2015");
  EXPECT_EQ((*queries)[1].text, "Vaccines cause autism");
  EXPECT_EQ((*queries)[2].text, "\"a \"lone\" quote\"");
  EXPECT_EQ((*queries)[3].text, "\"");
  // A header-like id after the first line is a query.
  EXPECT_THAT(ParseQueriesTsv("t1\ta\nid\tb\n", "q.tsv"), IsOk());
  EXPECT_THAT(
      ParseQueriesTsv("t1\ta\nno tab here\n", "q.tsv"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("q.tsv:2: expected id<TAB>text")));
  EXPECT_THAT(ParseQueriesTsv("\tempty id\n", "q.tsv"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("q.tsv:1: empty query id")));
  EXPECT_THAT(ParseQueriesTsv("t1\ta\nt2\tb\nt1\tc\n", "q.tsv"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("q.tsv:3: query id \"t1\" repeats line 1")));
}

// CheckThat! debate and speech sentence ids begin with the day they were said.
TEST(EvalMetricsTest, QueryIdDate) {
  EXPECT_EQ(QueryIdDate("20170822_Trump_phoenix_0204"), "2017-08-22");
  EXPECT_EQ(QueryIdDate("20161019_3pres_0017"), "2016-10-19");
  EXPECT_EQ(QueryIdDate("19991231_x"), "1999-12-31");
  EXPECT_EQ(QueryIdDate("20200229_leap"), "2020-02-29");
  EXPECT_EQ(QueryIdDate("20190229_not_leap"), "");
  EXPECT_EQ(QueryIdDate("20171322_x"), "");   // month 13
  EXPECT_EQ(QueryIdDate("2017082_x"), "");    // seven digits
  EXPECT_EQ(QueryIdDate("20170822"), "");     // no '_' after
  EXPECT_EQ(QueryIdDate("201708221_x"), "");  // nine digits
  EXPECT_EQ(QueryIdDate("12340822_x"), "");   // year out of range
  EXPECT_EQ(QueryIdDate("tweet-sno-999"), "");
  EXPECT_EQ(QueryIdDate("1234567890123"), "");  // a tweet's numeric id
  EXPECT_EQ(QueryIdDate(""), "");
  absl::StatusOr<std::vector<EvalQuery>> queries =
      ParseQueriesTsv("20170822_Trump_0204\tSaid then.\nt2\tUndated.\n", "q.tsv");
  ASSERT_THAT(queries, IsOk());
  ASSERT_EQ(queries->size(), 2);
  EXPECT_EQ((*queries)[0].date, "2017-08-22");
  EXPECT_EQ((*queries)[1].date, "");
}

TEST(EvalMetricsTest, ReadersNameTheFile) {
  const std::string dir = ::claimmatch::testing::MakeTempDir("eval_metrics_read");
  const std::string path = JoinPath(dir, "bad.qrels");
  ASSERT_THAT(WriteFileAtomically(path, "q1 0 a 1\nq1 a 1\n"), IsOk());
  EXPECT_THAT(ReadQrels(path), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr(absl::StrCat(path, ":2: expected 4 fields"))));
  EXPECT_THAT(ReadRun(JoinPath(dir, "missing.run")), ::testing::Not(IsOk()));
}

// A deterministic toy run over the CheckThat dev tweets, checked against the baseline's own
// metrics() function. Expected values produced once by a Python script that imports metrics() from
// shared/tools/bm25_baseline.py and builds the same run: docs = sorted set of all qrels doc ids;
// for the i-th line of tweets-dev.tsv with i % 10 != 9 and judged, g = index in docs of its
// smallest gold id, start = g + 1 if i % 5 == 4 else g - i % 4, ranking = the 120 docs
// docs[(start + j) % len(docs)]. It printed 199 queries, 150 docs, 180 run queries and
// MAP@1=0.20100502512562815 MAP@3=0.3685092127303182 MAP@5=0.41876046901172526
// MRR=0.41876046901172526 R@5=0.8040201005025126 R@100=0.8040201005025126.
TEST(EvalMetricsTest, MatchesBaselineOnDevTweets) {
  const std::string dir = JoinPath(TestDataDir(), "claims-dev");
  absl::StatusOr<std::vector<EvalQuery>> queries = ReadQueriesTsv(JoinPath(dir, "tweets-dev.tsv"));
  ASSERT_THAT(queries, IsOk());
  absl::StatusOr<Qrels> qrels = ReadQrels(JoinPath(dir, "tweets-dev.qrels"));
  ASSERT_THAT(qrels, IsOk());
  std::vector<std::string> docs;
  for (const auto& [query_id, gold] : *qrels) docs.insert(docs.end(), gold.begin(), gold.end());
  std::sort(docs.begin(), docs.end());
  docs.erase(std::unique(docs.begin(), docs.end()), docs.end());
  ASSERT_EQ(docs.size(), 150);
  const long n = static_cast<long>(docs.size());

  TrecRun run;
  for (size_t i = 0; i < queries->size(); ++i) {
    const std::string& id = (*queries)[i].id;
    if (i % 10 == 9 || !qrels->contains(id)) continue;
    const auto& gold = qrels->at(id);
    const std::string smallest = *std::min_element(gold.begin(), gold.end());
    const long g = std::lower_bound(docs.begin(), docs.end(), smallest) - docs.begin();
    const long start = i % 5 == 4 ? g + 1 : g - static_cast<long>(i % 4);
    std::vector<std::string>& ranked = run[id];
    for (long j = 0; j < 120; ++j) ranked.push_back(docs[((start + j) % n + n) % n]);
  }
  ASSERT_EQ(run.size(), 180);

  const Metrics m = ComputeMetrics(run, *qrels);
  EXPECT_EQ(m.queries, 199);
  EXPECT_NEAR(m.map1, 0.20100502512562815, 1e-12);
  EXPECT_NEAR(m.map3, 0.3685092127303182, 1e-12);
  EXPECT_NEAR(m.map5, 0.41876046901172526, 1e-12);
  EXPECT_NEAR(m.mrr, 0.41876046901172526, 1e-12);
  EXPECT_NEAR(m.r5, 0.8040201005025126, 1e-12);
  EXPECT_NEAR(m.r100, 0.8040201005025126, 1e-12);
  EXPECT_EQ(FormatMetrics(m),
            "MAP@1=0.2010 MAP@3=0.3685 MAP@5=0.4188 MRR=0.4188 R@5=0.8040 R@100=0.8040");
}

}  // namespace
}  // namespace claimmatch
