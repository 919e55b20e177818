// Reading the queries of the interactive `lookup` prompt: line editing (arrows, Ctrl-A/E, ...)
// and a history that persists across sessions, through libedit's readline interface (BSD
// licensed). Used only when stdin is a terminal; pipes are read with std::getline instead.
//
// The history file holds one query per line (at most kMaxHistory, oldest dropped); it is written
// atomically (temp file, rename) when the reader is destroyed. Not thread-safe: one reader per
// process (libedit keeps global state).
#ifndef CLAIMMATCH_TOOLS_LINE_READER_H_
#define CLAIMMATCH_TOOLS_LINE_READER_H_

#include <string>

namespace claimmatch::cli {

class LineReader {
 public:
  static constexpr int kMaxHistory = 1000;

  // `prompt` is shown before each line (on stderr); `history_path` "" keeps no history.
  LineReader(std::string prompt, std::string history_path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Returns true with the line (without its newline) in `line`; false at end of input (Ctrl-D).
  bool Read(std::string* line);

 private:
  std::string prompt_;
  std::string history_path_;
  std::string last_added_;
};

// $CLAIMMATCH_HISTORY if set ("" disables history), else $XDG_STATE_HOME/claimmatch/history,
// else ~/.local/state/claimmatch/history; "" when none of these can be formed.
std::string DefaultHistoryPath();

}  // namespace claimmatch::cli

#endif  // CLAIMMATCH_TOOLS_LINE_READER_H_
