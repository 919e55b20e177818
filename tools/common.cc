#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
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

std::string DefaultDbDir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x != nullptr && *x != '\0') {
    return JoinPath(x, "claimmatch/default");
  }
  const char* home = std::getenv("HOME");
  return JoinPath(home != nullptr ? home : ".", ".local/share/claimmatch/default");
}

}  // namespace claimmatch::cli
