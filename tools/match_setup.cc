#include "tools/match_setup.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"
#include "engine/dates.h"
#include "engine/verdict.h"
#include "tools/commands.h"

namespace claimmatch::cli {

void AddMatchOptions(ArgParser& p, int default_k, int default_threads, const char* threads_help) {
  const MatchOptions defaults;  // the engine's defaults are the flags' defaults
  p.Option("db", "claim database directory", DefaultDbDir(), "CLAIMMATCH_DB")
      .Option("model", "model directory (default: the one the database names)", "",
              "CLAIMMATCH_MODEL")
      .Option("mode", "dense, lexical or hybrid (dense + BM25 + re-ranker)", "hybrid")
      .Option("k", "results per query", absl::StrCat(default_k), "", 'k')
      .Option("match-threshold",
              "decision confidence (0-1) at which a result is an automatic match "
              "(default: the re-ranker's calibrated value, see README)",
              "")
      .Option("suggest-threshold", "decision confidence for a suggestion (default: calibrated)", "")
      .Option("min-words", "texts with fewer words are never auto-matched",
              absl::StrCat(defaults.min_words_for_match))
      .Option("names-only-idf",
              "texts sharing only names and words of lower BM25 idf with a claim are at most "
              "suggested (0: off)",
              absl::StrCat(defaults.names_only_min_idf))
      .Option("language", "only claims in these languages (comma-separated, e.g. en,pt)", "")
      .Option("publisher", "only claims from these publishers (comma-separated)", "")
      .Option("verdict", "only these normalised verdicts (false,mostly-false,mixed,...)", "")
      .Option("since", "only claims made on or after this date (YYYY[-MM[-DD]])", "")
      .Option("until", "only claims made on or before this date (YYYY[-MM[-DD]])", "")
      .Option("date",
              "the texts' date (YYYY-MM-DD, or e.g. \"August 29, 2017\"), for the re-ranker's "
              "date proximity (default: an embedded tweet's signature date)",
              "")
      .Flag("keep-later-claims",
            "also consider claims first stated more than a day after a text's date (its --date,\n"
            "record date, embedded tweet date or query id date); by default a dated text cannot\n"
            "repeat a claim not yet made")
      .Option("reranker", "re-ranker file (default: DIR/reranker.json, then the model's)", "")
      .Option("lexical-candidates", "BM25 candidates per query fed to the re-ranker",
              absl::StrCat(defaults.lexical_candidates))
      .Option("dense-candidates", "nearest claims per query fed to the re-ranker",
              absl::StrCat(defaults.dense_candidates))
      .Option("threads", threads_help, absl::StrCat(default_threads), "CLAIMMATCH_THREADS");
}

absl::StatusOr<RerankerModel> LoadRerankerFor(const ClaimDatabase& db,
                                              const std::string& explicit_path,
                                              std::string* source) {
  std::vector<std::string> paths;
  if (!explicit_path.empty()) {
    paths.push_back(explicit_path);
  } else {
    paths.push_back(JoinPath(db.dir(), "reranker.json"));
    paths.push_back(JoinPath(db.encoder().info().path, "reranker.json"));
  }
  for (const std::string& path : paths) {
    if (!PathExists(path)) {
      if (!explicit_path.empty()) return absl::NotFoundError(absl::StrCat("no such file ", path));
      continue;
    }
    absl::StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) return text.status();
    absl::StatusOr<RerankerModel> m = RerankerModel::FromJson(*text, path);
    if (!m.ok()) return m.status();
    if (!m->model_hash.empty() && m->model_hash != db.encoder().info().weights_hash) {
      if (!explicit_path.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(path, " was trained for model weights ",
                                                          m->model_hash, ", the database uses ",
                                                          db.encoder().info().weights_hash));
      }
      std::fprintf(stderr,
                   "claimmatch: warning: %s was trained for another model; using the built-in "
                   "fusion\n",
                   path.c_str());
      continue;
    }
    *source = path;
    return m;
  }
  *source = "built-in";
  return RerankerModel::Default();
}

absl::StatusOr<MatchSession> OpenMatchSession(const ArgParser& p, bool many_queries,
                                              int encoder_threads) {
  MatchSession s;
  auto usage = [](absl::string_view m) { return absl::InvalidArgumentError(m); };
  absl::StatusOr<MatchMode> mode = ParseMatchMode(p.Get("mode"));
  if (!mode.ok()) return usage(mode.status().message());
  s.options.mode = *mode;
  if (!p.GetInt("k", &s.options.k).ok() || s.options.k < 1) return usage("-k needs a number >= 1");
  if (!p.GetInt("min-words", &s.options.min_words_for_match).ok()) {
    return usage("--min-words needs a whole number");
  }
  if (!p.GetDouble("names-only-idf", &s.options.names_only_min_idf).ok() ||
      s.options.names_only_min_idf < 0) {
    return usage("--names-only-idf needs a number >= 0");
  }
  if (!p.GetInt("lexical-candidates", &s.options.lexical_candidates).ok() ||
      s.options.lexical_candidates < 1) {
    return usage("--lexical-candidates needs a number >= 1");
  }
  if (!p.GetInt("dense-candidates", &s.options.dense_candidates).ok() ||
      s.options.dense_candidates < 1) {
    return usage("--dense-candidates needs a number >= 1");
  }
  CM_ASSIGN_OR_RETURN(const int threads, ThreadsOption(p));
  s.threads = threads;
  for (const char* t : {"match-threshold", "suggest-threshold"}) {
    if (p.Get(t).empty()) continue;
    double v = 0;
    if (!p.GetDouble(t, &v).ok() || v < 0 || v > 1) {
      return usage(absl::StrCat("--", t, " needs a number from 0 to 1"));
    }
    (std::string(t) == "match-threshold" ? s.options.match_threshold
                                         : s.options.suggest_threshold) = static_cast<float>(v);
  }
  ClaimFilter& f = s.options.filter;
  for (absl::string_view v : absl::StrSplit(p.Get("language"), ',', absl::SkipEmpty())) {
    f.languages.emplace_back(v);
  }
  for (absl::string_view v : absl::StrSplit(p.Get("publisher"), ',', absl::SkipEmpty())) {
    f.publishers.emplace_back(v);
  }
  for (absl::string_view v : absl::StrSplit(p.Get("verdict"), ',', absl::SkipEmpty())) {
    absl::StatusOr<Verdict> verdict = ParseVerdictName(v);
    if (!verdict.ok()) return usage(verdict.status().message());
    f.verdicts.push_back(*verdict);
  }
  s.options.date = p.Get("date");
  if (!s.options.date.empty() && !ReadDay(s.options.date).has_value()) {
    return usage(
        absl::StrCat("--date needs a day, e.g. 2017-08-29 (got \"", s.options.date, "\")"));
  }
  if (p.GetFlag("keep-later-claims")) s.options.later_claim_days = -1;
  f.claim_date_from = p.Get("since");
  f.claim_date_to = p.Get("until");
  for (const char* bound : {"since", "until"}) {
    if (!p.Get(bound).empty() && !IsIsoDate(p.Get(bound))) {
      return usage(absl::StrCat("--", bound, " needs a date YYYY, YYYY-MM or YYYY-MM-DD (got \"",
                                p.Get(bound), "\")"));
    }
  }

  const std::string db_dir = p.Get("db");
  CM_ASSIGN_OR_RETURN(const std::string model, DatabaseModelDir(p.Get("model"), db_dir));
  CM_ASSIGN_OR_RETURN(s.encoder,
                      LoadEncoder(model, encoder_threads > 0 ? encoder_threads : threads));
  absl::StatusOr<std::unique_ptr<ClaimDatabase>> db =
      ClaimDatabase::Open(db_dir, ClaimDatabase::Mode::kReadOnly, *s.encoder);
  if (!db.ok()) return db.status();
  s.db = std::move(*db);
  absl::StatusOr<RerankerModel> reranker =
      LoadRerankerFor(*s.db, p.Get("reranker"), &s.reranker_source);
  if (!reranker.ok()) return reranker.status();
  s.matcher =
      std::make_unique<Matcher>(*s.db, *std::move(reranker), many_queries ? kMaxSnapshotClaims : 0);
  return s;
}

}  // namespace claimmatch::cli
