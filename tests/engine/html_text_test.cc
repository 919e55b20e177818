#include "engine/html_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace claimmatch {
namespace {

TEST(HtmlToTextTest, NewsArticlePage) {
  const std::string html = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Fact check: the claim</title>
<style>p { color: red; }</style>
<script>var x = "<p>not text</p>"; if (a < b) { go(); }</script></head>
<body><nav><ul><li><a href="/">Home</a></li><li>About</li></ul></nav>
<!-- tracking <p>pixel</p> -->
<article><h1>Senator&nbsp;says  &ldquo;no&rdquo;</h1>
<p>The   claim was <b>false</b>.
It spread on <a href="/x" title='a > b'>social media</a> &amp; TV.</p>
<p>Second paragraph.<br>After a break.</p>
</article><footer>Copyright &copy; 2024 <a href="/">News</a></footer></body></html>)";
  EXPECT_EQ(HtmlToText(html),
            "Senator says “no”\n"
            "The claim was false. It spread on social media & TV.\n"
            "Second paragraph.\n"
            "After a break.");
}

TEST(HtmlToTextTest, ListsTablesAndQuotes) {
  EXPECT_EQ(HtmlToText("<ul><li>One</li><li>Two</li></ul><table><tr><td>A</td><td>B</td></tr>"
                       "<tr><th>C</th><td>D</td></tr></table><blockquote>Quoted</blockquote>tail"),
            "One\nTwo\nA B\nC D\nQuoted\ntail");
  EXPECT_EQ(HtmlToText("<DIV>Upper<BR/>case</DIV><H2 class=x>Title</H2>"), "Upper\ncase\nTitle");
}

TEST(HtmlToTextTest, DecodesEntities) {
  EXPECT_EQ(HtmlToText("&lt;p&gt; &quot;a&quot; &apos;b&#39; &#8212; &#x2019;&#X1F600; "
                       "Caf&eacute; na&iuml;ve &euro;5 &hellip;"),
            "<p> \"a\" 'b' — ’😀 Café naïve €5 …");
  // C1 references as Windows-1252; invalid code points; ";" optional for numeric references.
  EXPECT_EQ(HtmlToText("&#150; &#147;q&#148; &#0; &#xD800; &#x110000; &#65x"),
            "– “q” \uFFFD \uFFFD \uFFFD Ax");
  // Unknown, unterminated or malformed references stay as written; &shy; disappears.
  EXPECT_EQ(HtmlToText("&unknown; &amp AT&T &#; &#x; co&shy;op"),
            "&unknown; &amp AT&T &#; &#x; coop");
}

TEST(HtmlToTextTest, CollapsesWhitespaceButKeepsPreLines) {
  EXPECT_EQ(HtmlToText("  a \t\n b&nbsp;&nbsp;c\xC2\xA0 d  "), "a b c d");
  EXPECT_EQ(HtmlToText("<p>x</p><pre>line 1\nline   2</pre>y\nz"), "x\nline 1\nline 2\ny z");
  EXPECT_EQ(HtmlToText("<p></p><div> </div><p>only</p>"), "only");
}

TEST(HtmlToTextTest, DropsNonContentElements) {
  EXPECT_EQ(HtmlToText("<nav>menu<nav>inner</nav>still menu</nav>kept"), "kept");
  EXPECT_EQ(HtmlToText("a<noscript>Enable JS</noscript>b<button>Share</button>c"
                       "<svg viewBox='0 0 1 1'><text>icon</text></svg>d<svg/>e"
                       "<textarea>x</textarea>f<SCRIPT type=x>1</script >g"),
            "abcdef"
            "g");
  EXPECT_EQ(HtmlToText("<?xml version='1.0'?><![CDATA[raw]]>x<!-- unterminated comment"), "x");
  // An unclosed <head> ends at <body>; an unclosed <script> drops the rest.
  EXPECT_EQ(HtmlToText("<head><title>t</title><body>body text"), "body text");
  EXPECT_EQ(HtmlToText("before<script>never closed <p>text"), "before");
}

TEST(HtmlToTextTest, ToleratesBrokenMarkup) {
  EXPECT_EQ(HtmlToText("a < b and c<3 <"), "a < b and c<3 <");
  EXPECT_EQ(HtmlToText("<p class=\"unterminated>text"), "");
  EXPECT_EQ(HtmlToText("</p></div>stray end tags</li>"), "stray end tags");
  EXPECT_EQ(HtmlToText("\xEF\xBB\xBF<p>bom</p>"), "bom");
  EXPECT_EQ(HtmlToText(""), "");
}

TEST(HtmlPublishedDateTest, ReadsTheDayFromThePagesMetadata) {
  auto date = [](absl::string_view html) {
    const PageDate d = HtmlPublishedDate(html);
    return d.date + "|" + d.source;
  };
  EXPECT_EQ(
      date("<meta property=\"article:published_time\" content=\"2018-07-18T08:15:00+01:00\">"),
      "2018-07-18|article:published_time");
  EXPECT_EQ(date("<META NAME='Article:Published_Time' CONTENT='2018-07-18'>"),
            "2018-07-18|article:published_time");
  EXPECT_EQ(date("<script type=\"application/ld+json\">{\"@type\": \"NewsArticle\", "
                 "\"datePublished\" : \"2020-03-05T10:00:00Z\"}</script>"),
            "2020-03-05|JSON-LD datePublished");
  EXPECT_EQ(date("<time itemprop=\"datePublished\" datetime=\"2019-11-02\">2 Nov</time>"),
            "2019-11-02|itemprop datePublished");
  EXPECT_EQ(date("<meta itemprop=datePublished content=2019-11-03>"),
            "2019-11-03|itemprop datePublished");
  EXPECT_EQ(date("<meta name=\"DC.date.issued\" content=\"October 5, 2020\">"),
            "2020-10-05|meta dc.date.issued");
  EXPECT_EQ(date("<meta name=\"pubdate\" content=\"20201006\">"), "2020-10-06|meta pubdate");
  // By preference, whatever the order in the page.
  EXPECT_EQ(date("<meta name=\"date\" content=\"2001-01-01\">"
                 "<script type=\"application/ld+json\">{\"datePublished\":\"2002-02-02\"}</script>"
                 "<meta property=\"article:published_time\" content=\"2003-03-03\">"),
            "2003-03-03|article:published_time");
  EXPECT_EQ(
      date("<meta name=\"date\" content=\"2001-01-01\">"
           "<script type=\"application/ld+json\">{\"datePublished\":\"2002-02-02\"}</script>"),
      "2002-02-02|JSON-LD datePublished");
  // A value that is not a full day gives way to the next one.
  EXPECT_EQ(date("<meta property=\"article:published_time\" content=\"2018\">"
                 "<meta name=\"date\" content=\"2018-07-01\">"),
            "2018-07-01|meta date");
  // Not a date source: other metas, a JSON-LD key elsewhere, commented-out or plain-script markup.
  EXPECT_EQ(date("<meta name=\"description\" content=\"2018-07-18\">"), "|");
  EXPECT_EQ(date("<meta property=\"article:modified_time\" content=\"2018-07-18\">"), "|");
  EXPECT_EQ(date("<!-- <meta name=\"date\" content=\"2018-07-18\"> -->"), "|");
  EXPECT_EQ(date("<script>var x = {\"datePublished\": \"2018-07-18\"};</script>"), "|");
  EXPECT_EQ(date("<p>Published \"datePublished\": \"2018-07-18\"</p>"), "|");
  EXPECT_EQ(date("<meta name=\"date\" content=\"2018-02-30\">"), "|");
  // Broken markup never fails.
  EXPECT_EQ(date("<meta name=\"date\" content=\"2018-07-18><p>text</p>"), "|");  // quote unclosed
  EXPECT_EQ(date("<meta name=date content=2018-07-18"), "2018-07-18|meta date");
  EXPECT_EQ(date("<script type=\"application/ld+json\">{\"datePublished\": "), "|");
  EXPECT_EQ(date("<meta / name=\"date\"content=\"2018-07-19\"/>"), "2018-07-19|meta date");
  EXPECT_EQ(date(""), "|");
}

TEST(LooksLikeHtmlTest, RecognisesPages) {
  EXPECT_TRUE(LooksLikeHtml("<!DOCTYPE html><html><body>x</body></html>"));
  EXPECT_TRUE(LooksLikeHtml("\xEF\xBB\xBF\n  <HTML>"));
  EXPECT_TRUE(LooksLikeHtml("<!-- saved page --><div>x</div>"));
  EXPECT_TRUE(LooksLikeHtml("Some text<br>more text"));
  EXPECT_TRUE(LooksLikeHtml("Intro\n<P>para</P>"));
}

TEST(LooksLikeHtmlTest, RejectsPlainText) {
  EXPECT_FALSE(LooksLikeHtml(""));
  EXPECT_FALSE(LooksLikeHtml("The senator said a < b and I <3 it."));
  EXPECT_FALSE(LooksLikeHtml("Trump said: \"there was no collusion\".\nSecond paragraph."));
  // Markers only count in the first 4 KiB.
  EXPECT_FALSE(LooksLikeHtml(std::string(5000, 'x') + "<div>"));
}

}  // namespace
}  // namespace claimmatch
