#include "engine/sentence_splitter.h"

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/udata.h>
#include <unicode/unistr.h>
#include <unicode/ures.h>
#include <unicode/utext.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "embeddings/utf8.h"

namespace claimmatch {
namespace {

// The input as UTF-16 for ICU, with the way back: for each UTF-16 unit (and one past the end), the
// byte offset and the code point index where its code point starts in the original input.
struct Utf16Text {
  std::u16string units;
  std::vector<size_t> byte_at;
  std::vector<size_t> char_at;
};

Utf16Text Decode(absl::string_view s) {
  Utf16Text t;
  t.units.reserve(s.size());
  t.byte_at.reserve(s.size() + 1);
  t.char_at.reserve(s.size() + 1);
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const int64_t n = static_cast<int64_t>(s.size());
  size_t n_chars = 0;
  for (int64_t i = 0; i < n;) {
    const size_t start = static_cast<size_t>(i);
    UChar32 c;
    U8_NEXT(bytes, i, n, c);  // advances over one maximal ill-formed subsequence when c < 0
    if (c < 0) c = 0xFFFD;
    if (U_IS_BMP(c)) {
      t.units.push_back(static_cast<char16_t>(c));
      t.byte_at.push_back(start);
      t.char_at.push_back(n_chars);
    } else {
      t.units.push_back(U16_LEAD(c));
      t.units.push_back(U16_TRAIL(c));
      t.byte_at.insert(t.byte_at.end(), 2, start);
      t.char_at.insert(t.char_at.end(), 2, n_chars);
    }
    ++n_chars;
  }
  t.byte_at.push_back(s.size());
  t.char_at.push_back(n_chars);
  return t;
}

bool IsLineTerminator(char16_t u) {
  return u == u'\n' || u == u'\r' || u == 0x0085 || u == 0x2028 || u == 0x2029;
}

// All White_Space characters are in the BMP, so a unit test suffices (surrogates are not spaces).
bool IsTrimmed(char16_t u) { return u_isUWhiteSpace(u) || u == 0xFEFF; }

// Abbreviations missing from CLDR's English list (which has "Mr.", "Mrs.", "Prof.", "U.S.", "vs."
// ...) that news text puts before a capitalised word far more often than at a sentence's end.
constexpr std::u16string_view kExtraEnglishSuppressions[] = {
    u"Adm.", u"Atty.", u"Cmdr.", u"Dr.",  u"Drs.",  u"E.U.", u"Ft.",
    u"Gen.", u"Gov.",  u"Hon.",  u"Jr.",  u"Pres.", u"Sen.", u"Sens.",
    u"Sr.",  u"St.",   u"Supt.", u"U.K.", u"U.N.",  u"e.g.", u"i.e.",
};

// The locale's standard sentence-break suppressions: the CLDR list "exceptions/SentenceBreak" in
// ICU's break-iterator data (what FilteredBreakIteratorBuilder::createInstance loads), found with
// the usual fallback (en_US -> en) but never from the process's default locale; plus
// kExtraEnglishSuppressions for English.
std::vector<std::u16string> Suppressions(const icu::Locale& loc) {
  std::vector<std::u16string> out;
  if (absl::string_view(loc.getLanguage()) == "en") {
    out.assign(std::begin(kExtraEnglishSuppressions), std::end(kExtraEnglishSuppressions));
  }
  struct Closer {
    void operator()(UResourceBundle* b) const { ures_close(b); }
  };
  using Bundle = std::unique_ptr<UResourceBundle, Closer>;
  UErrorCode status = U_ZERO_ERROR;
  const Bundle root(
      ures_open(U_ICUDATA_NAME U_TREE_SEPARATOR_STRING "brkitr", loc.getName(), &status));
  if (U_FAILURE(status) || status == U_USING_DEFAULT_WARNING) return out;
  const Bundle exceptions(ures_getByKey(root.get(), "exceptions", nullptr, &status));
  const Bundle list(ures_getByKey(exceptions.get(), "SentenceBreak", nullptr, &status));
  if (U_FAILURE(status)) return out;
  while (ures_hasNext(list.get())) {
    int32_t length = 0;
    const UChar* entry = ures_getNextString(list.get(), &length, nullptr, &status);
    if (U_FAILURE(status)) break;
    out.emplace_back(reinterpret_cast<const char16_t*>(entry), static_cast<size_t>(length));
  }
  return out;
}

// Returns true if the text of `line` before a boundary at unit `p`, less trailing whitespace, ends
// with one of `suppressions` that starts the line or follows a character that is not a letter or
// digit. (FilteredBreakIteratorBuilder skips that check, so its German "am." suppresses the
// boundary in "Er kam. Dann ging er.", and in ICU 72 it never suppresses after "U.S.".)
bool AfterAbbreviation(std::u16string_view line, size_t p,
                       const std::vector<std::u16string>& suppressions) {
  size_t e = p;
  while (e > 0 && IsTrimmed(line[e - 1])) --e;
  const std::u16string_view before = line.substr(0, e);
  for (std::u16string_view abbreviation : suppressions) {
    if (abbreviation.empty() || before.size() < abbreviation.size()) continue;
    const size_t b = before.size() - abbreviation.size();
    if (before.substr(b) == abbreviation && (b == 0 || !u_isalnum(before[b - 1]))) return true;
  }
  return false;
}

// Returns true if a boundary at unit `p` of `line` falls strictly inside a URL (a run of
// non-space characters starting with "http://", "https://" or "www.", case-insensitively, at the
// start of the line or after a character that is not a letter or digit).
bool InsideUrl(std::u16string_view line, size_t p) {
  static constexpr std::u16string_view kPrefixes[] = {u"http://", u"https://", u"www."};
  auto starts_url = [&](size_t i) {
    if (i > 0 && u_isalnum(line[i - 1])) return false;
    for (std::u16string_view prefix : kPrefixes) {
      if (line.size() - i < prefix.size()) continue;
      bool match = true;
      for (size_t j = 0; j < prefix.size() && match; ++j) {
        match = u_tolower(line[i + j]) == prefix[j];
      }
      if (match) return true;
    }
    return false;
  };
  // The URL containing p, if any, starts after the last space before p.
  size_t b = p;
  while (b > 0 && !IsTrimmed(line[b - 1])) --b;
  for (size_t i = b; i < p; ++i) {
    if (starts_url(i)) return p < line.size() && !IsTrimmed(line[p]);
  }
  return false;
}

}  // namespace

std::vector<Sentence> SplitSentences(absl::string_view utf8_text, absl::string_view locale) {
  std::vector<Sentence> sentences;
  if (utf8_text.empty()) return sentences;
  const Utf16Text t = Decode(utf8_text);
  const bool valid = IsValidUtf8(utf8_text);
  const icu::Locale loc(std::string(locale).c_str());
  UErrorCode create_status = U_ZERO_ERROR;
  std::unique_ptr<icu::BreakIterator> it(
      icu::BreakIterator::createSentenceInstance(loc, create_status));
  if (U_FAILURE(create_status)) it.reset();
  const std::vector<std::u16string> suppressions = Suppressions(loc);

  // Emits the units [b, e) trimmed, if anything is left.
  auto emit = [&](size_t b, size_t e) {
    while (b < e && IsTrimmed(t.units[b])) ++b;
    while (e > b && IsTrimmed(t.units[e - 1])) --e;
    if (b == e) return;
    Sentence s;
    s.begin = t.byte_at[b];
    s.end = t.byte_at[e];
    s.char_begin = t.char_at[b];
    s.char_end = t.char_at[e];
    if (valid) {
      s.text = std::string(utf8_text.substr(s.begin, s.end - s.begin));
    } else {
      icu::UnicodeString(false, t.units.data() + b, static_cast<int32_t>(e - b))
          .toUTF8String(s.text);
    }
    sentences.push_back(std::move(s));
  };

  const size_t n = t.units.size();
  size_t line_begin = 0;
  while (line_begin < n) {
    size_t line_end = line_begin;
    while (line_end < n && !IsLineTerminator(t.units[line_end])) ++line_end;
    // ICU indexes UTF-16 with int32_t; a longer line (over 2 GiB of text) stays one piece.
    if (it != nullptr && line_end > line_begin && line_end - line_begin <= INT32_MAX) {
      UErrorCode status = U_ZERO_ERROR;
      UText ut = UTEXT_INITIALIZER;  // setText clones it shallowly; `t.units` outlives `it`
      utext_openUChars(&ut, reinterpret_cast<const UChar*>(t.units.data() + line_begin),
                       static_cast<int64_t>(line_end - line_begin), &status);
      it->setText(&ut, status);
      if (U_SUCCESS(status)) {
        const std::u16string_view line(t.units.data() + line_begin, line_end - line_begin);
        int32_t start = it->first();
        for (int32_t stop = it->next(); stop != icu::BreakIterator::DONE; stop = it->next()) {
          if (InsideUrl(line, stop) || AfterAbbreviation(line, stop, suppressions)) {
            continue;
          }
          emit(line_begin + start, line_begin + stop);
          start = stop;
        }
        // The filter may suppress the boundary at the end of the line itself ("Dr.").
        emit(line_begin + start, line_end);
      } else {
        emit(line_begin, line_end);
      }
      utext_close(&ut);
    } else {
      emit(line_begin, line_end);
    }
    line_begin = line_end + 1;  // a CRLF leaves an empty line, which emits nothing
  }
  return sentences;
}

}  // namespace claimmatch
