#include "engine/eval_metrics.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"
#include "engine/dates.h"

namespace claimmatch {
namespace {

// A field quoted as CSV writers (and pandas' to_csv with a tab separator) quote one holding a
// quote: '"' at both ends, every quote inside doubled. Returns it unquoted; any other text as it
// is.
std::string UnquoteField(absl::string_view field) {
  if (field.size() < 2 || field.front() != '"' || field.back() != '"') return std::string(field);
  const absl::string_view inner = field.substr(1, field.size() - 2);
  std::string out;
  out.reserve(inner.size());
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '"') {
      if (i + 1 >= inner.size() || inner[i + 1] != '"') return std::string(field);  // a lone '"'
      ++i;
    }
    out.push_back(inner[i]);
  }
  return out;
}

// Calls `f(line_number, line)` for each line of `contents` that is not blank, without its line
// end; stops at and returns the first error.
template <typename F>
absl::Status ForEachLine(absl::string_view contents, F f) {
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    absl::ConsumeSuffix(&line, "\r");
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    CM_RETURN_IF_ERROR(f(line_number, line));
  }
  return absl::OkStatus();
}

absl::Status LineError(absl::string_view name, int line_number, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ":", line_number, ": ", what));
}

}  // namespace

std::string QueryIdDate(absl::string_view id) {
  if (id.size() < 9 || id[8] != '_') return "";
  for (int i = 0; i < 8; ++i) {
    if (id[i] < '0' || id[i] > '9') return "";
  }
  if (id.substr(0, 2) < "19" || id.substr(0, 2) > "21") return "";
  const std::string day = NormalizeDate(id.substr(0, 8));  // YYYYMMDD: checked as a real day
  return day.size() == 10 ? day : "";
}

absl::StatusOr<std::vector<EvalQuery>> ParseQueriesTsv(absl::string_view contents,
                                                       absl::string_view name) {
  std::vector<EvalQuery> queries;
  absl::flat_hash_map<std::string, int> line_of;
  CM_RETURN_IF_ERROR(ForEachLine(contents, [&](int n, absl::string_view line) -> absl::Status {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
    if (fields.size() < 2) return LineError(name, n, "expected id<TAB>text");
    if (n == 1 && (fields[0] == "id" || fields[0] == "tweet_id" || fields[0] == "iclaim_id")) {
      return absl::OkStatus();  // header
    }
    if (fields[0].empty()) return LineError(name, n, "empty query id");
    const auto [it, inserted] = line_of.emplace(fields[0], n);
    if (!inserted) {
      return LineError(name, n,
                       absl::StrCat("query id \"", fields[0], "\" repeats line ", it->second));
    }
    queries.push_back({std::string(fields[0]), UnquoteField(fields[1]), QueryIdDate(fields[0])});
    return absl::OkStatus();
  }));
  return queries;
}

absl::StatusOr<std::vector<EvalQuery>> ReadQueriesTsv(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(const std::string contents, ReadFile(path));
  return ParseQueriesTsv(contents, path);
}

absl::StatusOr<Qrels> ParseQrels(absl::string_view contents, absl::string_view name) {
  Qrels qrels;
  CM_RETURN_IF_ERROR(ForEachLine(contents, [&](int n, absl::string_view line) -> absl::Status {
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 4) {
      return LineError(name, n,
                       absl::StrCat("expected 4 fields (qid 0 docid rel), found ", fields.size()));
    }
    int64_t rel;
    if (!absl::SimpleAtoi(fields[3], &rel)) {
      return LineError(name, n, absl::StrCat("rel \"", fields[3], "\" is not an integer"));
    }
    if (rel > 0) qrels[fields[0]].emplace(fields[2]);
    return absl::OkStatus();
  }));
  return qrels;
}

absl::StatusOr<Qrels> ReadQrels(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(const std::string contents, ReadFile(path));
  return ParseQrels(contents, path);
}

absl::StatusOr<TrecRun> ParseRun(absl::string_view contents, absl::string_view name) {
  struct Entry {
    int64_t rank;
    int line;
    std::string doc_id;
  };
  absl::flat_hash_map<std::string, std::vector<Entry>> entries;
  absl::flat_hash_map<std::pair<std::string, std::string>, int> line_of;
  CM_RETURN_IF_ERROR(ForEachLine(contents, [&](int n, absl::string_view line) -> absl::Status {
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 6) {
      return LineError(
          name, n,
          absl::StrCat("expected 6 fields (qid Q0 docid rank score tag), found ", fields.size()));
    }
    int64_t rank;
    if (!absl::SimpleAtoi(fields[3], &rank)) {
      return LineError(name, n, absl::StrCat("rank \"", fields[3], "\" is not an integer"));
    }
    double score;
    if (!absl::SimpleAtod(fields[4], &score)) {
      return LineError(name, n, absl::StrCat("score \"", fields[4], "\" is not a number"));
    }
    const auto [it, inserted] =
        line_of.emplace(std::make_pair(std::string(fields[0]), std::string(fields[2])), n);
    if (!inserted) {
      return LineError(name, n,
                       absl::StrCat("query \"", fields[0], "\" lists doc \"", fields[2],
                                    "\" again (first on line ", it->second, ")"));
    }
    entries[fields[0]].push_back({rank, n, std::string(fields[2])});
    return absl::OkStatus();
  }));
  TrecRun run;
  for (auto& [query_id, list] : entries) {
    std::sort(list.begin(), list.end(), [](const Entry& a, const Entry& b) {
      return std::make_pair(a.rank, a.line) < std::make_pair(b.rank, b.line);
    });
    std::vector<std::string>& ranked = run[query_id];
    ranked.reserve(list.size());
    for (Entry& e : list) ranked.push_back(std::move(e.doc_id));
  }
  return run;
}

absl::StatusOr<TrecRun> ReadRun(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(const std::string contents, ReadFile(path));
  return ParseRun(contents, path);
}

std::string FormatRunLines(absl::string_view query_id, absl::Span<const ScoredDoc> ranked,
                           absl::string_view tag) {
  std::string out;
  for (size_t i = 0; i < ranked.size(); ++i) {
    absl::StrAppendFormat(&out, "%s Q0 %s %d %.6f %s\n", query_id, ranked[i].doc_id, i + 1,
                          ranked[i].score, tag);
  }
  return out;
}

Metrics ComputeMetrics(const TrecRun& run, const Qrels& qrels) {
  Metrics m;
  static const std::vector<std::string> kNoDocs;
  for (const auto& entry : qrels) {
    const absl::flat_hash_set<std::string>& gold = entry.second;  // a name lambdas can capture
    if (gold.empty()) continue;
    const auto it = run.find(entry.first);
    const std::vector<std::string>& ranked = it == run.end() ? kNoDocs : it->second;
    const double n_gold = static_cast<double>(gold.size());
    // Average precision at each cut-off, as the baseline: hits counted with repetition.
    double precision_sum = 0;
    int hits = 0;
    double ap[6] = {0, 0, 0, 0, 0, 0};  // ap[k] for k = 1, 3, 5
    for (size_t i = 0; i < ranked.size() && i < 5; ++i) {
      if (gold.contains(ranked[i])) {
        ++hits;
        precision_sum += static_cast<double>(hits) / static_cast<double>(i + 1);
      }
      ap[i + 1] = precision_sum / n_gold;
    }
    for (size_t i = ranked.size(); i < 5; ++i) ap[i + 1] = ap[i];
    m.map1 += ap[1];
    m.map3 += ap[3];
    m.map5 += ap[5];
    for (size_t i = 0; i < ranked.size(); ++i) {
      if (gold.contains(ranked[i])) {
        m.mrr += 1.0 / static_cast<double>(i + 1);
        break;
      }
    }
    auto recall = [&](size_t k) {
      absl::flat_hash_set<absl::string_view> found;
      for (size_t i = 0; i < ranked.size() && i < k; ++i) {
        if (gold.contains(ranked[i])) found.insert(ranked[i]);
      }
      return static_cast<double>(found.size()) / n_gold;
    };
    m.r5 += recall(5);
    m.r100 += recall(100);
    ++m.queries;
  }
  if (m.queries > 0) {
    const double n = m.queries;
    m.map1 /= n;
    m.map3 /= n;
    m.map5 /= n;
    m.mrr /= n;
    m.r5 /= n;
    m.r100 /= n;
  }
  return m;
}

std::string FormatMetrics(const Metrics& m) {
  return absl::StrFormat("MAP@1=%.4f MAP@3=%.4f MAP@5=%.4f MRR=%.4f R@5=%.4f R@100=%.4f", m.map1,
                         m.map3, m.map5, m.mrr, m.r5, m.r100);
}

}  // namespace claimmatch
