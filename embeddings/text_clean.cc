#include "embeddings/text_clean.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace claimmatch {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Length of the non-space run starting at `i`.
size_t RunLength(absl::string_view s, size_t i) {
  size_t j = i;
  while (j < s.size() && !IsSpace(s[j])) ++j;
  return j - i;
}

bool StartsWithUrl(absl::string_view s) {
  return absl::StartsWithIgnoreCase(s, "http://") || absl::StartsWithIgnoreCase(s, "https://") ||
         absl::StartsWithIgnoreCase(s, "www.") || absl::StartsWithIgnoreCase(s, "pic.twitter.com/");
}

// Cuts a trailing embedded-tweet signature: the last "— " (U+2014) or " - " followed by text
// that contains "(@" within the tail.
absl::string_view StripSignature(absl::string_view s) {
  static constexpr absl::string_view kEmDash = "\xE2\x80\x94";
  const size_t dash = s.rfind(kEmDash);
  if (dash == absl::string_view::npos) return s;
  const absl::string_view tail = s.substr(dash);
  if (tail.size() > 120 || tail.find("(@") == absl::string_view::npos) return s;
  return s.substr(0, dash);
}

}  // namespace

std::string CleanSocialText(absl::string_view text) {
  text = StripSignature(text);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (IsSpace(text[i])) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      ++i;
      continue;
    }
    const bool word_start = i == 0 || IsSpace(text[i - 1]) || text[i - 1] == '(';
    const absl::string_view rest = text.substr(i);
    if (StartsWithUrl(rest)) {
      i += RunLength(text, i);
      continue;
    }
    if (word_start && text[i] == '@' && i + 1 < text.size() &&
        (std::isalnum(static_cast<unsigned char>(text[i + 1])) || text[i + 1] == '_')) {
      ++i;
      while (i < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
        ++i;
      }
      continue;
    }
    if (word_start && text[i] == '#' && i + 1 < text.size() && !IsSpace(text[i + 1])) {
      ++i;  // keep the hashtag's word
      continue;
    }
    out.push_back(text[i]);
    ++i;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace claimmatch
