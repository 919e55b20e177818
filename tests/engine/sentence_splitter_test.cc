#include "engine/sentence_splitter.h"

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace claimmatch {

// Failure messages show sentences readably (found by argument-dependent lookup).
void PrintTo(const Sentence& s, std::ostream* os) {
  *os << "{" << s.begin << ", " << s.end << ", " << s.char_begin << ", " << s.char_end << ", \""
      << s.text << "\"}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Sentence S(size_t begin, size_t end, size_t char_begin, size_t char_end, std::string text) {
  return Sentence{begin, end, char_begin, char_end, std::move(text)};
}

// The sentences' texts only.
std::vector<std::string> Texts(absl::string_view text, absl::string_view locale = "en") {
  std::vector<std::string> out;
  for (const Sentence& s : SplitSentences(text, locale)) out.push_back(s.text);
  return out;
}

TEST(SentenceSplitterTest, AbbreviationsDoNotEndSentences) {
  EXPECT_THAT(SplitSentences("Mr. Smith met Dr. Jones in the U.S. yesterday. He left."),
              ElementsAre(S(0, 46, 0, 46, "Mr. Smith met Dr. Jones in the U.S. yesterday."),
                          S(47, 55, 47, 55, "He left.")));
  // ICU's own English list ("Prof.", "vs.") and the extra one ("Gen.", "e.g.", "St.").
  EXPECT_THAT(Texts("Prof. Lee vs. Gen. Ray, e.g. Ann at St. Mary's. Then rain."),
              ElementsAre("Prof. Lee vs. Gen. Ray, e.g. Ann at St. Mary's.", "Then rain."));
  // The suppression is unconditional: a sentence ending in "U.S." runs into the next one.
  EXPECT_THAT(Texts("He moved to the U.S. Then he left."),
              ElementsAre("He moved to the U.S. Then he left."));
  // Only a whole word counts: "XMr." is no "Mr.".
  EXPECT_THAT(Texts("I saw XMr. Then go."), ElementsAre("I saw XMr.", "Then go."));
}

TEST(SentenceSplitterTest, SuppressionsFollowTheLocale) {
  EXPECT_THAT(Texts("Er traf Dr. Müller. Dann ging er.", "de"),
              ElementsAre("Er traf Dr. Müller.", "Dann ging er."));
  EXPECT_THAT(Texts("Das ist z.B. Kai. Ja.", "de_AT"),  // falls back to German
              ElementsAre("Das ist z.B. Kai.", "Ja."));
  // German lists "am.", but only as a whole word: "kam." ends the sentence.
  EXPECT_THAT(Texts("Er kam. Dann ging er.", "de"), ElementsAre("Er kam.", "Dann ging er."));
  // An unknown locale gets the root rules without suppressions (not the default locale's).
  EXPECT_THAT(Texts("Er traf Dr. Müller. Dann ging er.", "xx"),
              ElementsAre("Er traf Dr.", "Müller.", "Dann ging er."));
  EXPECT_THAT(Texts("Mr. Li came. Then.", "xx"), ElementsAre("Mr.", "Li came.", "Then."));
}

TEST(SentenceSplitterTest, QuotesStayWithTheirSentence) {
  EXPECT_THAT(
      SplitSentences("He said: \"We won.\" Then he left."),
      ElementsAre(S(0, 18, 0, 18, "He said: \"We won.\""), S(19, 32, 19, 32, "Then he left.")));
}

TEST(SentenceSplitterTest, EveryLineEndIsABoundary) {
  // A line ending in an abbreviation still ends there; CRLF, blank and indented lines.
  EXPECT_THAT(SplitSentences("Dr.\nSmith arrived.\r\n\r\n  Second para  "),
              ElementsAre(S(0, 3, 0, 3, "Dr."), S(4, 18, 4, 18, "Smith arrived."),
                          S(24, 35, 24, 35, "Second para")));
  // U+2028 LINE SEPARATOR (3 bytes, 1 code point).
  EXPECT_THAT(SplitSentences("In the U.S.\u2028Then."),
              ElementsAre(S(0, 11, 0, 11, "In the U.S."), S(14, 19, 12, 17, "Then.")));
  EXPECT_THAT(Texts("no terminator\rat all"), ElementsAre("no terminator", "at all"));
}

TEST(SentenceSplitterTest, OtherScripts) {
  // Chinese full stop and exclamation mark; each character is 3 bytes.
  EXPECT_THAT(SplitSentences("中国很大。我爱北京！"),
              ElementsAre(S(0, 15, 0, 5, "中国很大。"), S(15, 30, 5, 10, "我爱北京！")));
  EXPECT_THAT(SplitSentences("日本語です。はい？"),
              ElementsAre(S(0, 18, 0, 6, "日本語です。"), S(18, 27, 6, 9, "はい？")));
  // Devanagari danda.
  EXPECT_THAT(SplitSentences("यह एक वाक्य है। यह दूसरा है।"),
              ElementsAre(S(0, 39, 0, 15, "यह एक वाक्य है।"), S(40, 72, 16, 28, "यह दूसरा है।")));
  // Arabic question mark.
  EXPECT_THAT(SplitSentences("هل هذا صحيح؟ نعم."),
              ElementsAre(S(0, 22, 0, 12, "هل هذا صحيح؟"), S(23, 30, 13, 17, "نعم.")));
}

TEST(SentenceSplitterTest, CharOffsetsCountCodePointsOutsideTheBmp) {
  // Each emoji is 4 bytes, one code point.
  EXPECT_THAT(SplitSentences("😀 Hi. 👍 Ok."),
              ElementsAre(S(0, 8, 0, 5, "😀 Hi."), S(9, 17, 6, 11, "👍 Ok.")));
}

TEST(SentenceSplitterTest, EllipsesDecimalsAndUrls) {
  EXPECT_THAT(Texts("Wait... what? He paused... Then he spoke… quietly."),
              ElementsAre("Wait... what?", "He paused...", "Then he spoke… quietly."));
  EXPECT_THAT(
      Texts("It rose 3.14% to $2.50 today. See https://example.com/a.b?x=1. Done!"),
      ElementsAre("It rose 3.14% to $2.50 today.", "See https://example.com/a.b?x=1.", "Done!"));
  EXPECT_THAT(Texts("Go to WWW.Example.com/Why?Now soon. Ok."),
              ElementsAre("Go to WWW.Example.com/Why?Now soon.", "Ok."));
  // Outside a URL the same "?" ends the sentence.
  EXPECT_THAT(Texts("Why?Now soon."), ElementsAre("Why?", "Now soon."));
}

TEST(SentenceSplitterTest, EmptyAndWhitespaceInputHaveNoSentences) {
  EXPECT_THAT(SplitSentences(""), IsEmpty());
  EXPECT_THAT(SplitSentences(" \t\n\r\n \u00a0\u3000\n"), IsEmpty());
}

TEST(SentenceSplitterTest, TrimsUnicodeSpacesAndByteOrderMark) {
  EXPECT_THAT(SplitSentences("\xEF\xBB\xBF Hello.\u00a0\u2003"),
              ElementsAre(S(4, 10, 2, 8, "Hello.")));
}

TEST(SentenceSplitterTest, InvalidUtf8IsReplacedAndOffsetsIndexTheInput) {
  // "\xFF" is one ill-formed byte; "\xE2\x82" a truncated 3-byte sequence, one U+FFFD too.
  const std::string input = "a\xFF b. C\xE2\x82 d.";
  EXPECT_THAT(SplitSentences(input),
              ElementsAre(S(0, 5, 0, 5, "a\uFFFD b."), S(6, 12, 6, 11, "C\uFFFD d.")));
  EXPECT_EQ(input.substr(6, 12 - 6), "C\xE2\x82 d.");
}

TEST(SentenceSplitterTest, OffsetsSliceTheInput) {
  const std::string input = "  “Quote,” he said.\n\nΑυτό είναι; Ναι. Fin.";
  const std::vector<Sentence> sentences = SplitSentences(input);
  ASSERT_EQ(sentences.size(), 3);
  for (const Sentence& s : sentences) {
    EXPECT_EQ(input.substr(s.begin, s.end - s.begin), s.text);
  }
  EXPECT_EQ(sentences[0].text, "“Quote,” he said.");
  EXPECT_EQ(sentences[1].text, "Αυτό είναι; Ναι.");
  EXPECT_EQ(sentences[2].text, "Fin.");
}

}  // namespace
}  // namespace claimmatch
