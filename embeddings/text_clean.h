// Cleaning of social-media text before it is embedded: drops what carries no claim content and
// only adds noise to a bag-of-tokens model (URLs, pic.twitter.com links, @handles, the
// "— Name (@handle) January 14, 2020" signature of embedded tweets), and collapses whitespace.
// The same cleaning must run at training time and at query time; the engine calls it on queries.
//
// Thread safety: pure functions.
#ifndef CLAIMMATCH_EMBEDDINGS_TEXT_CLEAN_H_
#define CLAIMMATCH_EMBEDDINGS_TEXT_CLEAN_H_

#include <string>

#include "absl/strings/string_view.h"

namespace claimmatch {

// Returns `text` without URLs (http://, https://, www., pic.twitter.com/), @handles and a
// trailing tweet signature ("— Name (@handle) Month D, YYYY"), with runs of whitespace collapsed
// to one space and no leading/trailing space. '#' is dropped from hashtags (the word stays).
// Never fails; bytes that are not ASCII are kept as they are.
std::string CleanSocialText(absl::string_view text);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_TEXT_CLEAN_H_
