// Cleaning of social-media text before it is embedded: drops what carries no claim content and
// only adds noise to a bag-of-tokens model (URLs, pic.twitter.com links, @handles, the
// "— Name (@handle) January 14, 2020" signature of embedded tweets), and collapses whitespace.
// The same cleaning must run at training time and at query time; the engine calls it on queries.
//
// Thread safety: pure functions.
#ifndef CLAIMMATCH_EMBEDDINGS_TEXT_CLEAN_H_
#define CLAIMMATCH_EMBEDDINGS_TEXT_CLEAN_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace claimmatch {

// Returns where a trailing embedded-tweet signature ("— Name (@handle) Month D, YYYY") starts:
// the byte of the last em dash (U+2014) when the text from it is at most 120 bytes and holds
// "(@"; text.size() when there is none.
size_t TweetSignatureStart(absl::string_view text);

// Returns `text` without URLs (http://, https://, www., pic.twitter.com/), @handles and a
// trailing tweet signature ("— Name (@handle) Month D, YYYY"), with runs of whitespace collapsed
// to one space and no leading/trailing space. '#' is dropped from hashtags (the word stays).
// Never fails; bytes that are not ASCII are kept as they are.
std::string CleanSocialText(absl::string_view text);

// Returns `text` with the words of its compound tags spelled out after the tag's own word. A
// hashtag made of several words becomes its word followed by them: CamelCase
// ("#PizzaVendingMachine" -> "PizzaVendingMachine Pizza Vending Machine", "#USAToday" ->
// "USAToday USA Today"), digits ("#Election2016" -> "Election2016 Election 2016") or '_'
// ("#fake_news" -> "fake_news fake news"). A handle made of several words is followed by them
// ("@BernieSanders" -> "@BernieSanders Bernie Sanders"), except in a trailing tweet signature (its
// author, not its subject). Only ASCII letters, digits and '_' make a tag's word; a tag of one word
// ("#maga", "@cnn"), or one whose word goes on in non-ASCII letters, is left as it is. A tag starts
// a word (at the start, or after a space or '('). With `break_word`, a hashtag that none of the
// rules above splits ("#texaschurchshooting", "#Blacklivesmatter") is followed by the words
// break_word finds in it, lower-cased ("texaschurchshooting texas church shooting";
// engine/text_analysis.h BreakWord over the claims' vocabulary), unless it finds none (a word of
// its own: "#maga"); handles are not broken (lower-case handles are mostly people's and outlets'
// names, and on the CheckThat! tweets breaking them cost MAP). Never fails. Queries go through it
// before cleaning (engine/matcher); training text does not, so the bundled model is unchanged.
using WordBreaker = std::function<std::vector<std::string>(absl::string_view word)>;
std::string SplitTags(absl::string_view text, const WordBreaker& break_word = nullptr);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_TEXT_CLEAN_H_
