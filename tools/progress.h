// A progress bar for long jobs, drawn on stderr only when stderr is a terminal (never mixed into
// piped output), at most 10 times a second: label, bar, done/total, rate, ETA.
// Not thread-safe: call Update() from one thread.
#ifndef CLAIMMATCH_TOOLS_PROGRESS_H_
#define CLAIMMATCH_TOOLS_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace claimmatch::cli {

class ProgressBar {
 public:
  // `enabled` false (e.g. --quiet) draws nothing even on a terminal.
  ProgressBar(std::string label, std::string unit, bool enabled);
  ~ProgressBar();  // clears the line
  void Update(int64_t done, int64_t total);
  void Finish();
  double seconds() const;

 private:
  std::string label_, unit_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Formats 1234567 as "1,234,567".
std::string WithCommas(int64_t n);

}  // namespace claimmatch::cli

#endif  // CLAIMMATCH_TOOLS_PROGRESS_H_
