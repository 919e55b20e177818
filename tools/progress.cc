#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace claimmatch::cli {

std::string WithCommas(int64_t n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

ProgressBar::ProgressBar(std::string label, std::string unit, bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      tty_(enabled && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - std::chrono::seconds(1)) {}

ProgressBar::~ProgressBar() { Finish(); }

double ProgressBar::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::Update(int64_t done, int64_t total) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double secs = seconds();
  const double rate = secs > 0 ? done / secs : 0;
  const double frac = total > 0 ? static_cast<double>(done) / total : 0;
  constexpr int kWidth = 24;
  const int fill = static_cast<int>(frac * kWidth);
  std::string bar(fill, '#');
  bar.resize(kWidth, '.');
  std::string eta = "--";
  if (rate > 0 && total >= done) eta = absl::StrFormat("%.0fs", (total - done) / rate);
  std::fprintf(stderr, "\r%s [%s] %s/%s %s  %s %s/s  ETA %s\x1b[K", label_.c_str(), bar.c_str(),
               WithCommas(done).c_str(), WithCommas(total).c_str(), unit_.c_str(),
               WithCommas(static_cast<int64_t>(rate)).c_str(), unit_.c_str(), eta.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (drawn_) {
    std::fprintf(stderr, "\r\x1b[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace claimmatch::cli
