// Lexical analysis for the BM25 channel, equivalent to SQLite FTS5's `porter unicode61` tokenizer
// except for scripts written without spaces (2b):
//
//   1. Split UTF-8 text into tokens: letters (L*), numbers (N*) and private-use characters (Co)
//      are token characters; everything else separates tokens. Combining diacritical marks
//      (U+0300..036F, 1AB0..1AFF, 1DC0..1DFF, 20D0..20FF, FE20..FE2F) belong to the token they
//      follow and are dropped; other combining marks (Indic vowel signs, kana voicing) are kept as
//      token characters. Invalid UTF-8 bytes are separators.
//   2. Fold each character: canonical decomposition (NFD) with diacritical marks stripped ("é",
//      "ệ" -> "e"; "ø", "ł", "ß" and Hangul stay as they are), then lowercase. Unlike FTS5's
//      default remove_diacritics=1, characters with several diacritics are stripped too.
//   2b. Runs of characters of the scripts written without spaces between words (Han, Hiragana,
//      Katakana, Thai, Lao, Khmer, Myanmar) and of Hangul (whose words carry their particles)
//      become their overlapping bigrams of folded characters ("美國石油" -> "美國", "國石", "石油";
//      "백신은" -> "백신", "신은"; a lone character is itself), as Lucene's CJK analyzer does:
//      FTS5's unicode61 keeps the whole run as one token, which matches nothing but the same run.
//      Such a run also ends any other token it touches ("的DNA" -> "的", "dna").
//   3. Stem tokens of 3..64 bytes with the Porter stemmer exactly as FTS5's porter tokenizer does
//      (Martin Porter's reference C version: "bli" -> "ble", "logi" -> "log"). Its rules only touch
//      ASCII letters, so tokens in other scripts pass through unchanged.
//
// Queries are cleaned as the Python baseline (shared/tools/bm25_fields.py) does: URLs
// (`https?://\S+`, `pic.twitter.com/\S+`) are removed and tokens of a single character (counted in
// input code points, before stemming) are dropped. Python's `\w+` keeps "foo_bar" as one phrase;
// here '_' separates, so it yields the two terms "foo" and "bar".
//
// Terms are lowercase UTF-8 strings. All functions are thread-safe (the Unicode table is built
// once, on first use, under a function-local static).
#ifndef CLAIMMATCH_ENGINE_TEXT_ANALYSIS_H_
#define CLAIMMATCH_ENGINE_TEXT_ANALYSIS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace claimmatch {

// Tokens longer than this many bytes are not stemmed (FTS5_PORTER_MAX_TOKEN).
inline constexpr size_t kPorterMaxTokenBytes = 64;

// Stems the lowercase token `word[0, n)` in place with FTS5's Porter stemmer. Returns the new
// length (<= n); tokens of fewer than 3 or more than kPorterMaxTokenBytes bytes are returned
// unchanged. REQUIRES: `word` has room for n + 1 bytes (step 1b may append an 'e' before later
// steps shorten the token again).
size_t PorterStemInPlace(char* word, size_t n);

// Returns the Porter stem of the lowercase token `word` (see PorterStemInPlace).
std::string PorterStem(absl::string_view word);

// Calls `emit(term)` for every analyzed term of `text`, in order (steps 1-3 above). `term` views a
// buffer that is only valid during the call.
void AnalyzeText(absl::string_view text, absl::FunctionRef<void(absl::string_view term)> emit);

// Returns the analyzed terms of `text` (AnalyzeText collected into strings).
std::vector<std::string> AnalyzeToTerms(absl::string_view text);

// Returns `text` with every URL (`https?://\S+` or `pic.twitter.com/\S+`, case-sensitive as in the
// Python baseline) replaced by one space.
std::string RemoveUrls(absl::string_view text);

// Calls `emit(term)` for the query terms of `query`: URLs removed, then analyzed, dropping tokens
// of one input code point. Duplicates are emitted as often as they occur (FTS5 scores an OR query
// once per phrase, so a repeated term counts twice).
void AnalyzeQuery(absl::string_view query, absl::FunctionRef<void(absl::string_view term)> emit);

// Returns the query terms of `query` (AnalyzeQuery collected into strings).
std::vector<std::string> AnalyzeQueryToTerms(absl::string_view query);

// Returns whether `text` holds a character of a script AnalyzeText indexes as bigrams (2b).
bool HoldsBigramScript(absl::string_view text);

// Returns whether `text` holds a letter or a digit of any script (ICU u_isalnum): a text without
// one ("", "?!", "🔥🔥") has nothing to match.
bool HasLetterOrDigit(absl::string_view text);

// Returns the number of words in `text` as a reader counts them, for the short-text rule: runs of
// letters, marks and digits of any script (ICU: Alphabetic, general category M, decimal digits);
// in a run of a script written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer,
// Myanmar) each word ICU's dictionary word break finds. Emoji, symbols and punctuation are not
// words: "Hello, world! 2020" 3, "🔥 vaccines kill 🔥" 2, "新冠疫苗会改变人的DNA" about 6.
int CountWrittenWords(absl::string_view text);

// Word break of a run-together lower-case word ("texaschurchshooting" -> "texas", "church",
// "shooting") over a vocabulary of document frequencies: `frequency(term)` is the number of the
// `documents` documents holding the analysed term (the Porter stem of a piece). Returns the pieces
// of the most probable split under a unigram model (each piece costs -log(frequency / documents)
// plus a fixed penalty, so fewer, commoner pieces win), or an empty vector when `word` is a term
// itself, is shorter than kMinBreakWordBytes, holds anything but ASCII lower-case letters, or has
// no split into at least two pieces that are each held by at least two documents, of at least
// three letters (two for a piece held by at least 1% of the documents).
inline constexpr size_t kMinBreakWordBytes = 6;
std::vector<std::string> BreakWord(absl::string_view word,
                                   absl::FunctionRef<int64_t(absl::string_view term)> frequency,
                                   int64_t documents);

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_TEXT_ANALYSIS_H_
