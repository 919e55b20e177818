// Retrieval evaluation for `claimmatch eval`: CheckThat-style query files, TREC qrels and runs,
// and the metrics of shared/tools/bm25_baseline.py.
//
// Files:
//   queries TSV  `id<TAB>text[<TAB>ignored...]`, one per line; a first line whose id is "id",
//                "tweet_id" or "iclaim_id" is a header and skipped (as the baseline does). An
//                id that begins with a day as YYYYMMDD and '_' (the CheckThat! debate and speech
//                sentences: "20170822_Trump_phoenix_0204") gives the query its date
//                (QueryIdDate): the day the sentence was said.
//   qrels        `qid 0 docid rel`, fields separated by whitespace; a pair counts as relevant
//                when rel > 0 (the baseline counts every line; the CheckThat qrels only hold rel 1,
//                so they agree there).
//   run          `qid Q0 docid rank score tag`, one line per retrieved doc (the TREC format).
// All readers skip blank lines, accept CRLF line ends, and fail with kInvalidArgument naming
// `name:line` for a malformed line.
//
// Metrics, each averaged over the queries of the qrels that have at least one relevant doc (a
// query missing from the run scores 0 on all; run queries absent from the qrels are ignored):
//   AP@k   = (sum of precision@i over the ranks i <= k that hold a relevant doc) / #relevant
//            (CheckThat divides by all relevant docs, not by min(k, #relevant));
//   RR     = 1 / rank of the first relevant doc anywhere in the ranking, else 0;
//   R@k    = #distinct relevant docs in the top k / #relevant.
// With no judged queries every metric is 0.
//
// Thread safety: all functions are pure (the Read* ones only read their file).
#ifndef CLAIMMATCH_ENGINE_EVAL_METRICS_H_
#define CLAIMMATCH_ENGINE_EVAL_METRICS_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace claimmatch {

struct EvalQuery {
  std::string id;
  std::string text;
  std::string date;  // QueryIdDate(id): "YYYY-MM-DD" or ""
};

// Returns the day an id such as "20170822_Trump_phoenix_0204" begins with, as "2017-08-22": eight
// digits that are a real day of a year from 1900 to 2199, then '_'. "" for any other id (a tweet
// id, "2017082_x", "20170230_x", "20170822").
std::string QueryIdDate(absl::string_view id);

// Relevant doc ids per query id (only queries with at least one relevant doc).
using Qrels = absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>;

// Retrieved doc ids per query id, best first.
using TrecRun = absl::flat_hash_map<std::string, std::vector<std::string>>;

struct ScoredDoc {
  std::string doc_id;
  double score = 0;
};

struct Metrics {
  double map1 = 0, map3 = 0, map5 = 0, mrr = 0, r5 = 0, r100 = 0;
  int queries = 0;  // judged queries averaged over
};

// Returns the queries of the TSV `contents`, in file order, each dated by QueryIdDate; fails with
// kInvalidArgument ("name:line: ...") for a line without a tab, an empty id, or an id seen before.
// A text quoted as CSV writers quote one that holds quotes ('"' at both ends, inner quotes
// doubled, as in the CheckThat! tweets files) is unquoted.
absl::StatusOr<std::vector<EvalQuery>> ParseQueriesTsv(absl::string_view contents,
                                                       absl::string_view name);

// Returns ParseQueriesTsv of the file at `path`; fails with its errors or the read error.
absl::StatusOr<std::vector<EvalQuery>> ReadQueriesTsv(absl::string_view path);

// Returns the qrels in `contents`; fails with kInvalidArgument ("name:line: ...") for a line that
// has not exactly 4 fields or whose rel is not an integer.
absl::StatusOr<Qrels> ParseQrels(absl::string_view contents, absl::string_view name);

// Returns ParseQrels of the file at `path`; fails with its errors or the read error.
absl::StatusOr<Qrels> ReadQrels(absl::string_view path);

// Returns the run in `contents`, each query's docs ordered by the rank field (ties in file order;
// trec_eval orders by score instead, which agrees for runs written by FormatRunLines); fails with
// kInvalidArgument ("name:line: ...") for a line that has not exactly 6 fields, a rank that is not
// an integer, a score that is not a number, or a (qid, docid) pair seen before.
absl::StatusOr<TrecRun> ParseRun(absl::string_view contents, absl::string_view name);

// Returns ParseRun of the file at `path`; fails with its errors or the read error.
absl::StatusOr<TrecRun> ReadRun(absl::string_view path);

// Returns the TREC run lines for query `query_id`'s ranking `ranked` (best first), one per doc:
// "qid Q0 docid rank score tag\n" with rank from 1 and the score with 6 decimals.
// REQUIRES: no id or `tag` contains whitespace.
std::string FormatRunLines(absl::string_view query_id, absl::Span<const ScoredDoc> ranked,
                           absl::string_view tag);

// Returns MAP@1/3/5, MRR, R@5 and R@100 of `run` against `qrels` (definitions above).
Metrics ComputeMetrics(const TrecRun& run, const Qrels& qrels);

// Returns "MAP@1=0.xxxx MAP@3=0.xxxx MAP@5=0.xxxx MRR=0.xxxx R@5=0.xxxx R@100=0.xxxx".
std::string FormatMetrics(const Metrics& metrics);

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_EVAL_METRICS_H_
