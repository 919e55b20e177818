// Sentence segmentation for `claimmatch flag`: splits UTF-8 text (an article, one paragraph per
// line) into sentences that can each be matched against fact-checked claims.
//
//   1. Lines: every line terminator (LF, CR, CRLF, NEL U+0085, LS U+2028, PS U+2029) ends a
//      sentence, so a sentence never spans two lines, whatever the rules below say.
//   2. Within a line, ICU's sentence BreakIterator (Unicode UAX #29 rules plus the locale's
//      tailoring) finds the boundaries: "." "?" "!" and the sentence terminators of other scripts
//      (Chinese/Japanese "。", Devanagari danda "।", Arabic "؟", ...). A closing quote stays with
//      its sentence (`He said: "We won." Then he left.` is two sentences, the first ending at `"`);
//      "3.14%", "example.com/a.b" and "..." followed by a lowercase word do not end a sentence;
//      "..." followed by an uppercase word does; the single character "…" (U+2026) never does.
//   3. Abbreviations: a boundary right after one of the locale's standard sentence-break
//      suppressions (the CLDR "exceptions/SentenceBreak" list in ICU's data, the one ICU's
//      FilteredBreakIteratorBuilder uses: English "Mr.", "Prof.", "U.S.", "a.m." ...; German
//      "Dr.", "z.B." ...) is removed, so "Mr. Smith met Dr. Jones in the U.S. yesterday." is one
//      sentence. English also gets a few news abbreviations CLDR lacks ("Dr.", "Gen.", "Sen.",
//      "Gov.", "Jr.", "St.", "e.g.", "i.e." ...). Unlike FilteredBreakIteratorBuilder (which this
//      replaces: it also matches inside words, so German "am." joined "Er kam. Dann ging er.", and
//      in ICU 72 it never suppresses after "U.S."), the abbreviation must start the line or
//      follow a character that is not a letter or digit. The suppression is unconditional: "He
//      moved to the U.S. Then he left." is one sentence, and so, because CLDR's English list also
//      holds "OK.", "Is.", "I." and single capitals, is "Is it OK. Yes.". Locales without a list
//      ("zh", "hi") and unknown locales get none (never the process's default locale's list).
//   3b. URLs: no boundary falls inside a URL ("http://", "https://" or "www." up to the next
//      space), so "See https://example.com/a?b=1. Done!" ends after "1.".
//   4. Each piece is trimmed of surrounding Unicode White_Space (and U+FEFF, a byte-order mark);
//      pieces that are empty after trimming are dropped, so empty or all-whitespace input yields no
//      sentences.
//
// Offsets. `begin`/`end` are UTF-8 byte offsets into the original input: `utf8_text.substr(begin,
// end - begin)` is the sentence. `char_begin`/`char_end` count Unicode code points from the start
// of the input instead (what JSON consumers in Python or JavaScript index strings by; JavaScript
// counts UTF-16 units, which differ only for characters outside the BMP).
//
// Invalid UTF-8 is not rejected: each maximal ill-formed subsequence (as ICU's U8_NEXT defines it)
// is read as one U+FFFD. Offsets still index the original bytes (an ill-formed subsequence counts
// as one code point for `char_begin`/`char_end`), and `text` holds the sentence with U+FFFD in
// place of the ill-formed bytes, so `text` is always valid UTF-8; it equals the input bytes
// whenever the input is valid.
//
// Should ICU fail to build an iterator (missing ICU data), each line is one sentence.
//
// Thread safety: SplitSentences is a pure function and may be called concurrently. Each call
// builds its own ICU iterator and reads the suppression list (about 15 us for a short text on the
// dev machine), so split a whole article per call, not one sentence at a time.
#ifndef CLAIMMATCH_ENGINE_SENTENCE_SPLITTER_H_
#define CLAIMMATCH_ENGINE_SENTENCE_SPLITTER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace claimmatch {

struct Sentence {
  size_t begin = 0;       // UTF-8 byte offset of the first byte, in the original input
  size_t end = 0;         // UTF-8 byte offset one past the last byte
  size_t char_begin = 0;  // the same positions counted in code points
  size_t char_end = 0;
  std::string text;  // the sentence, valid UTF-8 (ill-formed input bytes replaced by U+FFFD)

  friend bool operator==(const Sentence& a, const Sentence& b) {
    return a.begin == b.begin && a.end == b.end && a.char_begin == b.char_begin &&
           a.char_end == b.char_end && a.text == b.text;
  }
};

// Returns the sentences of `utf8_text` in order, using the break rules and abbreviation
// suppressions of `locale` (an ICU/BCP 47 id: "en", "de", "en_US", "fr-CA"); never fails (see the
// file comment for invalid UTF-8, unknown locales and empty input).
std::vector<Sentence> SplitSentences(absl::string_view utf8_text, absl::string_view locale = "en");

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_SENTENCE_SPLITTER_H_
