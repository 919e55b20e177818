#include "engine/matcher.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "embeddings/status_macros.h"
#include "embeddings/text_clean.h"
#include "engine/text_analysis.h"

namespace claimmatch {
namespace {

// Candidates kept after the preliminary fusion for the full features (which need the claims'
// text, fetched from the store). 60: mean dev MAP@5 0.6664, against 0.6616 at 30 and 0.6642 at 100.
constexpr int kRerankDepth = 60;

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

// Words that are capitalised only because they start a sentence or a quote ("There was no
// collusion", "He said"): not names, so they must not count as a shared name.
bool IsCapitalisedFunctionWord(const std::string& lower) {
  static const auto* const kWords = new std::unordered_set<std::string>{
      "a",        "about",  "after", "all",      "also",  "an",    "and",  "any",   "are",
      "as",       "at",     "be",    "because",  "but",   "by",    "can",  "could", "did",
      "do",       "does",   "don",   "even",     "every", "for",   "from", "had",   "has",
      "have",     "he",     "her",   "here",     "his",   "how",   "if",   "in",    "is",
      "it",       "its",    "just",  "last",     "let",   "many",  "more", "most",  "my",
      "no",       "not",    "now",   "of",       "on",    "one",   "only", "or",    "our",
      "over",     "people", "said",  "says",     "she",   "so",    "some", "that",  "the",
      "their",    "them",   "then",  "there",    "these", "they",  "this", "those", "to",
      "under",    "up",     "was",   "we",       "were",  "what",  "when", "where", "which",
      "while",    "who",    "why",   "will",     "with",  "would", "yes",  "you",   "your",
      "breaking", "new",    "today", "yesterday"};
  return kWords->count(lower) > 0;
}

// Numbers ("2016", "4,250", "3.5") and capitalised words ("Trump", "NATO") of a text, lower-cased,
// except capitalised function words.
void Cues(absl::string_view text, std::unordered_set<std::string>* numbers,
          std::unordered_set<std::string>* names) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = text[i];
    if (!IsWordByte(c)) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() &&
           (IsWordByte(text[j]) || ((text[j] == '.' || text[j] == ',') && j + 1 < text.size() &&
                                    std::isdigit(static_cast<unsigned char>(text[j + 1])) &&
                                    std::isdigit(static_cast<unsigned char>(text[j - 1]))))) {
      ++j;
    }
    const absl::string_view word = text.substr(i, j - i);
    if (std::isdigit(static_cast<unsigned char>(word[0]))) {
      std::string n;
      for (char ch : word) {
        if (ch != ',') n.push_back(ch);
      }
      numbers->insert(n);
    } else if (std::isupper(static_cast<unsigned char>(word[0])) && word.size() >= 2) {
      std::string lower = absl::AsciiStrToLower(word);
      if (!IsCapitalisedFunctionWord(lower)) names->insert(std::move(lower));
    }
    i = j;
  }
}

float Overlap(const std::unordered_set<std::string>& query,
              const std::unordered_set<std::string>& claim) {
  if (query.empty()) return 0;
  int hit = 0;
  for (const std::string& q : query) hit += claim.count(q) ? 1 : 0;
  return static_cast<float>(hit) / static_cast<float>(query.size());
}

bool StartsWithAt(absl::string_view s, size_t i, absl::string_view prefix) {
  return s.substr(i, prefix.size()) == prefix;
}

}  // namespace

absl::string_view MatchModeName(MatchMode mode) {
  switch (mode) {
    case MatchMode::kDense:
      return "dense";
    case MatchMode::kLexical:
      return "lexical";
    case MatchMode::kHybrid:
      return "hybrid";
  }
  return "hybrid";
}

absl::StatusOr<MatchMode> ParseMatchMode(absl::string_view name) {
  if (name == "dense") return MatchMode::kDense;
  if (name == "lexical") return MatchMode::kLexical;
  if (name == "hybrid") return MatchMode::kHybrid;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown mode '", name, "' (expected dense, lexical or hybrid)"));
}

absl::string_view DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kMatch:
      return "match";
    case Decision::kSuggest:
      return "suggest";
    case Decision::kNone:
      return "none";
  }
  return "none";
}

int CountWords(absl::string_view text) {
  int words = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool w = IsWordByte(c);
    if (w && !in_word) ++words;
    in_word = w;
  }
  return words;
}

std::string CleanQueryText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const bool at_word_start = i == 0 || !IsWordByte(text[i - 1]);
    if (StartsWithAt(text, i, "http://") || StartsWithAt(text, i, "https://") ||
        StartsWithAt(text, i, "pic.twitter.com/") ||
        (at_word_start && StartsWithAt(text, i, "www."))) {
      while (i < text.size() && !absl::ascii_isspace(text[i])) ++i;
      continue;
    }
    out.push_back(text[i]);
    ++i;
  }
  // Collapse whitespace.
  std::string collapsed;
  collapsed.reserve(out.size());
  for (char c : out) {
    if (absl::ascii_isspace(c)) {
      if (!collapsed.empty() && collapsed.back() != ' ') collapsed.push_back(' ');
    } else {
      collapsed.push_back(c);
    }
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  return collapsed;
}

Matcher::Matcher(const ClaimDatabase& db, RerankerModel reranker)
    : db_(db), reranker_(std::move(reranker)) {}

absl::StatusOr<std::vector<std::vector<Candidate>>> Matcher::Candidates(
    absl::Span<const std::string> texts, const MatchOptions& options) const {
  const int n = static_cast<int>(texts.size());
  std::vector<std::string> clean(n);
  for (int i = 0; i < n; ++i) {
    clean[i] = CleanQueryText(texts[i]);
    if (clean[i].empty()) clean[i] = texts[i];
  }
  const bool use_dense = options.mode != MatchMode::kLexical && db_.vectors().size() > 0;
  const bool use_lexical = options.mode != MatchMode::kDense;
  const int over = options.filter.languages.empty() && options.filter.publishers.empty() &&
                           options.filter.verdicts.empty() &&
                           options.filter.claim_date_from.empty() &&
                           options.filter.claim_date_to.empty()
                       ? 1
                       : 4;
  EmbeddingMatrix queries;
  std::vector<std::vector<VectorIndex::Hit>> dense_hits(n);
  if (use_dense) {
    // The dense channel sees what the embedding model was trained on: social text without links,
    // handles or tweet signatures (embeddings/text_clean.h).
    std::vector<std::string> social(n);
    for (int i = 0; i < n; ++i) {
      social[i] = CleanSocialText(texts[i]);
      if (social[i].empty()) social[i] = clean[i];
    }
    CM_ASSIGN_OR_RETURN(queries, db_.encoder().Encode(social, TextRole::kQuery));
    CM_ASSIGN_OR_RETURN(dense_hits, db_.vectors().Search(queries, options.dense_candidates * over));
  }
  std::vector<std::vector<Candidate>> out(n);
  for (int q = 0; q < n; ++q) {
    std::unordered_map<ClaimRowId, int> slot;
    std::vector<Candidate>& cands = out[q];
    std::vector<int> dense_rank, lexical_rank;
    auto get = [&](ClaimRowId row) -> int {
      auto [it, inserted] = slot.emplace(row, static_cast<int>(cands.size()));
      if (inserted) {
        cands.emplace_back();
        cands.back().row_id = row;
        dense_rank.push_back(-1);
        lexical_rank.push_back(-1);
      }
      return it->second;
    };
    if (use_dense) {
      for (size_t r = 0; r < dense_hits[q].size(); ++r) {
        const int s = get(dense_hits[q][r].id);
        cands[s].dense = dense_hits[q][r].score;
        dense_rank[s] = static_cast<int>(r);
      }
    }
    double upper = 0;
    if (use_lexical) {
      upper = db_.bm25().ScoreUpperBound(clean[q]);
      const std::vector<Bm25Hit> hits =
          db_.bm25().Search(clean[q], options.lexical_candidates * over);
      for (size_t r = 0; r < hits.size(); ++r) {
        const int s = get(hits[r].first);
        cands[s].bm25 = hits[r].second;
        cands[s].lexical = upper > 0 ? static_cast<float>(hits[r].second / upper) : 0.f;
        lexical_rank[s] = static_cast<int>(r);
      }
    }
    // Cosine for candidates only the lexical channel found.
    if (use_dense) {
      for (size_t s = 0; s < cands.size(); ++s) {
        if (dense_rank[s] >= 0) continue;
        absl::StatusOr<EmbeddingRow> v = db_.vectors().Get(cands[s].row_id);
        if (v.ok()) cands[s].dense = v->dot(queries.row(q));
      }
    }
    float best_dense = -1, best_lexical = 0;
    for (const Candidate& c : cands) {
      best_dense = std::max(best_dense, c.dense);
      best_lexical = std::max(best_lexical, c.lexical);
    }
    for (size_t s = 0; s < cands.size(); ++s) {
      RerankFeatures& f = cands[s].features;
      f.fill(0);
      f[0] = cands[s].dense;
      f[1] = cands[s].lexical;
      f[2] = use_dense ? cands[s].dense - best_dense : 0.f;
      f[3] = best_lexical > 0 ? cands[s].lexical / best_lexical : 0.f;
      f[4] = dense_rank[s] >= 0 ? 1.f / (1 + dense_rank[s]) : 0.f;
      f[5] = lexical_rank[s] >= 0 ? 1.f / (1 + lexical_rank[s]) : 0.f;
      f[6] = dense_rank[s] >= 0 ? 1.f : 0.f;
      f[7] = lexical_rank[s] >= 0 ? 1.f : 0.f;
    }
    // Claim-text features for the best candidates of a preliminary fusion.
    const RerankerModel fusion = RerankerModel::Default();
    std::sort(cands.begin(), cands.end(), [&](const Candidate& a, const Candidate& b) {
      const float sa = fusion.Score(a.features), sb = fusion.Score(b.features);
      return sa != sb ? sa > sb : a.row_id < b.row_id;
    });
    if (static_cast<int>(cands.size()) > kRerankDepth * over) cands.resize(kRerankDepth * over);
    std::vector<ClaimRowId> rows;
    for (const Candidate& c : cands) rows.push_back(c.row_id);
    CM_ASSIGN_OR_RETURN(std::vector<std::optional<ClaimRecord>> records,
                        db_.store().GetByRowIds(rows));
    std::unordered_set<std::string> q_numbers, q_names;
    Cues(clean[q], &q_numbers, &q_names);
    const int q_words = CountWords(clean[q]);
    absl::flat_hash_map<std::string, double> q_idf;  // distinct query terms -> idf
    double q_idf_total = 0;
    for (std::string& t : AnalyzeQueryToTerms(clean[q])) {
      if (q_idf.contains(t)) continue;
      const double idf = db_.bm25().Idf(t);
      q_idf_total += idf;
      q_idf.emplace(std::move(t), idf);
    }
    std::vector<Candidate> kept;
    for (size_t s = 0; s < cands.size(); ++s) {
      if (!records[s].has_value()) continue;  // deleted since the index was loaded
      const ClaimRecord& r = *records[s];
      std::unordered_set<std::string> c_numbers, c_names;
      const std::string body = absl::StrCat(r.text, " ", r.title);
      Cues(body, &c_numbers, &c_names);
      RerankFeatures& f = cands[s].features;
      f[8] = Overlap(q_numbers, c_numbers);
      f[9] = Overlap(q_names, c_names);
      f[10] = std::log((CountWords(r.text) + 1.0f) / (q_words + 1.0f));
      // Coverage, IDF-weighted over distinct terms: of the claim by the query, and of the query
      // by the claim + title.
      double claim_total = 0, claim_hit = 0, query_hit = 0;
      absl::flat_hash_set<std::string> seen;
      for (std::string& t : AnalyzeToTerms(r.text)) {
        if (!seen.insert(t).second) continue;
        const auto it = q_idf.find(t);
        const double idf = it != q_idf.end() ? it->second : db_.bm25().Idf(t);
        claim_total += idf;
        if (it != q_idf.end()) claim_hit += idf;
      }
      for (std::string& t : AnalyzeToTerms(r.title)) seen.insert(std::move(t));
      for (const auto& [t, idf] : q_idf) query_hit += seen.contains(t) ? idf : 0.0;
      f[11] = claim_total > 0 ? static_cast<float>(claim_hit / claim_total) : 0.f;
      f[12] = q_idf_total > 0 ? static_cast<float>(query_hit / q_idf_total) : 0.f;
      kept.push_back(cands[s]);
    }
    cands = std::move(kept);
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<MatchResult>>> Matcher::MatchBatch(
    absl::Span<const std::string> texts, const MatchOptions& options) const {
  CM_ASSIGN_OR_RETURN(std::vector<std::vector<Candidate>> all, Candidates(texts, options));
  const float match_t = options.match_threshold.value_or(reranker_.match_threshold);
  const float suggest_t = options.suggest_threshold.value_or(reranker_.suggest_threshold);
  std::vector<std::vector<MatchResult>> out(texts.size());
  for (size_t q = 0; q < texts.size(); ++q) {
    std::vector<Candidate>& cands = all[q];
    std::vector<float> scores(cands.size());
    for (size_t s = 0; s < cands.size(); ++s) {
      switch (options.mode) {
        case MatchMode::kHybrid:
          scores[s] = reranker_.Score(cands[s].features);
          break;
        case MatchMode::kDense:
          scores[s] = cands[s].dense;
          break;
        case MatchMode::kLexical:
          scores[s] = cands[s].lexical;
          break;
      }
    }
    std::vector<int> order(cands.size());
    for (size_t s = 0; s < order.size(); ++s) order[s] = static_cast<int>(s);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      if (scores[a] != scores[b]) return scores[a] > scores[b];
      if (cands[a].bm25 != cands[b].bm25) return cands[a].bm25 > cands[b].bm25;
      return cands[a].row_id < cands[b].row_id;
    });
    std::vector<ClaimRowId> rows;
    for (int s : order) rows.push_back(cands[s].row_id);
    std::vector<bool> pass(rows.size(), true);
    const ClaimFilter& f = options.filter;
    if (!f.languages.empty() || !f.publishers.empty() || !f.verdicts.empty() ||
        !f.claim_date_from.empty() || !f.claim_date_to.empty()) {
      CM_ASSIGN_OR_RETURN(pass, db_.store().MatchesFilter(rows, f));
    }
    std::vector<ClaimRowId> top;
    std::vector<int> top_slots;
    for (size_t i = 0; i < rows.size() && static_cast<int>(top.size()) < options.k; ++i) {
      if (!pass[i]) continue;
      top.push_back(rows[i]);
      top_slots.push_back(order[i]);
    }
    CM_ASSIGN_OR_RETURN(std::vector<std::optional<ClaimRecord>> records,
                        db_.store().GetByRowIds(top));
    const bool long_enough = CountWords(CleanQueryText(texts[q])) >= options.min_words_for_match;
    for (size_t i = 0; i < top.size(); ++i) {
      if (!records[i].has_value()) continue;
      const Candidate& c = cands[top_slots[i]];
      MatchResult m;
      m.row_id = c.row_id;
      m.claim = std::move(*records[i]);
      m.score = scores[top_slots[i]];
      m.confidence =
          options.mode == MatchMode::kHybrid ? reranker_.Confidence(c.features) : m.score;
      m.dense = c.dense;
      m.lexical = c.lexical;
      m.bm25 = c.bm25;
      if (m.confidence >= match_t && long_enough) {
        m.decision = Decision::kMatch;
      } else if (m.confidence >= suggest_t) {
        m.decision = Decision::kSuggest;
      }
      out[q].push_back(std::move(m));
    }
  }
  return out;
}

absl::StatusOr<std::vector<MatchResult>> Matcher::Match(absl::string_view text,
                                                        const MatchOptions& options) const {
  const std::string one(text);
  CM_ASSIGN_OR_RETURN(auto all, MatchBatch(absl::MakeConstSpan(&one, 1), options));
  return std::move(all[0]);
}

}  // namespace claimmatch
