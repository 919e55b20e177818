#include "engine/html_text.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "engine/dates.h"

namespace claimmatch {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
constexpr char32_t kNothing = 0;  // an entity that decodes to no character (&shy;)

void AppendUtf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

const absl::flat_hash_map<absl::string_view, char32_t>& NamedEntities() {
  static const auto* const kEntities = [] {
    auto* m = new absl::flat_hash_map<absl::string_view, char32_t>{
        {"quot", '"'},      {"amp", '&'},       {"apos", '\''},    {"lt", '<'},
        {"gt", '>'},        {"OElig", 0x152},   {"oelig", 0x153},  {"Scaron", 0x160},
        {"scaron", 0x161},  {"Yuml", 0x178},    {"fnof", 0x192},   {"circ", 0x2C6},
        {"tilde", 0x2DC},   {"ensp", 0x2002},   {"emsp", 0x2003},  {"thinsp", 0x2009},
        {"zwnj", 0x200C},   {"zwj", 0x200D},    {"lrm", 0x200E},   {"rlm", 0x200F},
        {"ndash", 0x2013},  {"mdash", 0x2014},  {"lsquo", 0x2018}, {"rsquo", 0x2019},
        {"sbquo", 0x201A},  {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"bdquo", 0x201E},
        {"dagger", 0x2020}, {"Dagger", 0x2021}, {"bull", 0x2022},  {"hellip", 0x2026},
        {"permil", 0x2030}, {"prime", 0x2032},  {"Prime", 0x2033}, {"lsaquo", 0x2039},
        {"rsaquo", 0x203A}, {"euro", 0x20AC},   {"trade", 0x2122}, {"larr", 0x2190},
        {"uarr", 0x2191},   {"rarr", 0x2192},   {"darr", 0x2193},  {"minus", 0x2212},
        {"infin", 0x221E},  {"asymp", 0x2248},  {"ne", 0x2260},    {"le", 0x2264},
        {"ge", 0x2265},
    };
    // The Latin-1 entities, U+00A0..U+00FF in order.
    static constexpr const char* kLatin1[] = {
        "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
        "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
        "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
        "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
        "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
        "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
        "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
        "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
        "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
        "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
        "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml",
    };
    for (char32_t c = 0xA0; c <= 0xFF; ++c) (*m)[kLatin1[c - 0xA0]] = c;
    (*m)["shy"] = kNothing;
    return m;
  }();
  return *kEntities;
}

// What browsers make of the C1 code points in numeric references: Windows-1252.
constexpr char32_t kWindows1252[32] = {
    0x20AC, 0x81,   0x201A, 0x192,  0x201E, 0x2026, 0x2020, 0x2021, 0x2C6,  0x2030, 0x160,
    0x2039, 0x152,  0x8D,   0x17D,  0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x2DC,  0x2122, 0x161,  0x203A, 0x153,  0x9D,   0x17E,  0x178,
};

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// If `s` starts with a character reference ("&amp;", "&#39;", "&#x2019;"), stores its value in
// `*c` and returns its length; otherwise returns 0.
size_t ParseEntity(absl::string_view s, char32_t* c) {
  if (s.size() < 3 || s[0] != '&') return 0;
  size_t i = 1;
  if (s[i] == '#') {
    ++i;
    const bool hex = i < s.size() && (s[i] == 'x' || s[i] == 'X');
    if (hex) ++i;
    const size_t digits_begin = i;
    uint32_t value = 0;
    while (i < s.size() && (hex ? absl::ascii_isxdigit(s[i]) : absl::ascii_isdigit(s[i]))) {
      const uint32_t digit =
          absl::ascii_isdigit(s[i]) ? s[i] - '0' : absl::ascii_tolower(s[i]) - 'a' + 10;
      value = value * (hex ? 16 : 10) + digit;
      if (value > 0x110000) value = 0x110000;  // saturate: too large either way
      ++i;
    }
    if (i == digits_begin) return 0;
    if (i < s.size() && s[i] == ';') ++i;
    if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
      *c = kReplacement;
    } else if (value >= 0x80 && value <= 0x9F) {
      *c = kWindows1252[value - 0x80];
    } else {
      *c = value;
    }
    return i;
  }
  while (i < s.size() && i <= 32 && absl::ascii_isalnum(s[i])) ++i;
  if (i == 1 || i >= s.size() || s[i] != ';') return 0;
  const auto& entities = NamedEntities();
  const auto it = entities.find(s.substr(1, i - 1));
  if (it == entities.end()) return 0;
  *c = it->second;
  return i + 1;
}

// Accumulates text into lines, collapsing whitespace within each line.
class LineBuilder {
 public:
  // Appends `text` (entities decoded); inside <pre> (`pre`) a newline ends the line.
  void AppendText(absl::string_view text, bool pre) {
    for (size_t i = 0; i < text.size();) {
      const char ch = text[i];
      if (ch == '\n' && pre) {
        EndLine();
        ++i;
      } else if (IsAsciiSpace(ch)) {
        Space();
        ++i;
      } else if (ch == '\xC2' && i + 1 < text.size() && text[i + 1] == '\xA0') {
        Space();
        i += 2;
      } else if (ch == '&') {
        char32_t c;
        const size_t n = ParseEntity(text.substr(i), &c);
        if (n == 0) {
          Put("&");
          ++i;
          continue;
        }
        i += n;
        if (c == '\n' && pre) {
          EndLine();
        } else if (c == 0xA0 || (c < 0x80 && IsAsciiSpace(static_cast<char>(c)))) {
          Space();
        } else if (c != kNothing) {
          std::string utf8;
          AppendUtf8(c, utf8);
          Put(utf8);
        }
      } else {
        Put(absl::string_view(&text[i], 1));
        ++i;
      }
    }
  }

  void Space() { pending_space_ = !line_.empty(); }

  void EndLine() {
    if (!line_.empty()) lines_.push_back(std::move(line_));
    line_.clear();
    pending_space_ = false;
  }

  std::string Finish() && {
    EndLine();
    return absl::StrJoin(lines_, "\n");
  }

 private:
  void Put(absl::string_view s) {
    if (pending_space_) line_ += ' ';
    pending_space_ = false;
    line_.append(s.data(), s.size());
  }

  std::vector<std::string> lines_;
  std::string line_;
  bool pending_space_ = false;
};

enum class Kind {
  kInline,   // vanishes
  kBlock,    // ends the line
  kCell,     // a space
  kRawText,  // contents dropped up to the end tag, which is found by text search
  kSkip,     // contents dropped, nesting counted
};

Kind KindOf(absl::string_view name) {
  static const auto* const kKinds = new absl::flat_hash_map<absl::string_view, Kind>{
      {"p", Kind::kBlock},          {"div", Kind::kBlock},        {"br", Kind::kBlock},
      {"hr", Kind::kBlock},         {"li", Kind::kBlock},         {"ul", Kind::kBlock},
      {"ol", Kind::kBlock},         {"dl", Kind::kBlock},         {"dt", Kind::kBlock},
      {"dd", Kind::kBlock},         {"h1", Kind::kBlock},         {"h2", Kind::kBlock},
      {"h3", Kind::kBlock},         {"h4", Kind::kBlock},         {"h5", Kind::kBlock},
      {"h6", Kind::kBlock},         {"tr", Kind::kBlock},         {"table", Kind::kBlock},
      {"blockquote", Kind::kBlock}, {"article", Kind::kBlock},    {"section", Kind::kBlock},
      {"header", Kind::kBlock},     {"main", Kind::kBlock},       {"aside", Kind::kBlock},
      {"figure", Kind::kBlock},     {"figcaption", Kind::kBlock}, {"pre", Kind::kBlock},
      {"address", Kind::kBlock},    {"form", Kind::kBlock},       {"fieldset", Kind::kBlock},
      {"details", Kind::kBlock},    {"summary", Kind::kBlock},    {"caption", Kind::kBlock},
      {"body", Kind::kBlock},       {"html", Kind::kBlock},       {"td", Kind::kCell},
      {"th", Kind::kCell},          {"script", Kind::kRawText},   {"style", Kind::kRawText},
      {"noscript", Kind::kRawText}, {"textarea", Kind::kRawText}, {"iframe", Kind::kRawText},
      {"noembed", Kind::kRawText},  {"noframes", Kind::kRawText}, {"xmp", Kind::kRawText},
      {"head", Kind::kSkip},        {"nav", Kind::kSkip},         {"footer", Kind::kSkip},
      {"template", Kind::kSkip},    {"svg", Kind::kSkip},         {"math", Kind::kSkip},
      {"select", Kind::kSkip},      {"button", Kind::kSkip},
  };
  const auto it = kKinds->find(name);
  return it == kKinds->end() ? Kind::kInline : it->second;
}

// Returns the position after the first `needle` in `s` at or after `from` (ASCII
// case-insensitive), or s.size() if there is none.
size_t SkipPast(absl::string_view s, size_t from, absl::string_view needle) {
  for (size_t i = from; i + needle.size() <= s.size(); ++i) {
    if (absl::EqualsIgnoreCase(s.substr(i, needle.size()), needle)) return i + needle.size();
  }
  return s.size();
}

// Returns the position after the '>' that closes the tag whose attributes start at `i`; a quoted
// attribute value may contain '>'.
size_t SkipTagRest(absl::string_view s, size_t i) {
  while (i < s.size() && s[i] != '>') {
    if (s[i] == '=') {
      ++i;
      while (i < s.size() && IsAsciiSpace(s[i])) ++i;
      if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
        const size_t close = s.find(s[i], i + 1);
        i = close == absl::string_view::npos ? s.size() : close + 1;
      }
    } else {
      ++i;
    }
  }
  return i < s.size() ? i + 1 : s.size();
}

// Returns the position of the end tag `</name` (followed by space, '/' or '>') at or after
// `from`, or s.size() if there is none.
size_t FindEndTag(absl::string_view s, size_t from, absl::string_view name) {
  for (size_t i = from; i + 2 + name.size() <= s.size(); ++i) {
    if (s[i] != '<' || s[i + 1] != '/') continue;
    if (!absl::EqualsIgnoreCase(s.substr(i + 2, name.size()), name)) continue;
    const size_t after = i + 2 + name.size();
    if (after == s.size() || IsAsciiSpace(s[after]) || s[after] == '/' || s[after] == '>') {
      return i;
    }
  }
  return s.size();
}

// A start tag's attributes, from just after its name to its '>': names lower-cased, values
// unquoted (entities left as written), in order. `*end` is set to the position after the '>'.
std::vector<std::pair<std::string, std::string>> ParseAttributes(absl::string_view s, size_t i,
                                                                 size_t* end) {
  std::vector<std::pair<std::string, std::string>> attributes;
  while (i < s.size() && s[i] != '>') {
    if (IsAsciiSpace(s[i]) || s[i] == '/') {
      ++i;
      continue;
    }
    const size_t name_begin = i;
    while (i < s.size() && !IsAsciiSpace(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/') ++i;
    std::string name = absl::AsciiStrToLower(s.substr(name_begin, i - name_begin));
    while (i < s.size() && IsAsciiSpace(s[i])) ++i;
    std::string value;
    if (i < s.size() && s[i] == '=') {
      ++i;
      while (i < s.size() && IsAsciiSpace(s[i])) ++i;
      if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
        const size_t close = s.find(s[i], i + 1);
        const size_t value_end = close == absl::string_view::npos ? s.size() : close;
        value = std::string(s.substr(i + 1, value_end - i - 1));
        i = value_end == s.size() ? s.size() : value_end + 1;
      } else {
        const size_t value_begin = i;
        while (i < s.size() && !IsAsciiSpace(s[i]) && s[i] != '>') ++i;
        value = std::string(s.substr(value_begin, i - value_begin));
      }
    }
    if (name.empty()) {
      ++i;  // a stray '=': skip it
      continue;
    }
    attributes.emplace_back(std::move(name), std::move(value));
  }
  *end = i < s.size() ? i + 1 : s.size();
  return attributes;
}

absl::string_view Attribute(const std::vector<std::pair<std::string, std::string>>& attributes,
                            absl::string_view name) {
  for (const auto& [n, v] : attributes) {
    if (n == name) return v;
  }
  return "";
}

// The value of the first "datePublished" key of a JSON text, when it is a string; "" otherwise.
std::string JsonDatePublished(absl::string_view json) {
  constexpr absl::string_view kKey = "\"datePublished\"";
  for (size_t at = json.find(kKey); at != absl::string_view::npos;
       at = json.find(kKey, at + kKey.size())) {
    size_t i = at + kKey.size();
    while (i < json.size() && IsAsciiSpace(json[i])) ++i;
    if (i >= json.size() || json[i] != ':') continue;
    ++i;
    while (i < json.size() && IsAsciiSpace(json[i])) ++i;
    if (i >= json.size() || json[i] != '"') continue;
    const size_t close = json.find('"', i + 1);
    if (close == absl::string_view::npos) return "";
    return std::string(json.substr(i + 1, close - i - 1));
  }
  return "";
}

}  // namespace

PageDate HtmlPublishedDate(absl::string_view html) {
  static constexpr absl::string_view kDateNames[] = {
      "date",           "pubdate",      "publishdate",    "publish-date",  "dc.date",
      "dc.date.issued", "dcterms.date", "dcterms.issued", "sailthru.date", "parsely-pub-date"};
  // The first full day of each preference (index 0 best), with its source.
  PageDate found[4];
  const auto offer = [&](int rank, absl::string_view value, absl::string_view source) {
    if (!found[rank].date.empty()) return;
    std::string day = NormalizeDate(value);
    if (day.size() != 10) return;  // not a full day
    found[rank] = {std::move(day), std::string(source)};
  };
  size_t i = 0;
  while (i < html.size()) {
    const size_t lt = html.find('<', i);
    if (lt == absl::string_view::npos) break;
    if (absl::StartsWith(html.substr(lt), "<!--")) {
      i = SkipPast(html, lt + 4, "-->");
      continue;
    }
    size_t name_end = lt + 1;
    while (name_end < html.size() &&
           absl::ascii_isalnum(static_cast<unsigned char>(html[name_end]))) {
      ++name_end;
    }
    const std::string tag = absl::AsciiStrToLower(html.substr(lt + 1, name_end - lt - 1));
    if (tag != "meta" && tag != "time" && tag != "script") {
      i = lt + 1;
      continue;
    }
    size_t after = 0;
    const auto attributes = ParseAttributes(html, name_end, &after);
    i = after;
    if (tag == "script") {
      const size_t close = FindEndTag(html, after, "script");
      if (absl::StrContains(absl::AsciiStrToLower(Attribute(attributes, "type")), "ld+json")) {
        offer(1, JsonDatePublished(html.substr(after, close - after)), "JSON-LD datePublished");
      }
      i = close;
      continue;
    }
    const bool itemprop =
        absl::EqualsIgnoreCase(Attribute(attributes, "itemprop"), "datePublished");
    if (tag == "time") {
      if (itemprop) offer(2, Attribute(attributes, "datetime"), "itemprop datePublished");
      continue;
    }
    const absl::string_view content = Attribute(attributes, "content");
    if (itemprop) offer(2, content, "itemprop datePublished");
    for (absl::string_view key : {"property", "name"}) {
      const std::string name = absl::AsciiStrToLower(Attribute(attributes, key));
      if (name == "article:published_time") offer(0, content, "article:published_time");
      for (absl::string_view date_name : kDateNames) {
        if (name == date_name) offer(3, content, absl::StrCat("meta ", date_name));
      }
    }
  }
  for (PageDate& d : found) {
    if (!d.date.empty()) return std::move(d);
  }
  return {};
}

std::string HtmlToText(absl::string_view html) {
  LineBuilder out;
  std::string skip_name;  // the kSkip element being dropped, when skip_depth > 0
  int skip_depth = 0;
  int pre_depth = 0;
  size_t i = absl::StartsWith(html, "\xEF\xBB\xBF") ? 3 : 0;  // a byte-order mark
  while (i < html.size()) {
    if (html[i] != '<') {
      const size_t next = std::min(html.find('<', i), html.size());
      if (skip_depth == 0) out.AppendText(html.substr(i, next - i), pre_depth > 0);
      i = next;
      continue;
    }
    const absl::string_view rest = html.substr(i);
    if (absl::StartsWith(rest, "<!--")) {
      i = SkipPast(html, i + 4, "-->");
      continue;
    }
    if (absl::StartsWith(rest, "<![CDATA[")) {
      i = SkipPast(html, i + 9, "]]>");
      continue;
    }
    if (absl::StartsWith(rest, "<!") || absl::StartsWith(rest, "<?")) {
      i = SkipPast(html, i + 2, ">");
      continue;
    }
    const bool end_tag = rest.size() > 1 && rest[1] == '/';
    size_t name_end = i + (end_tag ? 2 : 1);
    if (name_end >= html.size() || !absl::ascii_isalpha(html[name_end])) {
      if (skip_depth == 0) out.AppendText("<", pre_depth > 0);  // a literal '<'
      ++i;
      continue;
    }
    const size_t name_begin = name_end;
    while (name_end < html.size() && (absl::ascii_isalnum(html[name_end]) ||
                                      html[name_end] == '-' || html[name_end] == ':')) {
      ++name_end;
    }
    const std::string name = absl::AsciiStrToLower(html.substr(name_begin, name_end - name_begin));
    i = SkipTagRest(html, name_end);
    const bool self_closing = html.substr(name_end, i - name_end).size() >= 2 &&
                              html[i - 1] == '>' &&
                              html[i - 2] == '/';  // "<svg/>": no contents to drop
    const Kind kind = KindOf(name);
    if (kind == Kind::kRawText && !end_tag) {
      i = SkipTagRest(html, FindEndTag(html, i, name));
      continue;
    }
    if (skip_depth > 0) {
      if (name == skip_name && !self_closing) {
        skip_depth += end_tag ? -1 : 1;
      } else if (skip_name == "head" && name == "body" && !end_tag) {
        skip_depth = 0;  // an unclosed <head>
      }
      continue;
    }
    switch (kind) {
      case Kind::kSkip:
        if (!end_tag && !self_closing) {
          skip_name = name;
          skip_depth = 1;
        }
        break;
      case Kind::kBlock:
        if (name == "pre") pre_depth = std::max(0, pre_depth + (end_tag ? -1 : 1));
        out.EndLine();
        break;
      case Kind::kCell:
        out.Space();
        break;
      case Kind::kInline:
      case Kind::kRawText:
        break;
    }
  }
  return std::move(out).Finish();
}

bool LooksLikeHtml(absl::string_view text) {
  size_t i = 0;
  while (i < text.size() && IsAsciiSpace(text[i])) ++i;
  if (absl::StartsWith(text.substr(i), "\xEF\xBB\xBF")) i += 3;
  while (i < text.size() && IsAsciiSpace(text[i])) ++i;
  const absl::string_view start = text.substr(i);
  for (absl::string_view prefix : {"<!doctype", "<html", "<head", "<body", "<meta", "<!--"}) {
    if (absl::StartsWithIgnoreCase(start, prefix)) return true;
  }
  const std::string head = absl::AsciiStrToLower(text.substr(0, 4096));
  for (absl::string_view marker :
       {"<html", "<body", "<head", "<p>", "<div", "<br", "</p>", "</div>"}) {
    if (absl::StrContains(head, marker)) return true;
  }
  return false;
}

}  // namespace claimmatch
