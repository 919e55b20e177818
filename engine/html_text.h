// Readable text from an HTML page, for `claimmatch flag` on saved or piped web articles. A small,
// tolerant tokenizer (no DOM, no dependency): it never fails, whatever the markup.
//
//   - Dropped with their contents: comments, <!DOCTYPE>/<?...?>/CDATA sections, the raw-text
//     elements script, style, noscript, textarea, iframe, noembed, noframes, xmp (up to their end
//     tag, ASCII case-insensitive), and the elements head, nav, footer, template, svg, math, select
//     and button (nesting counted, so a <nav> inside a <nav> does not end the skip early).
//     A missing end tag drops the rest of the page, except that <body> ends a <head> left open.
//   - Line breaks: the start and end tags of block elements (p, div, br, hr, li, ul, ol, dl, dt,
//     dd, h1-h6, tr, table, blockquote, article, section, header, main, aside, figure, figcaption,
//     pre, address, form, fieldset, details, summary, caption, body, html) end the current line;
//     table cells (td, th) are separated by one space. Other tags (a, b, span ...) vanish without a
//     trace, so "<b>fact</b>check" reads "factcheck".
//   - Entities: numeric (&#8217; &#x2019;, the ";" optional; 0x80-0x9F mapped as Windows-1252, as
//     browsers do; 0, surrogates and values above U+10FFFF give U+FFFD) and ~130 common named ones
//     (the Latin-1 set, quotes, dashes, &hellip; &euro; &trade; ...), which need their ";". An
//     unknown or malformed entity is kept as written. &shy; (soft hyphen) disappears.
//   - A leading byte-order mark is dropped. Whitespace: within a line, runs of ASCII whitespace and
//   no-break spaces (U+00A0, from the
//     page or from &nbsp;) become one space, and lines are trimmed; inside <pre> a newline of the
//     source ends the line. Empty lines are dropped.
//
// The result is the non-empty lines joined by "\n" (no trailing newline): one paragraph per line,
// the shape SplitSentences expects. Bytes are copied as they are: the page should be UTF-8 (a page
// in another charset comes out as invalid UTF-8, which SplitSentences tolerates).
//
// Thread safety: the functions are pure and may be called concurrently.
#ifndef CLAIMMATCH_ENGINE_HTML_TEXT_H_
#define CLAIMMATCH_ENGINE_HTML_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace claimmatch {

// Returns the readable text of the HTML document `html` (see the file comment); never fails.
std::string HtmlToText(absl::string_view html);

// The day a page says it was published, and which of its markup said so.
struct PageDate {
  std::string date;    // "YYYY-MM-DD"; "" when the page names no full day
  std::string source;  // "article:published_time", "JSON-LD datePublished", ...; "" with no date
};

// Returns the page's publication day from its metadata, the first full day (engine/dates.h
// NormalizeDate; a time and zone after it are dropped, as written) found in, by preference:
//   1. <meta property|name="article:published_time" content> (Open Graph);
//   2. "datePublished": "..." in a <script type="application/ld+json"> block (schema.org);
//   3. itemprop="datePublished" on a <meta> (content) or <time> (datetime);
//   4. <meta name> "date", "pubdate", "publishdate", "publish-date", "dc.date", "dc.date.issued",
//      "dcterms.date", "dcterms.issued", "sailthru.date", "parsely-pub-date" (content).
// Attribute names and those values compare ASCII case-insensitively. Never fails: a page without
// any of them, or with values that are not a full day, gives an empty PageDate.
PageDate HtmlPublishedDate(absl::string_view html);

// Returns true if `text` looks like HTML rather than plain text: after leading whitespace and a
// byte-order mark it starts with "<!doctype", "<html", "<head", "<body", "<meta" or "<!--", or its
// first 4 KiB contain one of "<html", "<body", "<head", "<p>", "<div", "<br", "</p>", "</div>"
// (all ASCII case-insensitive). Plain text that merely mentions "a < b" or "<3" is not HTML.
bool LooksLikeHtml(absl::string_view text);

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_HTML_TEXT_H_
