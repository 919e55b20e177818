#include "engine/name_overlap.h"

#include <algorithm>
#include <iterator>

#include "engine/text_analysis.h"

namespace claimmatch {
namespace {

bool IsWordByte(unsigned char c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// The words of `text` (maximal runs of word bytes) with whether each begins with a capital and
// whether it begins a sentence (the first word, or the first after . ! ? or :).
struct Word {
  absl::string_view text;
  bool capital;
  bool sentence_start;
};

std::vector<Word> Words(absl::string_view text) {
  std::vector<Word> words;
  bool start = true;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (!IsWordByte(static_cast<unsigned char>(c))) {
      if (c == '.' || c == '!' || c == '?' || c == ':') start = true;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && IsWordByte(static_cast<unsigned char>(text[j]))) ++j;
    words.push_back({text.substr(i, j - i), c >= 'A' && c <= 'Z', start});
    start = false;
    i = j;
  }
  return words;
}

}  // namespace

std::vector<std::string> NameTerms(absl::string_view text, bool* headline) {
  const std::vector<Word> words = Words(text);
  int letters = 0, capitals = 0;
  std::vector<std::string> terms;
  for (size_t w = 0; w < words.size(); ++w) {
    const Word& word = words[w];
    const char c = word.text[0];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
      ++letters;
      capitals += word.capital;
    }
    if (!word.capital) continue;
    // A capitalised sentence opener is a name only when the next word is capitalised too
    // ("Deputy Attorney General ...", "Rod Rosenstein ..."), not in "Taxes went up".
    if (word.sentence_start &&
        !(w + 1 < words.size() && words[w + 1].capital && !words[w + 1].sentence_start)) {
      continue;
    }
    AnalyzeText(word.text, [&](absl::string_view t) { terms.emplace_back(t); });
  }
  if (headline != nullptr) *headline = letters >= 3 && 2 * capitals > letters;
  SortUnique(terms);
  return terms;
}

bool NamesOnlyOverlap(absl::string_view query, absl::string_view claim, absl::string_view title,
                      absl::FunctionRef<double(absl::string_view term)> idf, double min_idf) {
  std::vector<std::string> q = AnalyzeQueryToTerms(query);
  std::vector<std::string> c = AnalyzeToTerms(claim);
  AnalyzeText(title, [&](absl::string_view t) { c.emplace_back(t); });
  SortUnique(q);
  SortUnique(c);
  std::vector<std::string> shared;
  std::set_intersection(q.begin(), q.end(), c.begin(), c.end(), std::back_inserter(shared));
  if (shared.empty()) return false;
  bool headline = false;
  const std::vector<std::string> q_names = NameTerms(query, &headline);
  const std::vector<std::string> c_names = NameTerms(claim, nullptr);
  bool shares_a_name = false;
  for (const std::string& t : shared) {
    const bool in_q = std::binary_search(q_names.begin(), q_names.end(), t);
    const bool in_c = std::binary_search(c_names.begin(), c_names.end(), t);
    if (headline ? in_q && in_c : in_q || in_c) {
      shares_a_name = true;
    } else if (idf(t) >= min_idf) {
      return false;  // an informative word that is not a name
    }
  }
  return shares_a_name;
}

}  // namespace claimmatch
