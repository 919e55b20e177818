#include "embeddings/text_clean.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

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

// `s` without its trailing embedded-tweet signature (TweetSignatureStart).
absl::string_view StripSignature(absl::string_view s) {
  return s.substr(0, TweetSignatureStart(s));
}

// If `text` starts with a hashtag or handle ('#' or '@') whose word is made of several words,
// appends them to `*out` (space-separated) and returns the bytes the tag spans; else returns 0.
size_t AppendTagWords(absl::string_view text, const WordBreaker& break_word, std::string* out) {
  if (text.size() < 2 || (text[0] != '#' && text[0] != '@') || !absl::ascii_isalnum(text[1])) {
    return 0;
  }
  size_t end = 1;
  while (end < text.size() && (absl::ascii_isalnum(text[end]) || text[end] == '_')) ++end;
  // A word that goes on in UTF-8 ("#VivaMéxico") is left whole.
  if (end < text.size() && static_cast<unsigned char>(text[end]) >= 0x80) return 0;
  const absl::string_view tag = text.substr(1, end - 1);
  std::string words;
  int parts = 1;
  for (size_t k = 0; k < tag.size(); ++k) {
    const char c = tag[k];
    if (c == '_') {
      if (!words.empty() && words.back() != ' ') {
        words.push_back(' ');
        ++parts;
      }
      continue;
    }
    if (k > 0 && tag[k - 1] != '_') {
      const char p = tag[k - 1];
      const bool boundary = (absl::ascii_islower(p) && absl::ascii_isupper(c)) ||  // camelCase
                            (absl::ascii_isdigit(p) != absl::ascii_isdigit(c)) ||  // Election2016
                            (absl::ascii_isupper(p) && absl::ascii_isupper(c) &&
                             k + 1 < tag.size() && absl::ascii_islower(tag[k + 1]));  // USAToday
      if (boundary) {
        words.push_back(' ');
        ++parts;
      }
    }
    words.push_back(c);
  }
  while (!words.empty() && words.back() == ' ') {
    words.pop_back();
    --parts;
  }
  if (parts < 2) {
    // One word: a lower-case hashtag may still run several together.
    if (text[0] != '#' || !break_word) return 0;
    const std::vector<std::string> pieces = break_word(absl::AsciiStrToLower(tag));
    if (pieces.size() < 2) return 0;
    out->append(absl::StrJoin(pieces, " "));
    return end;
  }
  out->append(words);
  return end;
}

}  // namespace

std::string SplitTags(absl::string_view text, const WordBreaker& break_word) {
  std::string out;
  out.reserve(text.size() + 16);
  const size_t signature = StripSignature(text).size();
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    const bool word_start = i == 0 || IsSpace(text[i - 1]) || text[i - 1] == '(';
    if (word_start && (c == '#' || (c == '@' && i < signature))) {
      std::string words;
      if (const size_t n = AppendTagWords(text.substr(i), break_word, &words); n > 0) {
        // The tag's own word stays (a hashtag's without its '#'): a split can be wrong
        // ("#FERCblockade" -> "FER Cblockade") and a claim may spell the tag ("Anonymous OpKKK").
        const size_t own = c == '#' ? 1 : 0;
        out.append(text.data() + i + own, n - own);
        out.push_back(' ');
        out.append(words);
        i += n;
        continue;
      }
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

size_t TweetSignatureStart(absl::string_view text) {
  static constexpr absl::string_view kEmDash = "\xE2\x80\x94";
  const size_t dash = text.rfind(kEmDash);
  if (dash == absl::string_view::npos) return text.size();
  const absl::string_view tail = text.substr(dash);
  if (tail.size() > 120 || tail.find("(@") == absl::string_view::npos) return text.size();
  return dash;
}

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
