// claimmatch flag: the sentences of an article or post that repeat checked claims.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "embeddings/utf8.h"
#include "engine/dates.h"
#include "engine/html_text.h"
#include "engine/sentence_splitter.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/match_setup.h"
#include "tools/output.h"

namespace claimmatch::cli {

int RunFlag(const Args& args) {
  ArgParser p("flag", "claimmatch flag [--db DIR] [options] [FILE|-]",
              "Splits an article or a post (plain text, or HTML: its text is extracted) into\n"
              "sentences, checks every sentence, and reports those that repeat a checked claim:\n"
              "the sentence, its offsets in the input, the claim, verdict, link, score and\n"
              "decision (match or suggest). Reads stdin when no FILE is given. An HTML page's\n"
              "publication day (article:published_time, JSON-LD datePublished, ...) dates its\n"
              "sentences for the re-ranker's date proximity unless --date is given.");
  AddMatchOptions(p, 1);
  p.Option("locale", "language of the text, for sentence splitting (en, de, fr, ...)", "en")
      .Flag("all", "also list sentences with no match")
      .Flag("no-page-date", "do not date the sentences by the HTML page's publication day")
      .Flag("json", "one JSON document")
      .Flag("no-color", "no colours (also NO_COLOR)")
      .Example("claimmatch flag article.txt")
      .Example("curl -s https://example.org/story | claimmatch flag --json -");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  if (p.positional().size() > 1) return UsageError(p, "give one FILE (or - for stdin)");
  const std::string path = p.positional().empty() ? "-" : p.positional()[0];
  std::string input;
  if (path == "-") {
    input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Fail(absl::StrCat("cannot open ", path));
    input.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  absl::StatusOr<MatchSession> s = OpenMatchSession(p, /*many_queries=*/false);  // a few sentences
  if (!s.ok()) {
    if (absl::IsInvalidArgument(s.status())) return UsageError(p, s.status().message());
    return Fail(s.status());
  }
  const bool html = LooksLikeHtml(input);
  const std::string text = html ? HtmlToText(input) : input;
  // The texts' date: --date (a day, OpenMatchSession checked), else the page's own.
  PageDate date{NormalizeDate(s->options.date), s->options.date.empty() ? "" : "--date"};
  if (date.date.empty() && html && !p.GetFlag("no-page-date")) {
    date = HtmlPublishedDate(input);
    s->options.date = date.date;
  }
  const std::vector<Sentence> sentences = SplitSentences(text, p.Get("locale"));
  std::vector<std::string> texts;
  for (const Sentence& sentence : sentences) texts.push_back(sentence.text);
  absl::StatusOr<std::vector<std::vector<MatchResult>>> results =
      s->matcher->MatchBatch(texts, s->options);
  if (!results.ok()) return Fail(results.status());

  const bool all = p.GetFlag("all");
  int flagged = 0;
  nlohmann::json out_sentences = nlohmann::json::array();
  std::string human;
  const bool color = UseColor(p.GetFlag("no-color"));
  for (size_t i = 0; i < sentences.size(); ++i) {
    const std::vector<MatchResult>& r = (*results)[i];
    const bool hit = !r.empty() && r[0].decision != Decision::kNone;
    flagged += hit ? 1 : 0;
    if (!hit && !all) continue;
    const Sentence& sen = sentences[i];
    nlohmann::json j{{"sentence", sen.text},
                     {"begin", sen.begin},
                     {"end", sen.end},
                     {"char_begin", sen.char_begin},
                     {"char_end", sen.char_end},
                     {"decision", hit ? std::string(DecisionName(r[0].decision)) : "none"}};
    nlohmann::json matches = nlohmann::json::array();
    for (const MatchResult& m : r) {
      if (m.decision != Decision::kNone) matches.push_back(MatchJson(m));
    }
    j["matches"] = matches;
    out_sentences.push_back(j);
    if (!hit) {
      absl::StrAppend(&human, absl::StrFormat("[none]            chars %d-%d  %s\n\n",
                                              sen.char_begin, sen.char_end, sen.text));
      continue;
    }
    const MatchResult& m = r[0];
    absl::StrAppend(&human,
                    absl::StrFormat("[%s %.3f]  chars %d-%d  \"%s\"\n", DecisionName(m.decision),
                                    m.confidence, sen.char_begin, sen.char_end, sen.text));
    absl::StrAppend(&human, "    ", VerdictLabel(m.claim, color), "  ",
                    Ellipsize(m.claim.text, std::max(40, TerminalWidth() - 20)), "\n");
    const std::string meta = ClaimMetaLine(m.claim);
    if (!meta.empty()) absl::StrAppend(&human, "    ", meta, "\n");
    if (!m.claim.review_url.empty()) absl::StrAppend(&human, "    ", m.claim.review_url, "\n");
    absl::StrAppend(&human, "\n");
  }
  if (p.GetFlag("json")) {
    nlohmann::json doc{{"input", path},
                       {"html", html},
                       {"offsets", html ? "into the extracted text" : "into the input"},
                       {"date", date.date},
                       {"date_source", date.source},
                       {"sentences_checked", sentences.size()},
                       {"sentences_flagged", flagged},
                       {"sentences", out_sentences}};
    std::printf("%s\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fputs(human.c_str(), stdout);
    std::vector<std::string> notes;
    if (html) notes.push_back("offsets are into the text extracted from the HTML");
    if (!date.date.empty() && date.source != "--date") {
      notes.push_back(absl::StrCat("dated ", date.date, " by the page's ", date.source));
    }
    std::printf("%d of %zu sentences repeat checked claims%s\n", flagged, sentences.size(),
                notes.empty() ? "" : absl::StrCat(" (", absl::StrJoin(notes, "; "), ")").c_str());
  }
  return kExitOk;
}

}  // namespace claimmatch::cli
