#include "engine/text_analysis.h"

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/unorm2.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace claimmatch {
namespace {

// ---------------------------------------------------------------------------------------------
// Porter stemmer (semantics of FTS5's porter tokenizer, which follows Porter's reference C code).

bool IsVowel(char c, bool y_is_vowel) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || (y_is_vowel && c == 'y');
}

// m, the number of vowel-consonant sequences of w[0, n); 'y' is a vowel after a consonant.
int Measure(const char* w, size_t n) {
  int m = 0;
  bool prev_consonant = false;
  bool in_vowels = false;
  for (size_t i = 0; i < n; ++i) {
    const bool consonant = !IsVowel(w[i], prev_consonant);
    if (!consonant) {
      in_vowels = true;
    } else if (in_vowels) {
      ++m;
      in_vowels = false;
    }
    prev_consonant = consonant;
  }
  return m;
}

// *v*: w[0, n) contains a vowel ('y' counts as one anywhere but at the start, as in FTS5).
bool HasVowel(const char* w, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (IsVowel(w[i], i > 0)) return true;
  }
  return false;
}

// *o: w[0, n) ends consonant-vowel-consonant, the last consonant not w, x or y.
bool EndsCvc(const char* w, size_t n) {
  if (n < 3) return false;
  const char last = w[n - 1];
  if (last == 'w' || last == 'x' || last == 'y') return false;
  unsigned mask = 0;
  bool consonant = false;
  for (size_t i = 0; i < n; ++i) {
    consonant = !IsVowel(w[i], consonant);
    mask = (mask << 1) | (consonant ? 1u : 0u);
  }
  return (mask & 7u) == 5u;
}

// w[0, n) ends with `suffix` and is longer. The last letters are compared first, inline: most of
// the 47 rules of steps 2-4 are rejected by one comparison (a memcmp call per rule was 8% of a 1M
// lookup's CPU, stemming its candidates).
bool EndsWith(const char* w, size_t n, absl::string_view suffix) {
  const size_t k = suffix.size();
  if (n <= k) return false;
  for (size_t i = k; i > 0; --i) {
    if (w[n - k + i - 1] != suffix[i - 1]) return false;
  }
  return true;
}

enum class Cond { kMGt0, kMGt1, kMGt1AndSOrT };

struct Rule {
  absl::string_view suffix;
  absl::string_view replacement;
  Cond cond;
};

bool Holds(Cond cond, const char* w, size_t stem) {
  switch (cond) {
    case Cond::kMGt0:
      return Measure(w, stem) > 0;
    case Cond::kMGt1:
      return Measure(w, stem) > 1;
    case Cond::kMGt1AndSOrT:
      return stem > 0 && (w[stem - 1] == 's' || w[stem - 1] == 't') && Measure(w, stem) > 1;
  }
  return false;
}

// The first rule whose suffix ends the word (and is shorter than it) decides; if its condition
// fails the word is left alone.
template <size_t N>
void ApplyFirstMatch(const std::array<Rule, N>& rules, char* w, size_t* n) {
  for (const Rule& r : rules) {
    if (!EndsWith(w, *n, r.suffix)) continue;
    const size_t stem = *n - r.suffix.size();
    if (Holds(r.cond, w, stem)) {
      std::memcpy(w + stem, r.replacement.data(), r.replacement.size());
      *n = stem + r.replacement.size();
    }
    return;
  }
}

constexpr std::array<Rule, 21> kStep2 = {{
    {"ational", "ate", Cond::kMGt0}, {"tional", "tion", Cond::kMGt0},
    {"enci", "ence", Cond::kMGt0},   {"anci", "ance", Cond::kMGt0},
    {"izer", "ize", Cond::kMGt0},    {"logi", "log", Cond::kMGt0},
    {"bli", "ble", Cond::kMGt0},     {"alli", "al", Cond::kMGt0},
    {"entli", "ent", Cond::kMGt0},   {"eli", "e", Cond::kMGt0},
    {"ousli", "ous", Cond::kMGt0},   {"ization", "ize", Cond::kMGt0},
    {"ation", "ate", Cond::kMGt0},   {"ator", "ate", Cond::kMGt0},
    {"alism", "al", Cond::kMGt0},    {"iveness", "ive", Cond::kMGt0},
    {"fulness", "ful", Cond::kMGt0}, {"ousness", "ous", Cond::kMGt0},
    {"aliti", "al", Cond::kMGt0},    {"iviti", "ive", Cond::kMGt0},
    {"biliti", "ble", Cond::kMGt0},
}};

constexpr std::array<Rule, 7> kStep3 = {{
    {"ical", "ic", Cond::kMGt0},
    {"ness", "", Cond::kMGt0},
    {"icate", "ic", Cond::kMGt0},
    {"iciti", "ic", Cond::kMGt0},
    {"ful", "", Cond::kMGt0},
    {"ative", "", Cond::kMGt0},
    {"alize", "al", Cond::kMGt0},
}};

constexpr std::array<Rule, 19> kStep4 = {{
    {"al", "", Cond::kMGt1},   {"ance", "", Cond::kMGt1}, {"ence", "", Cond::kMGt1},
    {"er", "", Cond::kMGt1},   {"ic", "", Cond::kMGt1},   {"able", "", Cond::kMGt1},
    {"ible", "", Cond::kMGt1}, {"ant", "", Cond::kMGt1},  {"ement", "", Cond::kMGt1},
    {"ment", "", Cond::kMGt1}, {"ent", "", Cond::kMGt1},  {"ion", "", Cond::kMGt1AndSOrT},
    {"ou", "", Cond::kMGt1},   {"ism", "", Cond::kMGt1},  {"ate", "", Cond::kMGt1},
    {"iti", "", Cond::kMGt1},  {"ous", "", Cond::kMGt1},  {"ive", "", Cond::kMGt1},
    {"ize", "", Cond::kMGt1},
}};

void Step1a(const char* w, size_t* n) {
  const size_t len = *n;
  if (w[len - 1] != 's') return;
  if (w[len - 2] == 'e') {
    const bool sses = len > 4 && w[len - 4] == 's' && w[len - 3] == 's';
    const bool ies = len > 3 && w[len - 3] == 'i';
    *n = (sses || ies) ? len - 2 : len - 1;
  } else if (w[len - 2] != 's') {
    *n = len - 1;
  }
}

void Step1b(char* w, size_t* n) {
  bool removed = false;
  if (EndsWith(w, *n, "eed")) {
    if (Measure(w, *n - 3) > 0) *n -= 1;  // "eed" -> "ee"
  } else if (EndsWith(w, *n, "ed")) {
    if (HasVowel(w, *n - 2)) {
      *n -= 2;
      removed = true;
    }
  } else if (EndsWith(w, *n, "ing")) {
    if (HasVowel(w, *n - 3)) {
      *n -= 3;
      removed = true;
    }
  }
  if (!removed) return;
  if (EndsWith(w, *n, "at") || EndsWith(w, *n, "bl") || EndsWith(w, *n, "iz")) {
    w[(*n)++] = 'e';
    return;
  }
  if (*n < 2) return;
  const char c = w[*n - 1];
  if (!IsVowel(c, false) && c != 'l' && c != 's' && c != 'z' && c == w[*n - 2]) {
    *n -= 1;
  } else if (Measure(w, *n) == 1 && EndsCvc(w, *n)) {
    w[(*n)++] = 'e';
  }
}

// ---------------------------------------------------------------------------------------------
// Unicode folding.

// Per-code-point action: 0 separates tokens, kDropChar is a diacritic dropped inside a token, any
// other value is the folded code point to emit.
constexpr uint32_t kSeparator = 0;
constexpr uint32_t kDropChar = 0xFFFFFFFFu;

bool IsDiacriticBlock(UChar32 c) {
  return (c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
         (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x20D0 && c <= 0x20FF) ||
         (c >= 0xFE20 && c <= 0xFE2F);
}

uint32_t ClassifySlow(UChar32 c) {
  const int8_t type = u_charType(c);
  switch (type) {
    case U_NON_SPACING_MARK:
    case U_COMBINING_SPACING_MARK:
    case U_ENCLOSING_MARK:
      return IsDiacriticBlock(c) ? kDropChar : static_cast<uint32_t>(c);
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
    case U_PRIVATE_USE_CHAR:
      break;
    default:
      return kSeparator;
  }
  UChar32 base = c;
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* nfd = unorm2_getNFDInstance(&status);
  if (U_SUCCESS(status)) {
    UChar buf[32];
    const int32_t len = unorm2_getDecomposition(nfd, c, buf, 32, &status);
    if (U_SUCCESS(status) && len > 0) {
      int32_t i = 0;
      UChar32 first;
      U16_NEXT(buf, i, len, first);
      bool only_diacritics = true;
      while (i < len) {
        UChar32 next;
        U16_NEXT(buf, i, len, next);
        if (!IsDiacriticBlock(next)) only_diacritics = false;
      }
      if (only_diacritics && i > 0) base = first;
    }
  }
  const UChar32 lower = u_tolower(base);
  return lower == 0 ? kSeparator : static_cast<uint32_t>(lower);
}

// The Basic Multilingual Plane's actions, computed once; other planes are classified per call.
const std::vector<uint32_t>& BmpTable() {
  static const std::vector<uint32_t>* const table = [] {
    auto* t = new std::vector<uint32_t>(0x10000);
    for (UChar32 c = 0; c < 0x10000; ++c) {
      (*t)[c] = (c >= 0xD800 && c <= 0xDFFF) ? kSeparator : ClassifySlow(c);
    }
    return t;
  }();
  return *table;
}

// Decodes one UTF-8 code point at s[*i]; returns U+FFFD (a separator) for an invalid sequence and
// advances by one byte.
UChar32 DecodeUtf8(const unsigned char* s, size_t n, size_t* i) {
  const unsigned char b0 = s[*i];
  int extra;
  UChar32 c;
  UChar32 min;
  if (b0 < 0xC2) {
    ++*i;
    return 0xFFFD;  // stray continuation byte or overlong lead
  } else if (b0 < 0xE0) {
    extra = 1, c = b0 & 0x1F, min = 0x80;
  } else if (b0 < 0xF0) {
    extra = 2, c = b0 & 0x0F, min = 0x800;
  } else if (b0 < 0xF5) {
    extra = 3, c = b0 & 0x07, min = 0x10000;
  } else {
    ++*i;
    return 0xFFFD;
  }
  if (*i + extra >= n) {
    ++*i;
    return 0xFFFD;
  }
  for (int k = 1; k <= extra; ++k) {
    const unsigned char b = s[*i + k];
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    ++*i;
    return 0xFFFD;
  }
  *i += extra + 1;
  return c;
}

void AppendUtf8(uint32_t c, std::string* out) {
  char buf[4];
  int len;
  if (c < 0x80) {
    buf[0] = static_cast<char>(c), len = 1;
  } else if (c < 0x800) {
    buf[0] = static_cast<char>(0xC0 | (c >> 6));
    buf[1] = static_cast<char>(0x80 | (c & 0x3F)), len = 2;
  } else if (c < 0x10000) {
    buf[0] = static_cast<char>(0xE0 | (c >> 12));
    buf[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    buf[2] = static_cast<char>(0x80 | (c & 0x3F)), len = 3;
  } else {
    buf[0] = static_cast<char>(0xF0 | (c >> 18));
    buf[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    buf[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    buf[3] = static_cast<char>(0x80 | (c & 0x3F)), len = 4;
  }
  out->append(buf, len);
}

// Whether `c` is a character of a script written without spaces between words: Han, Hiragana,
// Katakana (and its half-width forms), Thai, Lao, Khmer, Myanmar; whole blocks, so combining signs
// and the prolonged sound mark stay in the run.
bool IsSpacelessScriptChar(UChar32 c) {
  return (c >= 0x0E00 && c <= 0x0EFF) ||  // Thai, Lao
         (c >= 0x1000 && c <= 0x109F) ||  // Myanmar
         (c >= 0x1780 && c <= 0x17FF) ||  // Khmer
         (c >= 0x3040 && c <= 0x30FF) ||  // Hiragana, Katakana
         (c >= 0x31F0 && c <= 0x31FF) ||  // Katakana phonetic extensions
         (c >= 0x3400 && c <= 0x4DBF) ||  // CJK extension A
         (c >= 0x4E00 && c <= 0x9FFF) ||  // CJK unified ideographs
         (c >= 0xF900 && c <= 0xFAFF) ||  // CJK compatibility ideographs
         (c >= 0xFF66 && c <= 0xFF9F) ||  // half-width Katakana
         (c >= 0x20000 && c <= 0x323AF);  // CJK extensions B..H
}

// Whether AnalyzeText indexes `c` in bigrams: the spaceless scripts and Hangul, whose words carry
// their particles ("백신은", "백신이").
bool IsBigramScriptChar(UChar32 c) {
  return IsSpacelessScriptChar(c) || (c >= 0x1100 && c <= 0x11FF) ||  // Hangul Jamo
         (c >= 0x3130 && c <= 0x318F) ||                              // compatibility Jamo
         (c >= 0xAC00 && c <= 0xD7AF);                                // Hangul syllables
}

// ASCII actions: 0 separates, otherwise the lowercase byte.
constexpr std::array<char, 128> MakeAsciiTable() {
  std::array<char, 128> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<char>(c - 'A' + 'a');
  return t;
}
constexpr std::array<char, 128> kAscii = MakeAsciiTable();

// Tokenizes, folds and stems `text`; emits tokens of at least `min_chars` input code points.
void Analyze(absl::string_view text, int min_chars,
             absl::FunctionRef<void(absl::string_view term)> emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const std::vector<uint32_t>& bmp = BmpTable();
  std::string token;
  token.reserve(64);
  int token_chars = 0;
  auto flush = [&] {
    if (!token.empty() && token_chars >= min_chars) {
      const size_t len = token.size();
      token.push_back('\0');  // room for step 1b's appended 'e'
      const size_t stemmed = PorterStemInPlace(token.data(), len);
      emit(absl::string_view(token.data(), stemmed));
    }
    token.clear();
    token_chars = 0;
  };
  // A run of characters of the bigram scripts: its folded characters, each ending at run_ends[j]
  // in `run`; emitted as overlapping bigrams (a lone character as itself).
  std::string run;
  std::vector<size_t> run_ends;
  std::string bigram;
  auto flush_run = [&] {
    if (run_ends.empty()) return;
    if (run_ends.size() == 1) {
      if (min_chars <= 1) emit(run);
    } else {
      size_t start = 0;
      for (size_t j = 0; j + 1 < run_ends.size(); ++j) {
        bigram.assign(run, start, run_ends[j + 1] - start);
        emit(bigram);
        start = run_ends[j];
      }
    }
    run.clear();
    run_ends.clear();
  };
  size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      ++i;
      flush_run();
      const char folded = kAscii[b];
      if (folded == 0) {
        flush();
      } else {
        token.push_back(folded);
        ++token_chars;
      }
      continue;
    }
    const UChar32 c = DecodeUtf8(s, n, &i);
    const uint32_t action = c < 0x10000 ? bmp[c] : ClassifySlow(c);
    if (action == kSeparator) {
      flush();
      flush_run();
    } else if (IsBigramScriptChar(c)) {
      flush();
      if (action != kDropChar) {
        AppendUtf8(action, &run);
        run_ends.push_back(run.size());
      }
    } else {
      flush_run();
      ++token_chars;
      if (action != kDropChar) AppendUtf8(action, &token);
    }
  }
  flush();
  flush_run();
}

bool IsUnicodeSpace(const unsigned char* s, size_t n, size_t i, size_t* width) {
  const unsigned char b = s[i];
  *width = 1;
  if (b == ' ' || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F)) return true;
  if (b < 0x80) return false;
  size_t j = i;
  const UChar32 c = DecodeUtf8(s, n, &j);
  *width = j - i;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace

size_t PorterStemInPlace(char* word, size_t n) {
  if (n < 3 || n > kPorterMaxTokenBytes) return n;
  Step1a(word, &n);
  Step1b(word, &n);
  if (n >= 1 && word[n - 1] == 'y' && HasVowel(word, n - 1)) word[n - 1] = 'i';
  ApplyFirstMatch(kStep2, word, &n);
  ApplyFirstMatch(kStep3, word, &n);
  ApplyFirstMatch(kStep4, word, &n);
  if (n >= 1 && word[n - 1] == 'e') {
    const int m = Measure(word, n - 1);
    if (m > 1 || (m == 1 && !EndsCvc(word, n - 1))) --n;
  }
  if (n > 1 && word[n - 1] == 'l' && word[n - 2] == 'l' && Measure(word, n - 1) > 1) --n;
  return n;
}

std::string PorterStem(absl::string_view word) {
  std::string buf(word);
  buf.push_back('\0');
  buf.resize(PorterStemInPlace(buf.data(), word.size()));
  return buf;
}

void AnalyzeText(absl::string_view text, absl::FunctionRef<void(absl::string_view term)> emit) {
  Analyze(text, /*min_chars=*/1, emit);
}

std::vector<std::string> AnalyzeToTerms(absl::string_view text) {
  std::vector<std::string> terms;
  AnalyzeText(text, [&terms](absl::string_view t) { terms.emplace_back(t); });
  return terms;
}

std::string RemoveUrls(absl::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  std::string out;
  out.reserve(n);
  size_t i = 0;
  while (i < n) {
    const absl::string_view rest = text.substr(i);
    size_t prefix = 0;
    if (absl::StartsWith(rest, "http://")) {
      prefix = 7;
    } else if (absl::StartsWith(rest, "https://")) {
      prefix = 8;
    } else if (absl::StartsWith(rest, "pic.twitter.com/")) {
      prefix = 16;
    }
    size_t width = 1;
    // `\S+` needs at least one non-space character after the prefix.
    if (prefix != 0 && i + prefix < n && !IsUnicodeSpace(s, n, i + prefix, &width)) {
      i += prefix;
      while (i < n && !IsUnicodeSpace(s, n, i, &width)) i += width;
      out.push_back(' ');
      continue;
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

void AnalyzeQuery(absl::string_view query, absl::FunctionRef<void(absl::string_view term)> emit) {
  Analyze(RemoveUrls(query), /*min_chars=*/2, emit);
}

std::vector<std::string> AnalyzeQueryToTerms(absl::string_view query) {
  std::vector<std::string> terms;
  AnalyzeQuery(query, [&terms](absl::string_view t) { terms.emplace_back(t); });
  return terms;
}

namespace {

// Whether `ascii` holds for a byte below 0x80 or `other` for a code point above, somewhere in
// `text` (invalid UTF-8 decodes as U+FFFD).
template <typename Ascii, typename Other>
bool AnyCodePoint(absl::string_view text, Ascii ascii, Other other) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x80) {
      if (ascii(s[i++])) return true;
    } else if (other(DecodeUtf8(s, n, &i))) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool HoldsBigramScript(absl::string_view text) {
  return AnyCodePoint(
      text, [](unsigned char) { return false; }, IsBigramScriptChar);
}

bool HasLetterOrDigit(absl::string_view text) {
  return AnyCodePoint(
      text, [](unsigned char c) { return absl::ascii_isalnum(c); },
      [](UChar32 c) { return u_isalnum(c) != 0; });
}

namespace {

// A character that continues a word: a letter (Alphabetic), a mark (vowel signs, accents) or a
// decimal digit.
bool IsWordChar(UChar32 c) {
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0 ||
         u_isdigit(c);
}

// The words ICU's word break (root locale: dictionaries for the spaceless scripts) finds in
// `run`, a run of word characters; 1 if the iterator cannot be made.
int DictionaryWords(absl::string_view run) {
  thread_local std::unique_ptr<icu::BreakIterator> words = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> it(
        icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status)) it.reset();
    return it;
  }();
  if (words == nullptr) return 1;
  const icu::UnicodeString text =
      icu::UnicodeString::fromUTF8(icu::StringPiece(run.data(), static_cast<int32_t>(run.size())));
  words->setText(text);
  int n = 0;
  for (int32_t end = words->next(); end != icu::BreakIterator::DONE; end = words->next()) {
    if (words->getRuleStatus() >= UBRK_WORD_NUMBER) ++n;  // number, letter, kana, ideograph
  }
  return std::max(n, 1);
}

}  // namespace

int CountWrittenWords(absl::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  int words = 0;
  size_t start = 0;        // of the current run of word characters
  bool in_run = false;     // whether one is open
  bool spaceless = false;  // whether it holds a character of a spaceless script
  auto end_run = [&](size_t end) {
    if (!in_run) return;
    words += spaceless ? DictionaryWords(text.substr(start, end - start)) : 1;
    in_run = false;
  };
  for (size_t i = 0; i < n;) {
    const size_t at = i;
    bool word;
    UChar32 c;
    if (s[i] < 0x80) {
      c = s[i++];
      word = absl::ascii_isalnum(static_cast<unsigned char>(c));
    } else {
      c = DecodeUtf8(s, n, &i);
      word = IsWordChar(c);
    }
    if (!word) {
      end_run(at);
    } else {
      if (!in_run) {
        in_run = true;
        start = at;
        spaceless = false;
      }
      spaceless = spaceless || IsSpacelessScriptChar(c);
    }
  }
  end_run(n);
  return words;
}

std::vector<std::string> BreakWord(absl::string_view word,
                                   absl::FunctionRef<int64_t(absl::string_view term)> frequency,
                                   int64_t documents) {
  // Each piece adds this to the cost: about e^3 = 20 times less likely per extra piece.
  constexpr double kPiecePenalty = 3.0;
  constexpr int64_t kMinPieceDocuments = 2;
  const size_t n = word.size();
  if (n < kMinBreakWordBytes || n > kPorterMaxTokenBytes || documents <= 0) return {};
  for (char c : word) {
    if (c < 'a' || c > 'z') return {};
  }
  if (frequency(PorterStem(word)) > 0) return {};
  const double common = 0.01 * static_cast<double>(documents);  // for two-letter pieces
  constexpr double kNone = std::numeric_limits<double>::infinity();
  std::vector<double> cost(n + 1, kNone);
  std::vector<size_t> from(n + 1, 0);
  cost[0] = 0;
  for (size_t end = 2; end <= n; ++end) {
    for (size_t begin = 0; begin + 2 <= end; ++begin) {
      if (cost[begin] == kNone) continue;
      const int64_t df = frequency(PorterStem(word.substr(begin, end - begin)));
      if (df < kMinPieceDocuments || (end - begin < 3 && static_cast<double>(df) < common)) {
        continue;
      }
      const double c = cost[begin] + kPiecePenalty -
                       std::log(static_cast<double>(df) / static_cast<double>(documents));
      if (c < cost[end]) {
        cost[end] = c;
        from[end] = begin;
      }
    }
  }
  if (cost[n] == kNone) return {};
  std::vector<std::string> pieces;
  for (size_t end = n; end > 0; end = from[end]) {
    pieces.emplace_back(word.substr(from[end], end - from[end]));
  }
  if (pieces.size() < 2) return {};
  std::reverse(pieces.begin(), pieces.end());
  return pieces;
}

}  // namespace claimmatch
