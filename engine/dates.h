// Claim and review dates: fact-check exports write them in many ways ("2021-03-04T10:00:00Z",
// "October 5, 2020", "5 Oct. 2020", "2020/10/05"); the store keeps ISO 8601 calendar dates so that
// date filters compare them as strings ("2020" <= "2020-10-05" on the bound's length).
//
// NormalizeDate understands:
//   - ISO 8601: YYYY, YYYY-MM, YYYY-MM-DD, optionally followed by a time ("T10:00:00Z",
//     " 10:00"), which is dropped (the date as written, no time-zone shift);
//   - ISO 8601's basic form YYYYMMDD; year first with '/' or '.': YYYY/MM/DD, YYYY.MM.DD;
//   - English month names or their 3-letter abbreviations (a trailing '.' allowed), with an
//     optional leading weekday and ordinal suffixes: "October 5, 2020", "Oct 5th 2020",
//     "Monday, 5 October 2020", "5 Oct. 2020", "21February 2009", "October 2020";
//   - day and month as numbers (DD/MM/YYYY or MM/DD/YYYY, '/', '-' or '.') only when one of the two
//     is above 12: "25/10/2020" and "10/25/2020" are 2020-10-25, "05/10/2020" is ambiguous.
// Anything else (including impossible dates such as 2021-02-29) is not a date: "".
//
// Thread safety: pure functions.
#ifndef CLAIMMATCH_ENGINE_DATES_H_
#define CLAIMMATCH_ENGINE_DATES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace claimmatch {

// Returns `raw` as "YYYY-MM-DD", "YYYY-MM" or "YYYY" (as precise as it is), or "" when it is not a
// date in one of the forms above (surrounding whitespace ignored).
std::string NormalizeDate(absl::string_view raw);

// Returns whether `date` is exactly "YYYY", "YYYY-MM" or "YYYY-MM-DD" with a real month and day:
// what a date filter bound must be, and what NormalizeDate returns.
bool IsIsoDate(absl::string_view date);

// Returns the day number (days since 1970-01-01) of a full "YYYY-MM-DD" date, or nullopt for a
// partial ("YYYY", "YYYY-MM") or invalid one.
std::optional<int64_t> DayNumber(absl::string_view iso_date);

// Returns the day number of a date as a user writes it (DayNumber of NormalizeDate(raw)), or
// nullopt when NormalizeDate does not read it as a full day.
std::optional<int64_t> ReadDay(absl::string_view raw);

// Returns the date of the trailing signature of an embedded tweet, "— Name (@handle) Month D,
// YYYY" (embeddings/text_clean.h TweetSignatureStart; the date after its last ')'), as
// NormalizeDate gives it; "" when the text ends in no such signature. Closing '"' after the
// date (a quoted field's) are ignored.
std::string TweetSignatureDate(absl::string_view text);

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_DATES_H_
