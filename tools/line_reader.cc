#include "tools/line_reader.h"

#include <editline/readline.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace claimmatch::cli {
namespace {

// mkdir -p of the directory part of `path`; failures surface later as a history not saved.
void MakeParentDirs(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    ::mkdir(path.substr(0, pos).c_str(), 0700);
  }
}

}  // namespace

LineReader::LineReader(std::string prompt, std::string history_path)
    : prompt_(std::move(prompt)), history_path_(std::move(history_path)) {
  rl_instream = stdin;
  rl_outstream = stderr;  // results go to stdout; the prompt and the editing echo do not
  using_history();
  stifle_history(kMaxHistory);
  if (!history_path_.empty()) read_history(history_path_.c_str());  // a missing file is fine
  if (history_length > 0) {
    HIST_ENTRY* last = history_get(history_base + history_length - 1);
    if (last != nullptr && last->line != nullptr) last_added_ = last->line;
  }
}

LineReader::~LineReader() {
  if (history_path_.empty()) return;
  MakeParentDirs(history_path_);
  const std::string tmp = history_path_ + ".tmp";
  if (write_history(tmp.c_str()) != 0 || std::rename(tmp.c_str(), history_path_.c_str()) != 0) {
    std::fprintf(stderr, "claimmatch: could not save the query history to %s\n",
                 history_path_.c_str());
    std::remove(tmp.c_str());
  }
}

bool LineReader::Read(std::string* line) {
  char* raw = readline(prompt_.c_str());
  if (raw == nullptr) return false;
  *line = raw;
  std::free(raw);
  if (!line->empty() && line->back() == '\r') line->pop_back();
  if (!line->empty() && *line != last_added_) {
    add_history(line->c_str());
    last_added_ = *line;
  }
  return true;
}

std::string DefaultHistoryPath() {
  if (const char* env = std::getenv("CLAIMMATCH_HISTORY"); env != nullptr) return env;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state == '/') {
    return std::string(state) + "/claimmatch/history";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') {
    return std::string(home) + "/.local/state/claimmatch/history";
  }
  return "";
}

}  // namespace claimmatch::cli
