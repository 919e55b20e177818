// Name-only overlap: the guard that keeps "Rod Rosenstein presented Trump with the option" from
// being auto-matched to "Trump fires deputy attorney general Rod Rosenstein". Both texts name the
// same people, but the claim's act (fires) is not what the text says (presented an option). A
// text that shares nothing with a claim but names and common words is at most a suggestion.
//
// Terms are BM25 analysis terms (engine/text_analysis.h): the query through AnalyzeQuery (URLs
// removed), the claim through AnalyzeText. A text's name terms come from its words that begin
// with an ASCII capital letter, except a capitalised sentence opener not followed by another
// capitalised word of its sentence ("Taxes went up" and "Obama said" name nothing; "Deputy
// Attorney General Rod Rosenstein" is all names). When the query is in headline case (most words
// capitalised, as in many tweets) its capitals say little, so a name must be one in the query AND
// in the claim; otherwise a name of either counts. Claim titles are matched but never give names
// (they are often headlines). Words in other scripts are never names, so the guard only ever errs
// towards keeping a match.
//
// Thread safety: pure functions.
#ifndef CLAIMMATCH_ENGINE_NAME_OVERLAP_H_
#define CLAIMMATCH_ENGINE_NAME_OVERLAP_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace claimmatch {

// Returns the name terms of `text` (see above), sorted and unique, and sets `*headline` (may be
// null) to whether most of its words (at least 3 with letters) begin with a capital. A word is a
// maximal run of bytes that are not ASCII punctuation, space or control characters; a sentence
// begins at the start and after '.', '!', '?' or ':'.
std::vector<std::string> NameTerms(absl::string_view text, bool* headline);

// Returns true if what `query` shares with the claim (`claim` text and its `title`) is at least
// one name and otherwise only terms with idf(term) below `min_idf` (common words); false if they
// share an informative term that is not a name, or nothing at all (a cross-lingual match, say,
// is left to the re-ranker). Names come from the claim text only: titles are often in headline
// case, where every word is capitalised.
bool NamesOnlyOverlap(absl::string_view query, absl::string_view claim, absl::string_view title,
                      absl::FunctionRef<double(absl::string_view term)> idf, double min_idf);

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_NAME_OVERLAP_H_
