#include "tools/output.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/verdict.h"
#include "tools/progress.h"

namespace claimmatch::cli {

using json = nlohmann::json;

std::string WithCommasInt(int64_t n) { return WithCommas(n); }

json MatchJson(const MatchResult& m) {
  return json{{"claim_id", m.claim.id},
              {"claim", m.claim.text},
              {"title", m.claim.title},
              {"verdict", m.claim.verdict},
              {"verdict_normalized", std::string(VerdictName(m.claim.verdict_normalized))},
              {"claimant", m.claim.claimant},
              {"claim_date", m.claim.claim_date},
              {"review_url", m.claim.review_url},
              {"publisher", m.claim.publisher},
              {"review_date", m.claim.review_date},
              {"language", m.claim.language},
              {"score", m.score},
              {"confidence", m.confidence},
              {"dense", m.dense},
              {"lexical", m.lexical},
              {"decision", std::string(DecisionName(m.decision))}};
}

json QueryResultJson(const std::string& query, const std::vector<MatchResult>& results) {
  json matches = json::array();
  for (const MatchResult& m : results) matches.push_back(MatchJson(m));
  const std::string decision =
      results.empty() ? "none" : std::string(DecisionName(results[0].decision));
  return json{{"query", query}, {"decision", decision}, {"matches", matches}};
}

bool UseColor(bool no_color_flag) {
  if (no_color_flag) return false;
  if (const char* e = std::getenv("NO_COLOR"); e != nullptr && *e != '\0') return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

int TerminalWidth() {
  if (const char* c = std::getenv("COLUMNS"); c != nullptr) {
    const int w = std::atoi(c);
    if (w >= 40) return w;
  }
  struct winsize ws;
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
  return 100;
}

std::string VerdictLabel(const ClaimRecord& claim, bool color) {
  std::string label = absl::AsciiStrToUpper(VerdictName(claim.verdict_normalized));
  if (!color) return label;
  const char* code = "0";
  switch (claim.verdict_normalized) {
    case Verdict::kFalse:
    case Verdict::kMostlyFalse:
      code = "31";
      break;
    case Verdict::kMixed:
      code = "33";
      break;
    case Verdict::kMostlyTrue:
    case Verdict::kTrue:
      code = "32";
      break;
    default:
      code = "0";
  }
  return absl::StrCat("\x1b[", code, "m", label, "\x1b[0m");
}

std::string Ellipsize(const std::string& s, int width) {
  int count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (++count > width) {
        size_t cut = i;
        // back up to make room for the ellipsis
        do {
          --cut;
        } while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80);
        return s.substr(0, cut) + "…";
      }
    }
  }
  return s;
}

std::string ClaimMetaLine(const ClaimRecord& claim) {
  std::string meta = claim.claimant;
  if (!claim.claim_date.empty()) absl::StrAppend(&meta, meta.empty() ? "" : ", ", claim.claim_date);
  if (!claim.publisher.empty()) absl::StrAppend(&meta, meta.empty() ? "" : " · ", claim.publisher);
  return meta;
}

std::string ResultTable(const std::vector<MatchResult>& results, bool color, int width) {
  std::string out;
  const bool any = !results.empty() && results[0].decision != Decision::kNone;
  if (!any) {
    absl::StrAppend(&out, "no match: nothing in the database is close enough to this text\n");
    if (results.empty()) return out;
    absl::StrAppend(&out, "nearest claims (below the suggest threshold):\n");
  }
  const int claim_width = std::max(20, width - 6 - 8 - 14 - 4);
  for (const MatchResult& m : results) {
    const std::string verdict = VerdictLabel(m.claim, color);
    const int pad = 12 - static_cast<int>(VerdictName(m.claim.verdict_normalized).size());
    absl::StrAppend(
        &out, absl::StrFormat("%-7s %.3f  %s%*s  %s\n", DecisionName(m.decision), m.confidence,
                              verdict, std::max(pad, 0), "", Ellipsize(m.claim.text, claim_width)));
    const std::string meta = ClaimMetaLine(m.claim);
    if (!meta.empty())
      absl::StrAppend(&out, "                            ", Ellipsize(meta, claim_width), "\n");
    if (!m.claim.review_url.empty()) {
      absl::StrAppend(&out, "                            ", m.claim.review_url, "\n");
    }
  }
  return out;
}

}  // namespace claimmatch::cli
