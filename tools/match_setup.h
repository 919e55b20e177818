// What the matching commands (lookup, flag, score, eval) share: opening a database read-only with
// its model and re-ranker, and the --mode / threshold / filter options.
#ifndef CLAIMMATCH_TOOLS_MATCH_SETUP_H_
#define CLAIMMATCH_TOOLS_MATCH_SETUP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "embeddings/sentence_encoder.h"
#include "engine/claim_database.h"
#include "engine/matcher.h"
#include "tools/cli_args.h"

namespace claimmatch::cli {

struct MatchSession {
  std::unique_ptr<SentenceEncoder> encoder;
  std::unique_ptr<ClaimDatabase> db;
  std::unique_ptr<Matcher> matcher;
  MatchOptions options;
  std::string reranker_source;  // where the re-ranker came from (file, or "built-in")
  int threads = 2;              // --threads
};

// Declares --db, --model, --mode, -k, --match-threshold, --suggest-threshold, --min-words,
// --names-only-idf, --language, --publisher, --verdict, --since, --until, --date,
// --keep-later-claims, --reranker, --lexical-candidates, --dense-candidates, --threads (by default
// the encoder's threads per call, default 2; a command whose --threads means something else passes
// its own default and help).
void AddMatchOptions(ArgParser& p, int default_k, int default_threads = 2,
                     const char* threads_help = "encoder threads");

// Opens everything the options name. Usage problems come back as kInvalidArgument (exit 2),
// others as they are (exit 1). `many_queries`: the command will match many texts, so the Matcher
// keeps its in-memory snapshot (engine/matcher.h; about 0.3 s to build at 19k claims); a command
// matching a handful of texts passes false and reads the store per query instead.
// `encoder_threads` > 0 sets the encoder's threads per call instead of --threads (`score`, whose
// --threads workers each encode their own chunk, passes 1).
absl::StatusOr<MatchSession> OpenMatchSession(const ArgParser& p, bool many_queries = true,
                                              int encoder_threads = 0);

// The re-ranker for a database: `explicit_path` if given, else DIR/reranker.json, else the model
// directory's reranker.json, else the built-in fusion; one trained for another model is skipped.
// Sets `*source` to the file used (or "built-in").
absl::StatusOr<RerankerModel> LoadRerankerFor(const ClaimDatabase& db,
                                              const std::string& explicit_path,
                                              std::string* source);

}  // namespace claimmatch::cli

#endif  // CLAIMMATCH_TOOLS_MATCH_SETUP_H_
