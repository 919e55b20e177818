// The claim record: one fact-checked claim, modelled on schema.org ClaimReview as fact-checkers
// publish it. Plain data; copyable; no invariants beyond those stated per field.
#ifndef CLAIMMATCH_ENGINE_CLAIM_H_
#define CLAIMMATCH_ENGINE_CLAIM_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace claimmatch {

// Row id of a claim in the store == its label in the vector and lexical indexes (faiss::idx_t).
using ClaimRowId = int64_t;

// The small verdict vocabulary every given verdict is normalised to (engine/verdict.h maps them).
enum class Verdict { kFalse, kMostlyFalse, kMixed, kMostlyTrue, kTrue, kUnproven, kOther };

struct ClaimRecord {
  std::string id;          // stable external id: given, else derived from review_url, else
                           // a hash of the text (never empty once ingested)
  std::string text;        // the claim as checked (ClaimReview claimReviewed); never empty
  std::string title;       // the fact-check's headline
  std::string subtitle;    // its standfirst / description
  std::string claimant;    // who made the claim (itemReviewed.author.name)
  std::string claim_date;  // when the claim was made, as given (ISO 8601 when known)
  std::string verdict;     // as given (reviewRating.alternateName / textualRating)
  Verdict verdict_normalized = Verdict::kOther;
  std::optional<double> rating_value;  // numeric rating when given
  std::optional<double> rating_best;
  std::optional<double> rating_worst;
  std::string review_url;   // link to the fact-check
  std::string publisher;    // fact-checking organisation
  std::string review_date;  // when the fact-check was published (ISO 8601 when known)
  std::string language;     // BCP-47 code when known ("en", "pt-BR"), else empty
  std::string extra_json;   // any other fields, as a JSON object ("{}" or empty when none)
};

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_CLAIM_H_
