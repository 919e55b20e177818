// Rendering match results for people (an aligned table, verdicts coloured on a terminal) and for
// machines (stable snake_case JSON, documented in README.md).
#ifndef CLAIMMATCH_TOOLS_OUTPUT_H_
#define CLAIMMATCH_TOOLS_OUTPUT_H_

#include <string>
#include <vector>

#include "engine/matcher.h"
#include "nlohmann/json.hpp"

namespace claimmatch::cli {

// One match as JSON: claim_id, claim, title, verdict, verdict_normalized, claimant, claim_date,
// review_url, publisher, review_date, language, score, dense, lexical, decision.
nlohmann::json MatchJson(const MatchResult& m);
// {"query", "decision" (of the best result, "none" when there is none), "matches": [...]}.
nlohmann::json QueryResultJson(const std::string& query, const std::vector<MatchResult>& results);
// The table `lookup` prints; "no match" when nothing reaches the suggest threshold.
std::string ResultTable(const std::vector<MatchResult>& results, bool color, int width);
// Colours when stdout is a terminal and neither --no-color nor NO_COLOR says otherwise.
bool UseColor(bool no_color_flag);
// The terminal's width (COLUMNS, else ioctl, else 100).
int TerminalWidth();
// "FALSE" etc., coloured when asked.
std::string VerdictLabel(const ClaimRecord& claim, bool color);
// "claimant, claim date · publisher" (the parts that are known; "" when none is).
std::string ClaimMetaLine(const ClaimRecord& claim);
// Cuts `s` to at most `width` code points, ending in "…" when cut.
std::string Ellipsize(const std::string& s, int width);
std::string WithCommasInt(int64_t n);

}  // namespace claimmatch::cli

#endif  // CLAIMMATCH_TOOLS_OUTPUT_H_
