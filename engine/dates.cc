#include "engine/dates.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "embeddings/text_clean.h"

namespace claimmatch {
namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// "YYYY-MM-DD" (day > 0), "YYYY-MM" (day 0, month > 0) or "YYYY"; "" when out of range.
std::string Format(int y, int m, int d) {
  if (y < 1000 || y > 9999 || m < 0 || m > 12 || d < 0 || (m == 0 && d > 0)) return "";
  if (m == 0) return absl::StrFormat("%04d", y);
  if (d == 0) return absl::StrFormat("%04d-%02d", y, m);
  if (d > DaysInMonth(y, m)) return "";
  return absl::StrFormat("%04d-%02d-%02d", y, m, d);
}

bool AllDigits(absl::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

int Number(absl::string_view s) {
  int v = 0;
  return absl::SimpleAtoi(s, &v) ? v : -1;
}

// Month number (1-12) of an English month name or 3-letter abbreviation ("Sept" too), else 0.
int MonthOfName(absl::string_view word) {
  static constexpr absl::string_view kMonths[] = {"january",   "february", "march",    "april",
                                                  "may",       "june",     "july",     "august",
                                                  "september", "october",  "november", "december"};
  const std::string w = absl::AsciiStrToLower(word);
  for (int m = 0; m < 12; ++m) {
    if (w == kMonths[m] || (w.size() == 3 && w == kMonths[m].substr(0, 3))) return m + 1;
  }
  return w == "sept" ? 9 : 0;
}

bool IsWeekday(absl::string_view word) {
  static constexpr absl::string_view kDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                                "friday", "saturday", "sunday"};
  const std::string w = absl::AsciiStrToLower(word);
  for (absl::string_view d : kDays) {
    if (w == d || (w.size() == 3 && w == d.substr(0, 3))) return true;
  }
  return false;
}

// A day of the month written "5", "05" or "5th" / "1st" / "2nd" / "3rd"; -1 otherwise.
int DayOfMonth(absl::string_view word) {
  for (absl::string_view suffix : {"st", "nd", "rd", "th"}) {
    if (absl::ConsumeSuffix(&word, suffix)) break;
  }
  if (word.empty() || word.size() > 2 || !AllDigits(word, word.size())) return -1;
  return Number(word);
}

// ISO 8601 date, maybe followed by a time: "YYYY[-MM[-DD]][(T| )...]".
std::string IsoPrefix(absl::string_view s) {
  size_t end = s.find_first_of("T ");
  if (end != absl::string_view::npos) {
    if (end != 10) return "";  // a time follows only a full date
    s = s.substr(0, end);
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(s, '-');
  if (parts.size() > 3 || !AllDigits(parts[0], 4)) return "";
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!AllDigits(parts[i], 2)) return "";
  }
  return Format(Number(parts[0]), parts.size() > 1 ? Number(parts[1]) : 0,
                parts.size() > 2 ? Number(parts[2]) : 0);
}

// Three numbers separated by '/', '.' or '-' (not ISO): year first, or day and month in either
// order when one is above 12.
std::string NumericDate(absl::string_view s) {
  const std::vector<absl::string_view> parts = absl::StrSplit(s, absl::ByAnyChar("/.-"));
  if (parts.size() != 3) return "";
  for (absl::string_view p : parts) {
    if (p.empty() || p.size() > 4 || !AllDigits(p, p.size())) return "";
  }
  if (parts[0].size() == 4) {
    if (parts[1].size() > 2 || parts[2].size() > 2) return "";
    return Format(Number(parts[0]), Number(parts[1]), Number(parts[2]));
  }
  if (parts[2].size() != 4 || parts[0].size() > 2 || parts[1].size() > 2) return "";
  const int a = Number(parts[0]), b = Number(parts[1]), y = Number(parts[2]);
  if (a < 1 || b < 1) return "";
  if (a > 12 && b <= 12) return Format(y, b, a);
  if (b > 12 && a <= 12) return Format(y, a, b);
  return "";  // ambiguous (both <= 12) or impossible
}

// Words with a month name: [weekday] (Month D[,] YYYY | D Month[,] YYYY | Month[,] YYYY).
std::string WordDate(absl::string_view s) {
  std::vector<std::string> words;
  for (absl::string_view w : absl::StrSplit(s, absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
    absl::ConsumeSuffix(&w, ".");
    // A day run into its month ("21February", as some exports write it) is two words.
    size_t digits = 0;
    while (digits < w.size() && absl::ascii_isdigit(w[digits])) ++digits;
    if (digits > 0 && digits <= 2 && digits < w.size() && MonthOfName(w.substr(digits)) != 0) {
      words.emplace_back(w.substr(0, digits));
      w.remove_prefix(digits);
    }
    if (!w.empty()) words.emplace_back(w);
  }
  if (!words.empty() && IsWeekday(words[0])) words.erase(words.begin());
  if (words.size() == 2) {
    const int m = MonthOfName(words[0]);
    if (m == 0 || !AllDigits(words[1], 4)) return "";
    return Format(Number(words[1]), m, 0);
  }
  if (words.size() != 3 || !AllDigits(words[2], 4)) return "";
  const int y = Number(words[2]);
  if (const int m = MonthOfName(words[0]); m != 0) {
    const int d = DayOfMonth(words[1]);
    return d >= 1 ? Format(y, m, d) : "";
  }
  if (const int m = MonthOfName(words[1]); m != 0) {
    const int d = DayOfMonth(words[0]);
    return d >= 1 ? Format(y, m, d) : "";
  }
  return "";
}

}  // namespace

std::string NormalizeDate(absl::string_view raw) {
  const absl::string_view s = absl::StripAsciiWhitespace(raw);
  if (s.empty()) return "";
  if (s.size() >= 4 && AllDigits(s.substr(0, 4), 4) && (s.size() == 4 || s[4] == '-')) {
    if (std::string iso = IsoPrefix(s); !iso.empty()) return iso;
  }
  if (AllDigits(s, 8)) {  // ISO 8601 basic format: YYYYMMDD
    return Format(Number(s.substr(0, 4)), Number(s.substr(4, 2)), Number(s.substr(6, 2)));
  }
  if (absl::ascii_isdigit(s[0]) && s.find(' ') == absl::string_view::npos) {
    return NumericDate(s);
  }
  return WordDate(s);
}

bool IsIsoDate(absl::string_view date) {
  if (date.size() != 4 && date.size() != 7 && date.size() != 10) return false;
  return IsoPrefix(date) == date;
}

std::optional<int64_t> DayNumber(absl::string_view iso_date) {
  if (iso_date.size() != 10 || !IsIsoDate(iso_date)) return std::nullopt;
  int y = 0, m = 0, d = 0;
  if (!absl::SimpleAtoi(iso_date.substr(0, 4), &y) ||
      !absl::SimpleAtoi(iso_date.substr(5, 2), &m) ||
      !absl::SimpleAtoi(iso_date.substr(8, 2), &d)) {
    return std::nullopt;
  }
  return absl::CivilDay(y, m, d) - absl::CivilDay(1970, 1, 1);
}

std::optional<int64_t> ReadDay(absl::string_view raw) { return DayNumber(NormalizeDate(raw)); }

std::string TweetSignatureDate(absl::string_view text) {
  text = absl::StripTrailingAsciiWhitespace(text);
  while (!text.empty() && text.back() == '"') {  // the closing quote of a quoted field
    text.remove_suffix(1);
    text = absl::StripTrailingAsciiWhitespace(text);
  }
  const size_t start = TweetSignatureStart(text);
  if (start == text.size()) return "";
  const absl::string_view tail = text.substr(start);  // holds "(@"
  const size_t close = tail.rfind(')');
  if (close == absl::string_view::npos || close < tail.find("(@")) return "";
  return NormalizeDate(tail.substr(close + 1));
}

}  // namespace claimmatch
