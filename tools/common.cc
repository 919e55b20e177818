#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "engine/claim_database.h"
#include "tools/commands.h"

namespace claimmatch::cli {

int Fail(const absl::Status& status) { return Fail(status.message()); }

int Fail(absl::string_view message) {
  std::fprintf(stderr, "claimmatch: error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return kExitFailure;
}

int UsageError(const ArgParser& parser, absl::string_view message) {
  std::fprintf(stderr, "claimmatch: error: %.*s\nusage: %s\n(see --help)\n",
               static_cast<int>(message.size()), message.data(), parser.Usage().c_str());
  return kExitUsage;
}

int ParseOrExit(ArgParser& parser, const Args& args) {
  if (absl::Status s = parser.Parse(args); !s.ok()) return UsageError(parser, s.message());
  if (parser.help_requested()) {
    std::fputs(parser.Help().c_str(), stdout);
    return kExitOk;
  }
  return -1;
}

std::string DefaultModelDir() {
  if (const char* e = std::getenv("CLAIMMATCH_MODEL"); e != nullptr && *e != '\0') return e;
  return JoinPath(CLAIMMATCH_SOURCE_DIR, "models/default");
}

absl::StatusOr<std::string> DatabaseModelDir(const std::string& model, const std::string& db) {
  if (!model.empty()) return model;
  absl::StatusOr<Manifest> m = ClaimDatabase::ReadManifest(db);
  if (!m.ok()) return m.status();
  return !m->model.path.empty() && PathExists(m->model.path) ? m->model.path : DefaultModelDir();
}

absl::StatusOr<std::unique_ptr<SentenceEncoder>> LoadEncoder(const std::string& dir, int threads) {
  EncoderOptions options;
  options.threads = threads;
  absl::StatusOr<std::unique_ptr<SentenceEncoder>> e = LoadSentenceEncoder(dir, options);
  if (!e.ok()) {
    return absl::Status(e.status().code(),
                        absl::StrCat("cannot load model: ", e.status().message()));
  }
  return e;
}

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

ArgParser& AddEncoderThreadsOption(ArgParser& p) {
  return p.Option("threads", "encoder threads, by default one per CPU the process may use",
                  absl::StrCat(UsableCores()), "CLAIMMATCH_THREADS");
}

absl::StatusOr<int> ThreadsOption(const ArgParser& p) {
  int threads = 0;
  if (!p.GetInt("threads", &threads).ok() || threads < 1) {
    return absl::InvalidArgumentError("--threads needs a whole number >= 1");
  }
  return threads;
}

std::string DefaultDbDir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x != nullptr && *x != '\0') {
    return JoinPath(x, "claimmatch/default");
  }
  const char* home = std::getenv("HOME");
  return JoinPath(home != nullptr ? home : ".", ".local/share/claimmatch/default");
}

}  // namespace claimmatch::cli
