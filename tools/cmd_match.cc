// The matching commands: lookup (the fact-checker's tool) and eval (ranking quality).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "embeddings/file_util.h"
#include "embeddings/utf8.h"
#include "engine/eval_metrics.h"
#include "engine/text_analysis.h"
#include "engine/verdict.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/line_reader.h"
#include "tools/match_setup.h"
#include "tools/output.h"

namespace claimmatch::cli {
namespace {

using json = nlohmann::json;

int SessionError(const ArgParser& p, const absl::Status& s) {
  if (absl::IsInvalidArgument(s)) return UsageError(p, s.message());
  return Fail(s);
}

}  // namespace

int RunLookup(const Args& args) {
  ArgParser p("lookup", "claimmatch lookup [--db DIR] [options] [TEXT...]",
              "Finds the checked claims a text repeats. With TEXT: a table of the top matches\n"
              "(or --json). Without TEXT: an interactive prompt on a terminal; on a pipe, one\n"
              "query per line in and one JSON result per line out.");
  AddMatchOptions(p, 5);
  p.Flag("json", "JSON output")
      .Flag("no-color", "no colours (also NO_COLOR)")
      .Example("claimmatch lookup \"Obama was born in Kenya\"")
      .Example("claimmatch lookup --json --language en -k 3 \"vaccines cause autism\"")
      .Example("cut -f2 tweets.tsv | claimmatch lookup > results.jsonl");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  // One query from the arguments: no in-memory snapshot (it would cost more than the query).
  absl::StatusOr<MatchSession> s = OpenMatchSession(p, /*many_queries=*/p.positional().empty());
  if (!s.ok()) return SessionError(p, s.status());
  // One query at a time: the two channels of each run concurrently (the Matcher's worker thread).
  s->options.parallel_channels = true;
  const bool color = UseColor(p.GetFlag("no-color"));

  auto answer = [&](const std::string& text, bool as_json) -> int {
    size_t bad = 0;
    if (!IsValidUtf8(text, &bad)) {
      const std::string message = absl::StrCat("query is not valid UTF-8 (byte ", bad + 1, ")");
      if (as_json) {  // keep one output line per input line
        std::printf("%s\n", json{{"query", nullptr},
                                 {"decision", "error"},
                                 {"error", message},
                                 {"matches", json::array()}}
                                .dump()
                                .c_str());
        std::fflush(stdout);
      }
      return Fail(message);
    }
    absl::StatusOr<std::vector<MatchResult>> r = s->matcher->Match(text, s->options);
    if (!r.ok()) return Fail(r.status());
    if (as_json) {
      std::printf(
          "%s\n",
          QueryResultJson(text, *r).dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    } else if (!HasLetterOrDigit(text)) {
      std::fputs("no match: the text has no words to match\n", stdout);
    } else {
      std::fputs(ResultTable(*r, color, TerminalWidth()).c_str(), stdout);
    }
    std::fflush(stdout);
    return kExitOk;
  };

  if (!p.positional().empty()) {
    return answer(absl::StrJoin(p.positional(), " "), p.GetFlag("json"));
  }
  const bool interactive = ::isatty(STDIN_FILENO) == 1;
  if (interactive) {
    std::fprintf(stderr,
                 "claimmatch lookup: %s claims in %s (%s mode). Type a claim (arrows edit and "
                 "recall earlier ones); empty line or Ctrl-D quits.\n",
                 WithCommasInt((*s).db->manifest().claims).c_str(), s->db->dir().c_str(),
                 std::string(MatchModeName(s->options.mode)).c_str());
  }
  std::string line;
  int rc = kExitOk;
  if (interactive) {
    LineReader reader("claim> ", DefaultHistoryPath());
    while (reader.Read(&line) && !line.empty()) {
      if (answer(line, p.GetFlag("json")) != kExitOk) rc = kExitFailure;
    }
    return rc;
  }
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      std::printf("%s\n", QueryResultJson("", {}).dump().c_str());
      continue;
    }
    if (answer(line, true) != kExitOk) rc = kExitFailure;
  }
  return rc;
}

int RunEval(const Args& args) {
  ArgParser p("eval", "claimmatch eval --db DIR --queries TSV --qrels QRELS [options]",
              "Ranks every query and prints MAP@1/3/5, MRR, R@5 and R@100 on one line\n"
              "(CheckThat! definitions: AP@k divides by the number of gold claims).");
  AddMatchOptions(p, 100);
  p.Option("queries", "queries TSV: id<TAB>text", "")
      .Option("qrels", "TREC qrels: qid 0 claim_id rel", "")
      .Option("run-out", "also write a TREC run file (qid Q0 claim_id rank score tag)", "")
      .Option("tag", "run tag in the TREC file", "claimmatch")
      .Flag("json", "the metrics as one JSON object")
      .Flag("no-id-dates",
            "ignore the day a query id begins with (20170822_Trump_phoenix_0204: the day the\n"
            "sentence was said, which the re-ranker's date feature otherwise uses)")
      .Example("claimmatch eval --db snopes-db --queries tweets-dev.tsv --qrels tweets-dev.qrels");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  if (p.Get("queries").empty() || p.Get("qrels").empty()) {
    return UsageError(p, "--queries and --qrels are required");
  }
  absl::StatusOr<MatchSession> s = OpenMatchSession(p);
  if (!s.ok()) return SessionError(p, s.status());
  absl::StatusOr<std::vector<EvalQuery>> queries = ReadQueriesTsv(p.Get("queries"));
  if (!queries.ok()) return Fail(queries.status());
  absl::StatusOr<Qrels> qrels = ReadQrels(p.Get("qrels"));
  if (!qrels.ok()) return Fail(qrels.status());
  // Mismatched files give plausible-looking numbers: say what does not line up. Examples are the
  // smallest ids, so the message does not depend on hash order.
  {
    absl::flat_hash_set<std::string> query_ids;
    for (const EvalQuery& q : *queries) query_ids.insert(q.id);
    std::vector<std::string> unasked, absent, unjudged;
    for (const auto& [qid, gold] : *qrels) {
      if (!query_ids.contains(qid)) unasked.push_back(qid);
      for (const std::string& id : gold) {
        absl::StatusOr<std::optional<ClaimRecord>> c = s->db->store().GetById(id);
        if (!c.ok()) return Fail(c.status());
        if (!c->has_value()) absent.push_back(id);
      }
    }
    for (const EvalQuery& q : *queries) {
      if (!qrels->contains(q.id)) unjudged.push_back(q.id);
    }
    auto warn = [&](std::vector<std::string>& ids, absl::string_view what) {
      if (ids.empty()) return;
      std::sort(ids.begin(), ids.end());
      std::fprintf(stderr, "claimmatch: warning: %zu %.*s (first: %s)\n", ids.size(),
                   static_cast<int>(what.size()), what.data(), ids[0].c_str());
    };
    warn(unasked, absl::StrCat("judged queries of ", p.Get("qrels"), " are not in ",
                               p.Get("queries"), ": each scores 0"));
    warn(absent, absl::StrCat("gold claims of ", p.Get("qrels"),
                              " are not in the database: is --db the claim collection these "
                              "qrels judge?"));
    warn(unjudged, absl::StrCat("queries of ", p.Get("queries"), " have no gold claim in ",
                                p.Get("qrels"), ": ranked, but not scored"));
  }

  TrecRun run;
  std::string run_text;
  const bool id_dates = !p.GetFlag("no-id-dates");
  constexpr size_t kChunk = 256;
  for (size_t begin = 0; begin < queries->size(); begin += kChunk) {
    const size_t end = std::min(queries->size(), begin + kChunk);
    std::vector<std::string> texts, dates;
    for (size_t i = begin; i < end; ++i) {
      texts.push_back((*queries)[i].text);
      dates.push_back(id_dates ? (*queries)[i].date : "");
    }
    auto results = s->matcher->MatchBatch(texts, s->options, dates);
    if (!results.ok()) return Fail(results.status());
    for (size_t i = begin; i < end; ++i) {
      std::vector<ScoredDoc> ranked;
      std::vector<std::string>& ids = run[(*queries)[i].id];
      for (const MatchResult& m : (*results)[i - begin]) {
        ranked.push_back({m.claim.id, m.score});
        ids.push_back(m.claim.id);
      }
      absl::StrAppend(&run_text, FormatRunLines((*queries)[i].id, ranked, p.Get("tag")));
    }
  }
  if (!p.Get("run-out").empty()) {
    if (absl::Status st = WriteFileAtomically(p.Get("run-out"), run_text); !st.ok()) {
      return Fail(st);
    }
  }
  const Metrics m = ComputeMetrics(run, *qrels);
  if (p.GetFlag("json")) {
    json j{{"queries", m.queries},
           {"MAP@1", m.map1},
           {"MAP@3", m.map3},
           {"MAP@5", m.map5},
           {"MRR", m.mrr},
           {"R@5", m.r5},
           {"R@100", m.r100},
           {"mode", std::string(MatchModeName(s->options.mode))},
           {"reranker", s->reranker_source}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s\n", FormatMetrics(m).c_str());
  }
  return kExitOk;
}

}  // namespace claimmatch::cli
