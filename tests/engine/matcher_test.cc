// Matcher: ranking in the three modes, decisions and the short-text rule, filters, batching, the
// query cleaning helpers, and the re-ranker model (JSON, checksum, training). Quality-sensitive
// expectations use the bundled default model on a small fixed database of distinct claims.
#include "engine/matcher.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "engine/bm25_index.h"
#include "engine/reranker.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

std::string DefaultModelDir() { return JoinPath(testing::TestDataDir(), "../../models/default"); }

ClaimRecord Claim(const std::string& id, const std::string& text, const std::string& verdict,
                  Verdict normalized, const std::string& publisher, const std::string& language,
                  const std::string& claim_date) {
  ClaimRecord r;
  r.id = id;
  r.text = text;
  r.verdict = verdict;
  r.verdict_normalized = normalized;
  r.publisher = publisher;
  r.language = language;
  r.claim_date = claim_date;
  r.review_url = "https://checks.example.org/" + id;
  return r;
}

// Claim(...) said by `claimant`.
ClaimRecord SaidBy(const std::string& claimant, ClaimRecord r) {
  r.claimant = claimant;
  return r;
}

std::vector<ClaimRecord> Claims() {
  return {
      Claim("c01", "Vaccines cause autism in children.", "False", Verdict::kFalse, "Snopes", "en",
            "2019-03-01"),
      Claim("c02", "The moon landing in 1969 was filmed in a Hollywood studio.", "False",
            Verdict::kFalse, "PolitiFact", "en", "2018-07-20"),
      Claim("c03", "Drinking bleach cures the coronavirus.", "False", Verdict::kFalse,
            "FactCheck.org", "en", "2020-04-24"),
      Claim("c04", "The Great Wall of China is visible from space with the naked eye.",
            "Mostly False", Verdict::kMostlyFalse, "Snopes", "en", "2017-05-10"),
      Claim("c05", "Eating carrots dramatically improves your night vision.", "Mixture",
            Verdict::kMixed, "Snopes", "en", "2016-02-11"),
      SaidBy("Donald Trump",
             Claim("c06", "Wind turbines cause cancer in people who live nearby.", "Pants on Fire",
                   Verdict::kFalse, "PolitiFact", "en", "2019-04-02")),
      SaidBy("Donald Trump", Claim("c07", "Springfield banned gas stoves in all new homes in 2021.",
                                   "True", Verdict::kTrue, "PolitiFact", "en", "2021-06-15")),
      Claim("c08", "Bill Gates plans to implant microchips in people through COVID-19 vaccines.",
            "False", Verdict::kFalse, "Snopes", "en", "2020-05-05"),
      Claim("c09", "A vacina contra a gripe causa paralisia facial em idosos.", "Falso",
            Verdict::kFalse, "Agência Lupa", "pt-BR", "2020-10-01"),
      Claim("c10", "O governo vai confiscar a poupança dos brasileiros em 2023.", "Falso",
            Verdict::kFalse, "Aos Fatos", "pt", "2022-11-10"),
      SaidBy(" donald TRUMP", Claim("c11", "Sharks cannot get cancer, so shark cartilage cures it.",
                                    "False", Verdict::kFalse, "FactCheck.org", "en", "")),
      Claim("c12", "The Eiffel Tower was originally built for the city of Barcelona.", "Half True",
            Verdict::kMixed, "Full Fact", "en", "2020-12-31"),
  };
}

class MatcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = LoadSentenceEncoder(DefaultModelDir());
    ASSERT_THAT(e, IsOk());
    encoder_ = e->release();
    dir_ = new std::string(testing::MakeTempDir("matcher_db"));
    auto db = ClaimDatabase::Open(*dir_, ClaimDatabase::Mode::kReadWrite, *encoder_);
    ASSERT_THAT(db, IsOk());
    const std::vector<ClaimRecord> claims = Claims();
    auto summary = (*db)->Ingest(claims);
    ASSERT_THAT(summary, IsOk());
    ASSERT_EQ(summary->added, 12);
    db_ = db->release();
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
    delete encoder_;
    encoder_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(db_, nullptr);
    matcher_ = std::make_unique<Matcher>(*db_, RerankerModel::Default());
  }

  std::vector<MatchResult> MatchOrDie(const std::string& text, const MatchOptions& options) {
    auto r = matcher_->Match(text, options);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? *std::move(r) : std::vector<MatchResult>{};
  }
  // The results for `text` in `mode` (default options otherwise), after checking that claim `id`
  // comes first.
  std::vector<MatchResult> ExpectFirst(const std::string& text, MatchMode mode,
                                       const std::string& id) {
    MatchOptions o;
    o.mode = mode;
    std::vector<MatchResult> r = MatchOrDie(text, o);
    EXPECT_FALSE(r.empty()) << MatchModeName(mode) << ": " << text;
    if (!r.empty()) {
      EXPECT_EQ(r[0].claim.id, id) << MatchModeName(mode) << ": " << text;
    }
    return r;
  }
  static std::vector<std::string> Ids(const std::vector<MatchResult>& results) {
    std::vector<std::string> ids;
    for (const MatchResult& m : results) ids.push_back(m.claim.id);
    return ids;
  }
  static std::set<std::string> IdSet(const std::vector<MatchResult>& results) {
    const std::vector<std::string> ids = Ids(results);
    return std::set<std::string>(ids.begin(), ids.end());
  }
  // Every claim of the database passing `filter` (k larger than the database; the dense channel
  // of the hybrid mode retrieves every claim of so small a database).
  std::set<std::string> Filtered(const ClaimFilter& filter) {
    MatchOptions o;
    o.k = 50;
    o.filter = filter;
    return IdSet(MatchOrDie("vaccines cause cancer and autism", o));
  }

  // The features of claim `id` among the candidates of `text` (all zero, and a failure, when it
  // is not a candidate).
  RerankFeatures FeaturesOf(const std::string& text, const std::string& id,
                            const MatchOptions& options = MatchOptions()) {
    MatchOptions all_claims;
    all_claims.k = 50;  // every claim: the row ids by claim id
    ClaimRowId row = -1;
    for (const MatchResult& m : MatchOrDie("vaccines cause cancer and autism", all_claims)) {
      if (m.claim.id == id) row = m.row_id;
    }
    auto all = matcher_->Candidates({text}, options);
    EXPECT_THAT(all, IsOk());
    if (all.ok()) {
      for (const Candidate& c : (*all)[0]) {
        if (c.row_id == row) return c.features;
      }
    }
    ADD_FAILURE() << id << " is not a candidate of " << text;
    return {};
  }

  static SentenceEncoder* encoder_;
  static ClaimDatabase* db_;
  static std::string* dir_;
  std::unique_ptr<Matcher> matcher_;
};
SentenceEncoder* MatcherTest::encoder_ = nullptr;
ClaimDatabase* MatcherTest::db_ = nullptr;
std::string* MatcherTest::dir_ = nullptr;

TEST_F(MatcherTest, ParaphraseRanksItsClaimFirstInEveryMode) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"If you drink bleach it will cure you of the coronavirus", "c03"},
      {"You can see the Great Wall of China from space with your naked eye", "c04"},
      {"Bill Gates wants to implant microchips in people with the COVID-19 vaccines", "c08"},
      {"People who live near wind turbines get cancer from them", "c06"},
  };
  for (MatchMode mode : {MatchMode::kHybrid, MatchMode::kDense, MatchMode::kLexical}) {
    for (const auto& [text, id] : cases) {
      const std::vector<MatchResult> r = ExpectFirst(text, mode, id);
      if (r.empty()) continue;
      EXPECT_GE(r[0].row_id, 0);
      if (mode == MatchMode::kLexical) {
        EXPECT_EQ(r[0].dense, 0) << "dense channel is off in lexical mode";
        EXPECT_GT(r[0].lexical, 0);
      }
      if (mode == MatchMode::kDense) {
        EXPECT_EQ(r[0].lexical, 0) << "lexical channel is off in dense mode";
        EXPECT_EQ(r[0].score, r[0].dense);
      }
      if (mode != MatchMode::kHybrid) {
        EXPECT_EQ(r[0].confidence, r[0].score);
      }
    }
  }
}

// Compound hashtags and handles are spelled out (SplitTags): their words reach BM25, which holds
// no "greatwallofchina" or "billgates".
TEST_F(MatcherTest, CompoundTagsAreSpelledOut) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"#GreatWallOfChina #VisibleFromSpace https://t.co/x", "c04"},
      {"@BillGates #COVID19 #MicroChips", "c08"},
  };
  for (MatchMode mode : {MatchMode::kLexical, MatchMode::kHybrid}) {
    for (const auto& [text, id] : cases) {
      const std::vector<MatchResult> r = ExpectFirst(text, mode, id);
      if (!r.empty()) {
        EXPECT_GT(r[0].lexical, 0) << MatchModeName(mode) << ": " << text;
      }
    }
  }
  // A lower-case hashtag is broken into words that at least two claims hold (BreakWord over the
  // BM25 vocabulary): "cause" (c01, c06) and "cancer" (c06, c11) make c06 first. "great", "wall"
  // and "china" are in one claim each, so "#greatwallofchina" stays one unknown word.
  for (MatchMode mode : {MatchMode::kLexical, MatchMode::kHybrid}) {
    ExpectFirst("#causecancer", mode, "c06");
  }
  MatchOptions lexical;
  lexical.mode = MatchMode::kLexical;
  EXPECT_THAT(MatchOrDie("#greatwallofchina", lexical), ::testing::IsEmpty());
  EXPECT_THAT(MatchOrDie("@causecancer", lexical), ::testing::IsEmpty());  // handles are not broken
}

// With the built-in fusion the confidence is sigmoid(8 * (0.25 cosine + 0.75 lexical) - 4) and the
// decision compares it with the thresholds. (An exact repeat reaches only about 0.6-0.8 here:
// below the default match threshold 0.9.)
TEST_F(MatcherTest, DecisionComesFromConfidenceOfTheFusion) {
  MatchOptions o;
  o.k = 12;
  const std::vector<MatchResult> r = MatchOrDie("Drinking bleach cures the coronavirus!", o);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].claim.id, "c03");
  EXPECT_EQ(r[0].claim.verdict, "False");
  EXPECT_EQ(r[0].claim.publisher, "FactCheck.org");
  EXPECT_EQ(r[0].claim.review_url, "https://checks.example.org/c03");
  EXPECT_NE(r[0].decision, Decision::kNone) << "confidence " << r[0].confidence;
  EXPECT_GT(r[0].dense, 0.9f);
  const RerankerModel d = RerankerModel::Default();
  for (const MatchResult& m : r) {
    const float expected =
        1.0f / (1.0f + std::exp(-(8 * (0.25f * m.dense + 0.75f * m.lexical) - 4)));
    EXPECT_NEAR(m.confidence, expected, 1e-5) << m.claim.id;
    EXPECT_NEAR(m.score, expected, 1e-5) << m.claim.id;  // same model for ranking
    const Decision want = m.confidence >= d.match_threshold     ? Decision::kMatch
                          : m.confidence >= d.suggest_threshold ? Decision::kSuggest
                                                                : Decision::kNone;
    EXPECT_EQ(m.decision, want) << m.claim.id << " confidence " << m.confidence;
  }
  // A lower match threshold passed in the options turns the top result into a match.
  o.match_threshold = r[0].confidence;
  const std::vector<MatchResult> lowered = MatchOrDie("Drinking bleach cures the coronavirus!", o);
  ASSERT_FALSE(lowered.empty());
  EXPECT_EQ(lowered[0].decision, Decision::kMatch);
}

// Regression (was a bug in calibration of RerankerModel::Default(), engine/reranker.cc, with the
// lexical feature of engine/matcher.cc): the lexical feature divides BM25 by ScoreUpperBound (idf x
// (k1 + 1) per term), which one occurrence in a document of average length reaches only to 1 / (k1
// + 1) = 0.45. On this database the twelve exact repeats get lexical 0.40..0.56 and cosine 1, so
// confidence sigmoid(8 x (0.25 + 0.75 x lexical) - 4) = 0.60..0.80: never the built-in match
// threshold 0.9. With no trained reranker.json (the bundled models/default has none) lookup, flag
// and score never answer `match`.
TEST_F(MatcherTest, ExactRepeatIsAMatchWithBuiltInThresholds) {
  for (const ClaimRecord& c : Claims()) {
    if (CountWords(c.text) < 4) continue;
    const std::vector<MatchResult> r = MatchOrDie(c.text, MatchOptions{});
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(r[0].claim.id, c.id);
    EXPECT_EQ(r[0].decision, Decision::kMatch)
        << c.id << " confidence " << r[0].confidence << " lexical " << r[0].lexical;
  }
}

TEST_F(MatcherTest, UnrelatedSentenceGetsNoneForEveryResult) {
  for (MatchMode mode : {MatchMode::kHybrid, MatchMode::kDense, MatchMode::kLexical}) {
    MatchOptions o;
    o.mode = mode;
    o.k = 12;
    const std::vector<MatchResult> r =
        MatchOrDie("The recipe needs two cups of flour and an egg.", o);
    if (mode != MatchMode::kLexical) {
      EXPECT_FALSE(r.empty());
    }
    for (const MatchResult& m : r) {
      EXPECT_EQ(m.decision, Decision::kNone)
          << MatchModeName(mode) << " " << m.claim.id << " confidence " << m.confidence;
      EXPECT_LT(m.confidence, RerankerModel::Default().suggest_threshold);
    }
  }
}

// A text without a letter or digit gets no results in any mode (not the nearest claims to an
// empty vector), alone or in a batch beside a real query.
TEST_F(MatcherTest, TextWithoutWordsGetsNoResults) {
  for (MatchMode mode : {MatchMode::kHybrid, MatchMode::kDense, MatchMode::kLexical}) {
    MatchOptions o;
    o.mode = mode;
    o.k = 12;
    for (const char* text : {"", "   ", "?! ...", "\t\n", "\xF0\x9F\x94\xA5\xF0\x9F\x94\xA5 !!"}) {
      EXPECT_THAT(MatchOrDie(text, o), IsEmpty()) << MatchModeName(mode) << " '" << text << "'";
    }
    auto batch = matcher_->MatchBatch({"  ", "wind turbines cause cancer"}, o);
    ASSERT_THAT(batch, IsOk());
    ASSERT_EQ(batch->size(), 2u);
    EXPECT_THAT((*batch)[0], IsEmpty());
    EXPECT_THAT((*batch)[1], Not(IsEmpty())) << MatchModeName(mode);
  }
}

TEST_F(MatcherTest, ShortTextIsAtMostSuggestedUnlessMinWordsAllowsIt) {
  MatchOptions o;
  o.match_threshold = 0.0f;  // every result clears both thresholds
  o.suggest_threshold = 0.0f;
  o.names_only_min_idf = 0;  // and no name-only rule
  o.min_words_for_match = 4;
  const std::string query = "bleach coronavirus";
  ASSERT_EQ(CountWords(query), 2);
  std::vector<MatchResult> r = MatchOrDie(query, o);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].claim.id, "c03");
  for (const MatchResult& m : r) EXPECT_EQ(m.decision, Decision::kSuggest) << m.claim.id;

  o.min_words_for_match = 2;  // exactly the query's word count: long enough
  r = MatchOrDie(query, o);
  ASSERT_FALSE(r.empty());
  for (const MatchResult& m : r) EXPECT_EQ(m.decision, Decision::kMatch) << m.claim.id;

  o.min_words_for_match = 1;
  r = MatchOrDie(query, o);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].claim.id, "c03");
  for (const MatchResult& m : r) EXPECT_EQ(m.decision, Decision::kMatch) << m.claim.id;

  // Thresholds above every confidence: nothing is suggested or matched.
  o.match_threshold = 1.01f;
  o.suggest_threshold = 1.01f;
  r = MatchOrDie(query, o);
  for (const MatchResult& m : r) EXPECT_EQ(m.decision, Decision::kNone) << m.claim.id;
}

// Regression (was a bug in engine/matcher.cc, MatchBatch: `CountWords(texts[q])`): the short-text
// rule counts the words of the raw text, links included, while the query matched is the cleaned
// one. A two-word tweet with a t.co link counts as 6 words ("https", "t", "co", "AbCdEf") and can
// be auto-matched.
//
TEST_F(MatcherTest, ShortTextRuleIgnoresLinksAndCountsTagsAsWritten) {
  MatchOptions o;
  o.match_threshold = 0.0f;
  o.suggest_threshold = 0.0f;
  o.min_words_for_match = 4;
  const std::vector<MatchResult> r = MatchOrDie("bleach coronavirus https://t.co/AbCdEf", o);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].claim.id, "c03");
  EXPECT_EQ(r[0].decision, Decision::kSuggest);
  // A tag is one word as written, whatever SplitTags spells out for matching.
  const std::vector<MatchResult> tag = MatchOrDie("#VaccinesCauseAutism", o);
  ASSERT_FALSE(tag.empty());
  EXPECT_EQ(tag[0].claim.id, "c01");
  EXPECT_EQ(tag[0].decision, Decision::kSuggest);
  const std::vector<MatchResult> sentence = MatchOrDie("they say vaccines cause autism", o);
  ASSERT_FALSE(sentence.empty());
  EXPECT_EQ(sentence[0].decision, Decision::kMatch);
}

// Regression: the short-text rule counted any run of non-ASCII bytes as a word, so a Chinese
// sentence was one word (never auto-matched) and emoji padded a two-word post to five.
TEST_F(MatcherTest, ShortTextRuleCountsWordsOfEveryScript) {
  MatchOptions o;
  o.match_threshold = 0.0f;
  o.suggest_threshold = 0.0f;
  o.names_only_min_idf = 0;
  o.min_words_for_match = 4;
  // "The covid vaccine changes human DNA": six dictionary words.
  const std::vector<MatchResult> chinese = MatchOrDie(
      "\xE6\x96\xB0\xE5\x86\xA0\xE7\x96\xAB\xE8\x8B\x97\xE4\xBC\x9A\xE6\x94\xB9"
      "\xE5\x8F\x98\xE4\xBA\xBA\xE7\x9A\x84"
      "DNA",
      o);
  ASSERT_FALSE(chinese.empty());
  EXPECT_EQ(chinese[0].decision, Decision::kMatch);
  const std::string fire = "\xF0\x9F\x94\xA5";
  const std::vector<MatchResult> emoji =
      MatchOrDie(fire + " bleach coronavirus " + fire + " " + fire, o);
  ASSERT_FALSE(emoji.empty());
  EXPECT_EQ(emoji[0].claim.id, "c03");
  EXPECT_EQ(emoji[0].decision, Decision::kSuggest);
}

// The name-overlap feature counts capitalised words that are names, not words capitalised because
// they open a sentence ("The", "There", "This"): a query with no names shares none.
TEST_F(MatcherTest, NameOverlapIgnoresSentenceInitialFunctionWords) {
  auto name_overlap = [&](const std::string& text, const std::string& id) {
    return FeaturesOf(text, id)[9];
  };
  // c02 is "The moon landing in 1969 was filmed in a Hollywood studio."
  EXPECT_EQ(name_overlap("The moon landing was staged, they say.", "c02"), 0.0f);
  EXPECT_EQ(name_overlap("There was never a moon landing in a Hollywood studio.", "c02"), 1.0f);
  // c12: "The Eiffel Tower was originally built for the city of Barcelona."
  EXPECT_EQ(name_overlap("This is why the Eiffel Tower was built: Barcelona and Madrid.", "c12"),
            0.75f);  // eiffel, tower, barcelona of {eiffel, tower, barcelona, madrid}
}

// Coverage features: the IDF-weighted share of the claim's terms found in the query (11) and of
// the query's terms found in the claim + title (12).
// "Bill Gates bought a farm" shares only the names Bill Gates (and "in") with c08: even with
// every confidence above the match threshold it is at most suggested, unless the rule is off.
TEST_F(MatcherTest, NamesOnlyOverlapIsAtMostSuggested) {
  MatchOptions o;
  o.match_threshold = 0.0f;
  o.suggest_threshold = 0.0f;
  o.k = 12;
  const std::string query = "Bill Gates bought a huge farm in Washington state";
  auto decision_of = [&](const std::vector<MatchResult>& r, const std::string& id) {
    for (const MatchResult& m : r) {
      if (m.claim.id == id) return m.decision;
    }
    ADD_FAILURE() << id << " not returned";
    return Decision::kNone;
  };
  std::vector<MatchResult> r = MatchOrDie(query, o);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].claim.id, "c08");
  EXPECT_EQ(decision_of(r, "c08"), Decision::kSuggest);
  // Claims sharing nothing with the query keep the re-ranker's decision.
  EXPECT_EQ(decision_of(r, "c12"), Decision::kMatch);
  o.names_only_min_idf = 0;
  r = MatchOrDie(query, o);
  EXPECT_EQ(decision_of(r, "c08"), Decision::kMatch);
  // The paraphrase shares "microchip" and "vaccin": a match.
  o.names_only_min_idf = 2.0;
  r = MatchOrDie("Bill Gates wants to put microchips in everyone with vaccines", o);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].claim.id, "c08");
  EXPECT_EQ(r[0].decision, Decision::kMatch);
}

TEST_F(MatcherTest, CoverageFeaturesAreIdfWeightedShares) {
  // An exact repeat covers the claim and is covered by it.
  RerankFeatures f = FeaturesOf("Drinking bleach cures the coronavirus.", "c03");
  EXPECT_FLOAT_EQ(f[11], 1.0f);
  EXPECT_FLOAT_EQ(f[12], 1.0f);
  // Part of the claim: the query is covered, the claim only partly ("cures", "coronavirus"
  // missing), and stop words do not count ("the" is weighted by its low idf, not dropped).
  f = FeaturesOf("Drinking bleach!", "c03");
  EXPECT_FLOAT_EQ(f[12], 1.0f);
  EXPECT_GT(f[11], 0.2f);
  EXPECT_LT(f[11], 0.8f);
  // More than the claim: the claim is covered, the query only partly.
  f = FeaturesOf("Drinking bleach cures the coronavirus, and garlic prevents measles in toddlers.",
                 "c03");
  EXPECT_FLOAT_EQ(f[11], 1.0f);
  EXPECT_LT(f[12], 0.7f);
  // Nothing shared.
  f = FeaturesOf("Drinking bleach cures the coronavirus.", "c12");
  EXPECT_LT(f[11], 0.15f);  // only "the" is shared
}

// Date proximity: exp(-days apart / 7) between an embedded tweet's signature date and the claim's
// date (c03: 2020-04-24); 0 without a signature date or without a claim date (c11 has none).
// Claims stated after the text are kept here (later_claim_days -1; see the next test).
TEST_F(MatcherTest, DateProximityComparesTheTweetsDateWithTheClaims) {
  const std::string tweet =
      "Drinking bleach cures the coronavirus \xE2\x80\x94 Some One (@someone) ";
  MatchOptions keep_later;
  keep_later.later_claim_days = -1;
  EXPECT_FLOAT_EQ(FeaturesOf(tweet + "April 24, 2020", "c03")[13], 1.0f);
  EXPECT_NEAR(FeaturesOf(tweet + "May 1, 2020", "c03")[13], std::exp(-1.0f), 1e-6);
  EXPECT_NEAR(FeaturesOf(tweet + "April 10, 2020", "c03", keep_later)[13], std::exp(-2.0f), 1e-6);
  EXPECT_EQ(FeaturesOf("Drinking bleach cures the coronavirus", "c03")[13], 0.0f);
  EXPECT_EQ(FeaturesOf(tweet + "2020", "c03")[13], 0.0f);  // a year is not a day
  // The same at a year's scale: exp(-|days| / 365).
  EXPECT_FLOAT_EQ(FeaturesOf(tweet + "April 24, 2020", "c03")[14], 1.0f);
  EXPECT_NEAR(FeaturesOf(tweet + "May 1, 2020", "c03")[14], std::exp(-7.0f / 365), 1e-6);
  EXPECT_NEAR(FeaturesOf(tweet + "April 24, 2021", "c03")[14], std::exp(-1.0f), 1e-6);
  EXPECT_EQ(FeaturesOf("Drinking bleach cures the coronavirus", "c03")[14], 0.0f);
  EXPECT_EQ(FeaturesOf("Sharks cannot get cancer \xE2\x80\x94 A (@a) April 24, 2020", "c11")[13],
            0.0f);

  // A given date (MatchOptions::date, MatchBatch's per-text dates) wins over the signature's.
  RerankerModel dated_model = RerankerModel::Default();
  dated_model.weights[13] = 4;
  const Matcher dated(*db_, dated_model);
  auto proximity_to_c03 = [&](const std::string& text, const MatchOptions& o,
                              std::vector<std::string> dates) -> float {
    auto r = dated.MatchBatch({text}, o, dates);
    EXPECT_THAT(r, IsOk());
    if (!r.ok() || (*r)[0].empty() || (*r)[0][0].claim.id != "c03") return -1;
    return (*r)[0][0].score;
  };
  MatchOptions none, given;
  none.later_claim_days = given.later_claim_days = -1;
  given.date = "2020-04-24";
  const std::string plain = "Drinking bleach cures the coronavirus";
  const float undated = proximity_to_c03(plain, none, {});
  const float same_day = proximity_to_c03(plain, given, {});
  const std::string old_tweet = tweet + "January 1, 2010";  // ten years before the check
  EXPECT_LT(proximity_to_c03(old_tweet, none, {}), proximity_to_c03(old_tweet, given, {}));
  EXPECT_EQ(proximity_to_c03(old_tweet, none, {"2020-04-24"}),
            proximity_to_c03(old_tweet, given, {}));
  EXPECT_EQ(proximity_to_c03(plain, none, {"April 24, 2020"}), same_day);
  EXPECT_EQ(proximity_to_c03(plain, given, {""}), same_day);    // "" leaves options.date
  EXPECT_EQ(proximity_to_c03(plain, none, {"2020"}), undated);  // not a day: none
  EXPECT_GT(same_day, undated);
  EXPECT_THAT(dated.MatchBatch({plain, plain}, none, {"2020-04-24"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 dates for 2 texts")));
  // Candidates (what `train reranker` featurises) reads the same dates.
  auto dated_candidates = dated.Candidates({plain}, none, {"2020-04-24"});
  ASSERT_THAT(dated_candidates, IsOk());
  float c03_proximity = -1;
  for (const Candidate& c : (*dated_candidates)[0]) {
    if (c.features[13] > c03_proximity) c03_proximity = c.features[13];
  }
  EXPECT_EQ(c03_proximity, 1.0f);
  EXPECT_THAT(dated.Candidates({plain, plain}, none, {"2020-04-24"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 dates for 2 texts")));
}

// A dated text does not repeat a claim first stated more than later_claim_days (default 1) after
// it: such claims are left out, in every mode, with the snapshot and without it. c03 ("Drinking
// bleach cures the coronavirus.") was stated on 2020-04-24.
TEST_F(MatcherTest, ClaimsStatedAfterADatedTextAreLeftOut) {
  const std::string plain = "Drinking bleach cures the coronavirus";
  const Matcher without_snapshot(*db_, RerankerModel::Default(), /*max_snapshot_claims=*/0);
  // The ids of all the results (k = 12) for `text` dated `date` ("": undated).
  const auto ids = [](const Matcher& m, const std::string& text, MatchOptions o,
                      const std::string& date) {
    o.k = 12;
    auto r = m.MatchBatch({text}, o, {date});
    EXPECT_THAT(r, IsOk());
    return r.ok() ? IdSet((*r)[0]) : std::set<std::string>{};
  };
  const auto has_c03 = [&](const Matcher& m, const std::string& text, const MatchOptions& o,
                           const std::string& date) {
    return ids(m, text, o, date).count("c03") > 0;
  };
  for (const Matcher* m : {static_cast<const Matcher*>(matcher_.get()), &without_snapshot}) {
    for (const MatchMode mode : {MatchMode::kHybrid, MatchMode::kDense, MatchMode::kLexical}) {
      SCOPED_TRACE(absl::StrCat(MatchModeName(mode), m == matcher_.get() ? "" : ", no snapshot"));
      MatchOptions o;
      o.mode = mode;
      EXPECT_TRUE(has_c03(*m, plain, o, ""));
      EXPECT_TRUE(has_c03(*m, plain, o, "2020-04-24"));  // the same day
      EXPECT_TRUE(has_c03(*m, plain, o, "2020-04-23"));  // a day before: within the margin
      EXPECT_TRUE(has_c03(*m, plain, o, "2020-06-01"));  // after the claim
      EXPECT_FALSE(has_c03(*m, plain, o, "2020-04-22"));
      EXPECT_FALSE(has_c03(*m, plain, o, "2019-01-01"));
      o.later_claim_days = 2;
      EXPECT_TRUE(has_c03(*m, plain, o, "2020-04-22"));
      EXPECT_FALSE(has_c03(*m, plain, o, "2020-04-21"));
      o.later_claim_days = -1;
      EXPECT_TRUE(has_c03(*m, plain, o, "2019-01-01"));
    }
  }
  // Dated 2019-01-01, every claim stated after 2019-01-02 goes; those stated before stay, and so
  // does c11, which has no claim date.
  const std::set<std::string> undated = ids(*matcher_, plain, MatchOptions(), "");
  std::set<std::string> expected = undated;
  for (const char* later : {"c03", "c06", "c07", "c08", "c09", "c10", "c12", "c01"}) {
    expected.erase(later);
  }
  EXPECT_EQ(ids(*matcher_, plain, MatchOptions(), "2019-01-01"), expected);
  EXPECT_EQ(expected, (std::set<std::string>{"c02", "c04", "c05", "c11"}));
  // MatchOptions::date and an embedded tweet's signature date count as the text's date too.
  MatchOptions dated;
  dated.date = "April 1, 2020";
  EXPECT_FALSE(has_c03(*matcher_, plain, dated, ""));
  const std::string tweet = plain + " \xE2\x80\x94 Some One (@someone) ";
  EXPECT_FALSE(has_c03(*matcher_, tweet + "April 1, 2020", MatchOptions(), ""));
  EXPECT_TRUE(has_c03(*matcher_, tweet + "April 24, 2020", MatchOptions(), ""));
  // Candidates (what `train reranker` featurises) leaves them out the same way.
  ClaimRowId c03 = -1;
  for (const MatchResult& r : MatchOrDie(plain, MatchOptions())) {
    if (r.claim.id == "c03") c03 = r.row_id;
  }
  ASSERT_GE(c03, 0);
  const auto candidate_rows = [&](const std::string& date) {
    std::set<ClaimRowId> rows;
    auto all = matcher_->Candidates({plain}, MatchOptions(), {date});
    EXPECT_THAT(all, IsOk());
    if (all.ok()) {
      for (const Candidate& c : (*all)[0]) rows.insert(c.row_id);
    }
    return rows;
  };
  EXPECT_EQ(candidate_rows("2020-04-24").count(c03), 1u);
  EXPECT_EQ(candidate_rows("2020-04-22").count(c03), 0u);
}

// Only the claim date counts: a claim known by its review date alone (when it was checked, not
// when it was first said) is kept whatever the text's date.
TEST_F(MatcherTest, AReviewDateDoesNotLeaveAClaimOut) {
  const std::string dir = testing::MakeTempDir("matcher_review_dates");
  auto db = ClaimDatabase::Open(dir, ClaimDatabase::Mode::kReadWrite, *encoder_);
  ASSERT_THAT(db, IsOk());
  ClaimRecord reviewed = Claims()[2];  // c03
  reviewed.claim_date.clear();
  reviewed.review_date = "2020-04-24";
  ClaimRecord stated = Claims()[3];  // c04, stated 2017-05-10
  ASSERT_THAT((*db)->Ingest({reviewed, stated}), IsOk());
  const Matcher m(**db, RerankerModel::Default());
  MatchOptions o;
  o.k = 2;
  for (const std::string& text : {std::string("Drinking bleach cures the coronavirus"),
                                  std::string("The Great Wall of China is visible from space")}) {
    auto r = m.MatchBatch({text}, o, {"2010-01-01"});
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(IdSet((*r)[0]), (std::set<std::string>{"c03"})) << text;
  }
}

// The lexical feature is the BM25 score over the index's ScoreUpperBound of the cleaned query
// (the matcher computes the bound from its own analysis of the query: it must be the same double).
TEST_F(MatcherTest, LexicalFractionUsesTheIndexUpperBound) {
  const std::string text = "Drinking bleach cures the coronavirus, says https://t.co/x a doctor";
  const double upper = db_->bm25().ScoreUpperBound(CleanQueryText(text));
  ASSERT_GT(upper, 0);
  auto all = matcher_->Candidates({text}, MatchOptions());
  ASSERT_THAT(all, IsOk());
  int lexical = 0;
  for (const Candidate& c : (*all)[0]) {
    if (c.bm25 <= 0) continue;
    ++lexical;
    EXPECT_EQ(c.lexical, static_cast<float>(c.bm25 / upper));
  }
  EXPECT_GT(lexical, 0);
}

TEST_F(MatcherTest, UnfilteredReturnsEveryClaimWithLargeK) {
  EXPECT_THAT(Filtered(ClaimFilter{}), SizeIs(12));
}

TEST_F(MatcherTest, LanguageFilter) {
  ClaimFilter f;
  f.languages = {"pt"};  // also "pt-BR"
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c09", "c10"}));
  f.languages = {"PT-br"};
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c09"}));
  f.languages = {"en"};
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c01", "c02", "c03", "c04", "c05", "c06", "c07",
                                                "c08", "c11", "c12"}));
}

TEST_F(MatcherTest, PublisherFilter) {
  ClaimFilter f;
  f.publishers = {"Snopes"};
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c01", "c04", "c05", "c08"}));
  f.publishers = {"PolitiFact", "Agência Lupa"};
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c02", "c06", "c07", "c09"}));
  f.publishers = {"snopes"};  // exact
  EXPECT_EQ(Filtered(f), (std::set<std::string>{}));
}

TEST_F(MatcherTest, VerdictFilter) {
  ClaimFilter f;
  f.verdicts = {Verdict::kMixed};
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c05", "c12"}));
  f.verdicts = {Verdict::kTrue, Verdict::kMostlyFalse};
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c04", "c07"}));
}

TEST_F(MatcherTest, ClaimDateFilter) {
  ClaimFilter f;
  f.claim_date_from = "2020";
  f.claim_date_to = "2020";  // all of 2020, bounds inclusive
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c03", "c08", "c09", "c12"}));
  f.claim_date_from = "2019-03-02";
  f.claim_date_to = "";
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c03", "c06", "c07", "c08", "c09", "c10", "c12"}));
  f.claim_date_from = "";
  f.claim_date_to = "2018-07-20";
  EXPECT_EQ(Filtered(f), (std::set<std::string>{"c02", "c04", "c05"}));
}

TEST_F(MatcherTest, FilterKeepsBestAllowedClaimFirst) {
  MatchOptions o;
  o.filter.publishers = {"Snopes"};
  const std::vector<MatchResult> r =
      MatchOrDie("Bill Gates wants to implant microchips in people with the COVID-19 vaccines", o);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].claim.id, "c08");
  o.filter.publishers = {"PolitiFact"};
  for (const MatchResult& m : MatchOrDie(
           "Bill Gates wants to implant microchips in people with the COVID-19 vaccines", o)) {
    EXPECT_EQ(m.claim.publisher, "PolitiFact");
  }
}

TEST_F(MatcherTest, KLimitsResultsAndResultsAreSortedByScore) {
  for (MatchMode mode : {MatchMode::kHybrid, MatchMode::kDense, MatchMode::kLexical}) {
    MatchOptions o;
    o.mode = mode;
    o.k = 3;
    std::vector<MatchResult> r = MatchOrDie("vaccines cause autism and cancer", o);
    EXPECT_THAT(r, SizeIs(3)) << MatchModeName(mode);
    o.k = 1;
    EXPECT_THAT(MatchOrDie("vaccines cause autism and cancer", o), SizeIs(1));
    o.k = 12;
    r = MatchOrDie("vaccines cause autism and cancer", o);
    if (mode != MatchMode::kLexical) {
      EXPECT_THAT(r, SizeIs(12)) << MatchModeName(mode);
    }
    for (size_t i = 1; i < r.size(); ++i) {
      EXPECT_GE(r[i - 1].score, r[i].score) << MatchModeName(mode) << " at " << i;
    }
  }
}

TEST_F(MatcherTest, MatchBatchEqualsMatchOneByOne) {
  const std::vector<std::string> texts = {
      "If you drink bleach it will cure you of the coronavirus",
      "The recipe needs two cups of flour and an egg.",
      "A vacina da gripe causa paralisia facial nos idosos",
      "moon landing studio",
      "Sharks never get cancer https://t.co/xyz",
  };
  for (MatchMode mode : {MatchMode::kHybrid, MatchMode::kDense, MatchMode::kLexical}) {
    MatchOptions o;
    o.mode = mode;
    o.k = 4;
    auto batch = matcher_->MatchBatch(texts, o);
    ASSERT_THAT(batch, IsOk());
    ASSERT_THAT(*batch, SizeIs(texts.size()));
    for (size_t i = 0; i < texts.size(); ++i) {
      const std::vector<MatchResult> one = MatchOrDie(texts[i], o);
      EXPECT_EQ(Ids((*batch)[i]), Ids(one)) << MatchModeName(mode) << ": " << texts[i];
      ASSERT_EQ((*batch)[i].size(), one.size());
      for (size_t j = 0; j < one.size(); ++j) {
        EXPECT_NEAR((*batch)[i][j].score, one[j].score, 1e-5);
        EXPECT_NEAR((*batch)[i][j].confidence, one[j].confidence, 1e-5);
        EXPECT_EQ((*batch)[i][j].decision, one[j].decision);
      }
    }
  }
}

// The in-memory snapshot (claim cues, word counts, a copy of the flat vectors) and the path that
// reads the store and the vector index per query give the same candidates, features and results.
TEST_F(MatcherTest, SnapshotAndStorePathsAgree) {
  const Matcher without_snapshot(*db_, RerankerModel::Default(), /*max_snapshot_claims=*/0);
  ASSERT_THAT(matcher_->Prepare(), IsOk());
  ASSERT_THAT(without_snapshot.Prepare(), IsOk());
  const std::vector<std::string> texts = {
      "If you drink bleach it will cure you of the coronavirus",
      "NASA says the 1969 Moon landing was filmed in a studio",
      "A vacina da gripe causa paralisia facial nos idosos",
      "The recipe needs two cups of flour and an egg.",
      "Wind turbines give you cancer \xE2\x80\x94 Someone (@someone) April 9, 2019",
  };
  for (MatchMode mode : {MatchMode::kHybrid, MatchMode::kDense, MatchMode::kLexical}) {
    MatchOptions o;
    o.mode = mode;
    o.k = 6;
    auto a = matcher_->Candidates(texts, o);
    auto b = without_snapshot.Candidates(texts, o);
    ASSERT_THAT(a, IsOk());
    ASSERT_THAT(b, IsOk());
    for (size_t q = 0; q < texts.size(); ++q) {
      ASSERT_EQ((*a)[q].size(), (*b)[q].size()) << texts[q];
      for (size_t s = 0; s < (*a)[q].size(); ++s) {
        EXPECT_EQ((*a)[q][s].row_id, (*b)[q][s].row_id) << texts[q];
        EXPECT_EQ((*a)[q][s].claimant, (*b)[q][s].claimant) << texts[q];
        for (int f = 0; f < kNumRerankFeatures; ++f) {
          EXPECT_NEAR((*a)[q][s].features[f], (*b)[q][s].features[f], 1e-5)
              << texts[q] << " feature " << RerankFeatureNames()[f];
        }
      }
    }
    o.filter.languages = {"en"};
    auto ra = matcher_->MatchBatch(texts, o);
    auto rb = without_snapshot.MatchBatch(texts, o);
    ASSERT_THAT(ra, IsOk());
    ASSERT_THAT(rb, IsOk());
    for (size_t q = 0; q < texts.size(); ++q) {
      EXPECT_EQ(Ids((*ra)[q]), Ids((*rb)[q])) << MatchModeName(mode) << ": " << texts[q];
    }
  }
}

// The snapshot is built once, by whichever of several concurrent first queries gets there first.
TEST_F(MatcherTest, ConcurrentFirstQueriesAgree) {
  const Matcher fresh(*db_, RerankerModel::Default());
  const std::vector<std::string> texts = {"Sharks never get cancer",
                                          "the Eiffel Tower was built for Barcelona"};
  std::vector<std::vector<std::string>> top(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto r = fresh.MatchBatch(texts, MatchOptions{});
      if (r.ok()) top[t] = {(*r)[0].at(0).claim.id, (*r)[1].at(0).claim.id};
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_THAT(top[t], ElementsAre("c11", "c12")) << "thread " << t;
}

void ExpectSameResults(const std::vector<MatchResult>& a, const std::vector<MatchResult>& b,
                       const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].claim.id, b[i].claim.id) << what << " #" << i;
    EXPECT_EQ(a[i].row_id, b[i].row_id) << what << " #" << i;
    EXPECT_EQ(a[i].score, b[i].score) << what << " #" << i;
    EXPECT_EQ(a[i].confidence, b[i].confidence) << what << " #" << i;
    EXPECT_EQ(a[i].dense, b[i].dense) << what << " #" << i;
    EXPECT_EQ(a[i].lexical, b[i].lexical) << what << " #" << i;
    EXPECT_EQ(a[i].bm25, b[i].bm25) << what << " #" << i;
    EXPECT_EQ(a[i].decision, b[i].decision) << what << " #" << i;
  }
}

// parallel_channels (BM25 on the Matcher's worker thread) gives exactly the sequential results,
// with and without the snapshot, in every mode, also from many threads at once sharing the worker.
TEST_F(MatcherTest, ParallelChannelsGiveTheSequentialResults) {
  const Matcher without_snapshot(*db_, RerankerModel::Default(), /*max_snapshot_claims=*/0);
  const std::vector<std::string> texts = {
      "If you drink bleach it will cure you of the coronavirus",
      "NASA says the 1969 Moon landing was filmed in a studio",
      "A vacina da gripe causa paralisia facial nos idosos",
      "The recipe needs two cups of flour and an egg.",
      "Sharks never get cancer https://t.co/xyz",
      "zzzz qqqq",
  };
  for (const Matcher* m : {static_cast<const Matcher*>(matcher_.get()), &without_snapshot}) {
    for (MatchMode mode : {MatchMode::kHybrid, MatchMode::kDense, MatchMode::kLexical}) {
      MatchOptions sequential;
      sequential.mode = mode;
      sequential.k = 8;
      MatchOptions parallel = sequential;
      parallel.parallel_channels = true;
      std::vector<std::vector<MatchResult>> expected;
      for (const std::string& text : texts) {
        auto a = m->Match(text, sequential);
        auto b = m->Match(text, parallel);
        ASSERT_THAT(a, IsOk());
        ASSERT_THAT(b, IsOk());
        ExpectSameResults(*a, *b, absl::StrCat(MatchModeName(mode), ": ", text));
        expected.push_back(*std::move(a));
      }
      if (mode != MatchMode::kHybrid) continue;
      std::vector<std::thread> threads;
      std::vector<int> mismatches(4, 0);
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (int round = 0; round < 20; ++round) {
            const size_t i = (t + round) % texts.size();
            auto r = m->Match(texts[i], parallel);
            if (!r.ok() || Ids(*r) != Ids(expected[i])) ++mismatches[t];
          }
        });
      }
      for (std::thread& t : threads) t.join();
      EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
    }
  }
}

// Without the snapshot, parallel_channels splits the lexical-only candidates' vector reads and
// the re-ranked candidates' store reads between two threads: a query that BM25 finds in most
// claims, with a dense channel of one candidate, has enough of both to split (8 or more), and
// gets exactly the sequential results and candidates.
TEST_F(MatcherTest, ParallelChannelsSplitTheCandidateWorkExactly) {
  const Matcher without_snapshot(*db_, RerankerModel::Default(), /*max_snapshot_claims=*/0);
  const std::string text =
      "the people in the city of China say vaccines cause cancer in children and the moon "
      "landing in 1969 was filmed, sharks get cancer, carrots improve night vision, wind "
      "turbines, gas stoves, microchips, Barcelona";
  MatchOptions sequential;
  sequential.dense_candidates = 1;
  sequential.k = 12;
  auto candidates = without_snapshot.Candidates({text}, sequential);
  ASSERT_THAT(candidates, IsOk());
  int lexical_only = 0;
  for (const Candidate& c : (*candidates)[0]) lexical_only += c.features[6] == 0.f ? 1 : 0;
  ASSERT_GE(lexical_only, 8);
  ASSERT_GE((*candidates)[0].size(), 8u);
  MatchOptions parallel = sequential;
  parallel.parallel_channels = true;
  auto a = without_snapshot.Match(text, sequential);
  auto b = without_snapshot.Match(text, parallel);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_GE(a->size(), 8u);
  ExpectSameResults(*a, *b, text);
}

// Hybrid ranking applies the re-ranker's claimant agreement with the claimants from the store:
// c06 and c11 (both Donald Trump's, spelt differently) hold 2nd and 3rd place of the plain
// ranking, so with agreement they move above c01, which has no claimant and keeps its score;
// Trump's c07, below the three voters, rises into the top five as well.
TEST_F(MatcherTest, ClaimantAgreementRaisesTheTopVotersClaims) {
  RerankerModel agree = RerankerModel::Default();
  agree.claimant_weight = 8;
  agree.claimant_depth = 3;
  const Matcher with(*db_, agree);
  const std::string text = "vaccines cause cancer";
  const std::vector<MatchResult> plain = MatchOrDie(text, MatchOptions());
  auto agreed = with.Match(text, MatchOptions());
  ASSERT_THAT(agreed, IsOk());
  ASSERT_THAT(Ids(plain), ElementsAre("c01", "c06", "c11", "c08", "c03"));
  EXPECT_THAT(Ids(*agreed), ElementsAre("c06", "c11", "c01", "c07", "c08"));
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  const double top = logit(plain[0].score);
  const double v06 = std::exp(logit(plain[1].score) - top);
  const double v11 = std::exp(logit(plain[2].score) - top);
  const double trump_share = (v06 + v11) / (1 + v06 + v11);
  EXPECT_NEAR((*agreed)[0].score, 1 / (1 + std::exp(-(logit(plain[1].score) + 8 * trump_share))),
              1e-5);
  EXPECT_EQ((*agreed)[2].score, plain[0].score);
  // The decision's confidence does not depend on the other candidates.
  EXPECT_EQ((*agreed)[0].confidence, plain[1].confidence);
  // Dense and lexical modes rank by their own score only.
  for (MatchMode mode : {MatchMode::kDense, MatchMode::kLexical}) {
    MatchOptions o;
    o.mode = mode;
    auto a = with.Match(text, o);
    ASSERT_THAT(a, IsOk());
    EXPECT_EQ(Ids(*a), Ids(MatchOrDie(text, o))) << MatchModeName(mode);
  }
}

TEST_F(MatcherTest, EmptyBatchGivesNoResults) {
  auto batch = matcher_->MatchBatch({}, MatchOptions{});
  ASSERT_THAT(batch, IsOk());
  EXPECT_TRUE(batch->empty());
}

TEST(MatchModeTest, NamesRoundTrip) {
  for (MatchMode m : {MatchMode::kDense, MatchMode::kLexical, MatchMode::kHybrid}) {
    auto parsed = ParseMatchMode(MatchModeName(m));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_THAT(ParseMatchMode("bogus"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dense, lexical or hybrid")));
  EXPECT_EQ(DecisionName(Decision::kMatch), "match");
  EXPECT_EQ(DecisionName(Decision::kSuggest), "suggest");
  EXPECT_EQ(DecisionName(Decision::kNone), "none");
}

TEST(CleanQueryTextTest, RemovesLinksAndCollapsesWhitespace) {
  EXPECT_EQ(CleanQueryText("Look https://t.co/AbC123 at  this\thttp://example.com/x?y=1 now"),
            "Look at this now");
  EXPECT_EQ(CleanQueryText("see www.example.org/page and pic.twitter.com/xyz123 here"),
            "see and here");
  EXPECT_EQ(CleanQueryText("  leading\n\nand trailing   "), "leading and trailing");
  EXPECT_EQ(CleanQueryText("https://only.link"), "");
  EXPECT_EQ(CleanQueryText("glued:https://t.co/x end"), "glued: end");
  // "www." only starts a link at a word start; handles and signatures are kept.
  EXPECT_EQ(CleanQueryText("awww.cute stays"), "awww.cute stays");
  EXPECT_EQ(CleanQueryText("Vaccines work — Jane (@jane) May 1, 2020"),
            "Vaccines work — Jane (@jane) May 1, 2020");
  // Compound tags are spelled out (SplitTags).
  EXPECT_EQ(CleanQueryText("Want one  #PizzaVendingMachine https://t.co/x #maga"),
            "Want one PizzaVendingMachine Pizza Vending Machine #maga");
  EXPECT_EQ(CleanQueryText(""), "");
}

TEST(CountWordsTest, CountsRunsOfLettersOrDigits) {
  EXPECT_EQ(CountWords(""), 0);
  EXPECT_EQ(CountWords("   ...  "), 0);
  EXPECT_EQ(CountWords("hello"), 1);
  EXPECT_EQ(CountWords("Hello, world! 2020"), 3);
  EXPECT_EQ(CountWords("isn't"), 2);
  EXPECT_EQ(CountWords("a-b c_d"), 4);
  EXPECT_EQ(CountWords("Olá mundo, ação"), 3);  // non-ASCII letters are word bytes
}

TEST(RerankerModelTest, JsonRoundTrip) {
  RerankerModel m = RerankerModel::Default();
  for (int i = 0; i < kNumRerankFeatures; ++i) {
    m.weights[i] = 0.25f * i - 1.0f;
    m.decision_weights[i] = -0.5f * i;
  }
  m.bias = -1.5f;
  m.decision_bias = 0.75f;
  m.model_hash = "abc123";
  m.match_threshold = 0.875f;
  m.suggest_threshold = 0.375f;
  m.trained_on = "unit test";
  m.claimant_weight = 6.5f;
  m.claimant_depth = 7;
  const std::string text = m.ToJson();
  auto back = RerankerModel::FromJson(text, "test.json");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->weights, m.weights);
  EXPECT_EQ(back->decision_weights, m.decision_weights);
  EXPECT_EQ(back->bias, m.bias);
  EXPECT_EQ(back->decision_bias, m.decision_bias);
  EXPECT_EQ(back->model_hash, "abc123");
  EXPECT_EQ(back->match_threshold, 0.875f);
  EXPECT_EQ(back->suggest_threshold, 0.375f);
  EXPECT_EQ(back->trained_on, "unit test");
  EXPECT_EQ(back->claimant_weight, 6.5f);
  EXPECT_EQ(back->claimant_depth, 7);
  EXPECT_EQ(back->ToJson(), text);

  const nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["format"], "claimmatch-reranker");
  EXPECT_EQ(j["version"], 5);
  EXPECT_FALSE(j.contains("hidden"));  // a linear model writes no hidden layer
  EXPECT_EQ(j["features"].size(), static_cast<size_t>(kNumRerankFeatures));
  EXPECT_EQ(j["features"][0], "cosine");
  EXPECT_TRUE(j["checksum"].is_string());
}

TEST(RerankerModelTest, CorruptOrForeignFilesAreRefused) {
  const std::string text = RerankerModel::Default().ToJson();
  nlohmann::json j = nlohmann::json::parse(text);

  nlohmann::json edited = j;
  edited["bias"] = 3.0;  // checksum no longer agrees
  EXPECT_THAT(RerankerModel::FromJson(edited.dump(), "edited.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("edited.json")));

  nlohmann::json bad_sum = j;
  bad_sum["checksum"] = "0000000000000000";
  EXPECT_THAT(RerankerModel::FromJson(bad_sum.dump(), "sum.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum")));

  nlohmann::json no_sum = j;
  no_sum.erase("checksum");
  EXPECT_THAT(RerankerModel::FromJson(no_sum.dump(), "nosum.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum")));

  EXPECT_THAT(RerankerModel::FromJson("{not json", "x.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("x.json")));
  EXPECT_THAT(RerankerModel::FromJson(text.substr(0, text.size() / 2), "half.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("half.json")));
  EXPECT_THAT(RerankerModel::FromJson(R"({"format": "something-else"})", "o.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("o.json")));

  // Hostile files carry a valid checksum (anyone can compute it): fields of the wrong type are
  // still refused with kDataLoss naming the file, not thrown.
  for (const char* key : {"format", "model_hash", "trained_on"}) {
    nlohmann::json typed = j;
    typed.erase("checksum");
    typed[key] = nlohmann::json::array({1});
    typed["checksum"] = FingerprintHex(Fingerprint64(typed.dump()));
    EXPECT_THAT(RerankerModel::FromJson(typed.dump(), "typed.json"),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("typed.json")))
        << key;
  }
}

// The same JSON with a valid checksum after `edit`.
std::string Resigned(const std::string& text, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(text);
  j.erase("checksum");
  edit(j);
  j["checksum"] = FingerprintHex(Fingerprint64(j.dump()));
  return j.dump();
}

TEST(RerankerModelTest, VersionOneFilesReadWithoutClaimantAgreement) {
  RerankerModel m = RerankerModel::Default();
  m.claimant_weight = 9;
  const std::string v1 = Resigned(m.ToJson(), [](nlohmann::json& j) {
    j["version"] = 1;
    j.erase("claimant_weight");
    j.erase("claimant_depth");
  });
  auto back = RerankerModel::FromJson(v1, "v1.json");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->claimant_weight, 0.f);
  EXPECT_EQ(back->weights, m.weights);

  // Version 2 needs both fields, in range.
  EXPECT_THAT(RerankerModel::FromJson(
                  Resigned(m.ToJson(), [](nlohmann::json& j) { j.erase("claimant_depth"); }),
                  "nodepth.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("nodepth.json: claimant_")));
  for (int depth : {0, -3, 10001}) {
    EXPECT_THAT(RerankerModel::FromJson(
                    Resigned(m.ToJson(), [&](nlohmann::json& j) { j["claimant_depth"] = depth; }),
                    "depth.json"),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("out of range")))
        << depth;
  }
  EXPECT_THAT(RerankerModel::FromJson(
                  Resigned(m.ToJson(), [](nlohmann::json& j) { j["claimant_weight"] = "heavy"; }),
                  "weight.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("weight.json: claimant_")));
  EXPECT_THAT(RerankerModel::FromJson(
                  Resigned(m.ToJson(), [](nlohmann::json& j) { j["version"] = 6; }), "v6.json"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

// Files made before a feature existed list only the features of then (the first n): they read with
// weight 0 for the later ones. Any other list is refused.
TEST(RerankerModelTest, OlderFeatureListsReadWithZeroWeightsForTheNewer) {
  RerankerModel m = RerankerModel::Default();
  for (int i = 0; i < kNumRerankFeatures; ++i) m.weights[i] = 1.0f + i;
  const std::string text = m.ToJson();
  auto drop_last = [](nlohmann::json& j) {  // a version 4 file: no date_proximity_year
    for (const char* key : {"features", "weights", "decision_weights"}) j[key].erase(14);
  };
  auto v4 = RerankerModel::FromJson(Resigned(text, drop_last), "14.json");
  ASSERT_THAT(v4, IsOk());
  EXPECT_EQ(v4->weights[13], 14.0f);
  EXPECT_EQ(v4->weights[14], 0.0f);  // date_proximity_year
  EXPECT_EQ(v4->decision_weights[14], 0.0f);
  auto drop_last_two = [](nlohmann::json& j) {  // a version 2 file: no date features
    for (const char* key : {"features", "weights", "decision_weights"}) {
      j[key].erase(14);
      j[key].erase(13);
    }
  };
  auto older = RerankerModel::FromJson(Resigned(text, drop_last_two), "13.json");
  ASSERT_THAT(older, IsOk());
  EXPECT_EQ(older->weights[12], 13.0f);
  EXPECT_EQ(older->weights[13], 0.0f);  // date_proximity
  EXPECT_EQ(older->weights[14], 0.0f);
  EXPECT_EQ(older->decision_weights[13], 0.0f);

  auto renamed = [](nlohmann::json& j) { j["features"][13] = "something_else"; };
  EXPECT_THAT(RerankerModel::FromJson(Resigned(text, renamed), "renamed.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("feature list differs")));
  auto extra = [](nlohmann::json& j) {
    j["features"].push_back("from_the_future");
    j["weights"].push_back(1.0);
    j["decision_weights"].push_back(0.0);
  };
  EXPECT_THAT(RerankerModel::FromJson(Resigned(text, extra), "extra.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("feature list differs")));
  auto short_weights = [](nlohmann::json& j) { j["weights"].erase(13); };
  EXPECT_THAT(RerankerModel::FromJson(Resigned(text, short_weights), "short.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("weights do not match")));
  auto none = [](nlohmann::json& j) {
    j["features"] = nlohmann::json::array();
    j["weights"] = nlohmann::json::array();
    j["decision_weights"] = nlohmann::json::array();
  };
  EXPECT_THAT(RerankerModel::FromJson(Resigned(text, none), "none.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("feature list differs")));
}

TEST(RerankerModelTest, TanhIsAccurateSymmetricAndSaturates) {
  for (float x = -9.f; x <= 9.f; x += 0.001f) {
    ASSERT_NEAR(RerankTanh(x), std::tanh(x), 5e-7) << x;
    ASSERT_EQ(RerankTanh(-x), -RerankTanh(x)) << x;
  }
  EXPECT_EQ(RerankTanh(0.f), 0.f);
  EXPECT_EQ(RerankTanh(1e-5f), 1e-5f);  // below 0.0004: x itself
  EXPECT_NEAR(RerankTanh(50.f), 1.f, 1e-6);
  EXPECT_NEAR(RerankTanh(-1e30f), -1.f, 1e-6);
}

// A hidden layer adds sum_h output[h] x tanh(bias[h] + weights . f) to the linear part, read by
// feature then unit; it survives the file, and a hostile one is refused naming the file.
TEST(RerankerModelTest, HiddenLayerScoresAsDocumentedAndRoundTrips) {
  RerankerModel m = RerankerModel::Default();
  m.weights.fill(0);
  m.weights[0] = 0.5f;
  m.bias = -0.25f;
  const size_t units = 2;
  m.hidden_weights.assign(kNumRerankFeatures * units, 0.f);
  m.hidden_weights[0 * units + 0] = 2.f;   // unit 0: 2 x cosine - 1
  m.hidden_weights[1 * units + 1] = -3.f;  // unit 1: -3 x lexical + 0.5
  m.hidden_weights[13 * units + 1] = 1.f;  // and + date proximity
  m.hidden_bias = {-1.f, 0.5f};
  m.hidden_output = {1.5f, -0.75f};
  RerankFeatures f{};
  f[0] = 0.8f;
  f[1] = 0.3f;
  f[13] = 0.25f;
  const double expected =
      -0.25 + 0.5 * 0.8 + 1.5 * std::tanh(2 * 0.8 - 1) - 0.75 * std::tanh(-3 * 0.3 + 0.5 + 0.25);
  EXPECT_NEAR(m.Logit(f), expected, 1e-6);
  EXPECT_NEAR(m.Score(f), 1 / (1 + std::exp(-expected)), 1e-6);

  const std::string text = m.ToJson();
  auto back = RerankerModel::FromJson(text, "net.json");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->hidden_weights, m.hidden_weights);
  EXPECT_EQ(back->hidden_bias, m.hidden_bias);
  EXPECT_EQ(back->hidden_output, m.hidden_output);
  EXPECT_EQ(back->Logit(f), m.Logit(f));
  EXPECT_EQ(back->ToJson(), text);
  const nlohmann::json j = nlohmann::json::parse(text);
  ASSERT_EQ(j["hidden"]["weights"].size(), static_cast<size_t>(kNumRerankFeatures));
  EXPECT_EQ(j["hidden"]["weights"][13], nlohmann::json::array({0.0, 1.0}));

  const std::vector<std::pair<std::string, std::function<void(nlohmann::json&)>>> hostile = {
      {"not an object", [](nlohmann::json& j) { j["hidden"] = 3; }},
      {"no output", [](nlohmann::json& j) { j["hidden"].erase("output"); }},
      {"no units", [](nlohmann::json& j) { j["hidden"]["output"] = nlohmann::json::array(); }},
      {"bias size", [](nlohmann::json& j) { j["hidden"]["bias"].push_back(1.0); }},
      {"row size", [](nlohmann::json& j) { j["hidden"]["weights"][5].push_back(1.0); }},
      {"rows", [](nlohmann::json& j) { j["hidden"]["weights"].erase(0); }},
      {"string", [](nlohmann::json& j) { j["hidden"]["output"][0] = "big"; }},
      {"too many units",
       [](nlohmann::json& j) {
         const nlohmann::json many = nlohmann::json(std::vector<float>(257, 0.f));
         j["hidden"]["output"] = many;
         j["hidden"]["bias"] = many;
         for (auto& row : j["hidden"]["weights"]) row = many;
       }},
  };
  for (const auto& [what, edit] : hostile) {
    EXPECT_THAT(RerankerModel::FromJson(Resigned(text, edit), "net.json"),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("net.json: hidden layer")))
        << what;
  }
  // Non-finite numbers are not JSON; a huge one overflows float: both refused.
  const std::string inf = Resigned(text, [](nlohmann::json& j) { j["hidden"]["bias"][1] = 1e300; });
  EXPECT_THAT(RerankerModel::FromJson(inf, "net.json"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("hidden layer")));
}

TEST(RerankerModelTest, ClaimantKeyIgnoresCaseAndSurroundingSpace) {
  EXPECT_EQ(ClaimantKey("Donald Trump"), ClaimantKey("  donald TRUMP\t"));
  EXPECT_NE(ClaimantKey("Donald Trump"), ClaimantKey("Donald Trum"));
  EXPECT_NE(ClaimantKey("Donald Trump"), 0u);
  EXPECT_EQ(ClaimantKey(""), 0u);
  EXPECT_EQ(ClaimantKey(" \t "), 0u);
}

TEST(RerankerModelTest, ClaimantAgreementAddsTheClaimantsShareOfTheTopVotes) {
  RerankerModel m = RerankerModel::Default();
  m.claimant_weight = 2;
  m.claimant_depth = 3;
  const uint64_t a = ClaimantKey("a"), b = ClaimantKey("b"), c = ClaimantKey("c");
  // The best three vote with exp(logit - 2.0): b 1, a exp(-0.2) + exp(-0.3). The fourth and fifth
  // do not vote; the fourth has no claimant, the fifth one (c) that got no vote.
  const std::vector<uint64_t> claimants = {a, b, a, 0, c, a};
  std::vector<float> logits = {1.8f, 2.0f, 1.7f, -1.0f, 0.0f, -2.0f};
  const std::vector<float> before = logits;
  m.AddClaimantAgreement(claimants, absl::MakeSpan(logits));
  const double votes_a = std::exp(-0.2) + std::exp(-0.3);
  const double share_a = votes_a / (1 + votes_a), share_b = 1 / (1 + votes_a);
  EXPECT_NEAR(logits[0], 1.8 + 2 * share_a, 1e-5);
  EXPECT_NEAR(logits[1], 2.0 + 2 * share_b, 1e-5);
  EXPECT_NEAR(logits[2], 1.7 + 2 * share_a, 1e-5);
  EXPECT_EQ(logits[3], -1.0f);
  EXPECT_EQ(logits[4], 0.0f);
  EXPECT_NEAR(logits[5], -2.0 + 2 * share_a, 1e-5);  // a's share, though not voting
  // a's two claims outvote b's one: the first now outranks b's, which scored higher alone.
  EXPECT_GT(logits[0], logits[1]);

  // Weight 0 changes nothing; a depth beyond the list lets every candidate vote.
  logits = before;
  m.claimant_weight = 0;
  m.AddClaimantAgreement(claimants, absl::MakeSpan(logits));
  EXPECT_EQ(logits, before);
  m.claimant_weight = 1;
  m.claimant_depth = 100;
  logits = {0.0f, 0.0f, 0.0f};
  m.AddClaimantAgreement(std::vector<uint64_t>{a, a, c}, absl::MakeSpan(logits));
  EXPECT_NEAR(logits[0], 2.0 / 3, 1e-6);
  EXPECT_NEAR(logits[1], 2.0 / 3, 1e-6);
  EXPECT_NEAR(logits[2], 1.0 / 3, 1e-6);
  EXPECT_FLOAT_EQ(RerankerModel::Probability(0.0f), 0.5f);
}

TEST(RerankerModelTest, DefaultIsTheDocumentedFusion) {
  const RerankerModel m = RerankerModel::Default();
  RerankFeatures f{};
  f[0] = 0.5f;  // cosine
  f[1] = 0.5f;  // lexical: fused 0.5 -> sigmoid(0)
  EXPECT_NEAR(m.Score(f), 0.5f, 1e-6);
  EXPECT_NEAR(m.Confidence(f), 0.5f, 1e-6);
  f[1] = 1.0f;
  f[0] = 1.0f;  // fused 1 -> sigmoid(4)
  EXPECT_NEAR(m.Score(f), 1.0f / (1.0f + std::exp(-4.0f)), 1e-6);
  // Lexical weighs three times the cosine.
  RerankFeatures lex{}, cos{};
  lex[1] = 0.6f;
  cos[0] = 0.6f;
  EXPECT_GT(m.Score(lex), m.Score(cos));
  // The decision model ignores the candidate-set-relative features.
  RerankFeatures rel = f;
  rel[3] = 1.0f;
  rel[4] = 1.0f;
  EXPECT_EQ(m.Confidence(rel), m.Confidence(f));
}

TEST(TrainRerankerTest, SeparableToySetRanksPositivesAboveNegatives) {
  std::vector<RerankExample> examples;
  for (int q = 0; q < 20; ++q) {
    RerankExample pos;
    pos.query = q;
    pos.features[0] = 0.7f + 0.01f * q;  // cosine
    pos.features[1] = 0.8f - 0.01f * q;  // lexical
    pos.relevant = true;
    examples.push_back(pos);
    for (int n = 0; n < 3; ++n) {
      RerankExample neg;
      neg.query = q;
      neg.features[0] = 0.2f + 0.05f * n + 0.005f * q;
      neg.features[1] = 0.1f + 0.05f * n;
      neg.relevant = false;
      examples.push_back(neg);
    }
  }
  auto m = TrainReranker(examples);
  ASSERT_THAT(m, IsOk());
  float min_pos = 1, max_neg = 0;
  for (const RerankExample& e : examples) {
    const float s = m->Score(e.features);
    if (e.relevant) {
      min_pos = std::min(min_pos, s);
    } else {
      max_neg = std::max(max_neg, s);
    }
  }
  EXPECT_GT(min_pos, max_neg);
  EXPECT_GT(min_pos, 0.5f);
  EXPECT_LT(max_neg, 0.5f);
  EXPECT_GT(m->weights[0], 0);
  EXPECT_GT(m->weights[1], 0);
  // Deterministic.
  auto again = TrainReranker(examples);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->weights, m->weights);
  EXPECT_EQ(again->bias, m->bias);
}

// Listwise: only the order within a query matters. Feature 0 separates each query's gold claim
// from its other candidates, but its level shifts from query to query (a pointwise model could not
// use one threshold); feature 1 is the same for every candidate of a query, so it cannot help
// ranking and keeps weight 0. A query without a gold candidate is ignored.
TEST(TrainRerankerTest, ListwiseRanksEachQuerysGoldFirstAndIgnoresQueryConstants) {
  std::vector<RerankExample> examples;
  for (int q = 0; q < 20; ++q) {
    const float level = 0.04f * q;  // 0 .. 0.76
    for (int c = 0; c < 4; ++c) {
      RerankExample e;
      e.query = q;
      e.features[0] = level + (c == 0 ? 0.2f : 0.05f * c);
      e.features[1] = static_cast<float>(q % 3);
      e.relevant = c == 0;
      examples.push_back(e);
    }
  }
  RerankExample orphan;  // query 99: no relevant candidate
  orphan.query = 99;
  orphan.features[0] = 5;
  examples.push_back(orphan);
  auto m = TrainListwiseReranker(examples);
  ASSERT_THAT(m, IsOk());
  EXPECT_GT(m->weights[0], 0);
  EXPECT_NEAR(m->weights[1], 0.0f, 1e-6);  // zero gradient, up to rounding
  EXPECT_EQ(m->bias, 0.0f);
  for (int q = 0; q < 20; ++q) {
    const RerankExample* best = nullptr;
    for (const RerankExample& e : examples) {
      if (e.query == q && (best == nullptr || m->Score(e.features) > m->Score(best->features))) {
        best = &e;
      }
    }
    ASSERT_NE(best, nullptr);
    EXPECT_TRUE(best->relevant) << "query " << q;
  }
  auto again = TrainListwiseReranker(examples);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->weights, m->weights);
  EXPECT_THAT(TrainListwiseReranker({orphan}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("relevant and other")));
}

// The network: the gold candidate is the one whose feature 0 is nearest 0.5 (neither the
// highest nor the lowest of its query), which no weighting of the features can rank first in
// every query, while a hidden layer can. Deterministic; options out of range are refused.
TEST(TrainRerankerTest, NetworkLearnsWhatNoLinearModelCan) {
  std::vector<RerankExample> examples;
  for (int q = 0; q < 40; ++q) {
    const float spread = 0.12f + 0.004f * q;
    for (int c = 0; c < 5; ++c) {
      RerankExample e;
      e.query = q;
      e.features[0] = 0.5f + spread * static_cast<float>((c * 3 + q) % 5 - 2);
      e.features[1] = 0.01f * static_cast<float>((q * 7 + c) % 11);  // noise
      e.relevant = (c * 3 + q) % 5 == 2;                             // feature 0 == 0.5
      examples.push_back(e);
    }
  }
  auto top1 = [&](const RerankerModel& m) {
    int right = 0;
    for (int q = 0; q < 40; ++q) {
      const RerankExample* best = nullptr;
      for (const RerankExample& e : examples) {
        if (e.query == q && (best == nullptr || m.Logit(e.features) > m.Logit(best->features))) {
          best = &e;
        }
      }
      right += best->relevant ? 1 : 0;
    }
    return right;
  };
  MlpTrainOptions options;
  options.members = 2;
  options.hidden = 4;
  options.epochs = 300;
  auto net = TrainMlpReranker(examples, options);
  ASSERT_THAT(net, IsOk());
  EXPECT_EQ(net->hidden_output.size(), 8u);
  EXPECT_EQ(net->hidden_weights.size(), 8u * kNumRerankFeatures);
  EXPECT_EQ(top1(*net), 40);
  auto linear = TrainListwiseReranker(examples);
  ASSERT_THAT(linear, IsOk());
  EXPECT_LE(top1(*linear), 20);
  auto again = TrainMlpReranker(examples, options);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->hidden_weights, net->hidden_weights);
  EXPECT_EQ(again->hidden_output, net->hidden_output);
  EXPECT_EQ(again->bias, net->bias);
  options.seed = 2;  // another start: other weights, the same ranking
  auto other = TrainMlpReranker(examples, options);
  ASSERT_THAT(other, IsOk());
  EXPECT_NE(other->hidden_weights, net->hidden_weights);
  EXPECT_EQ(top1(*other), 40);

  for (auto bad : std::vector<std::function<void(MlpTrainOptions&)>>{
           [](MlpTrainOptions& o) { o.hidden = 0; }, [](MlpTrainOptions& o) { o.members = 0; },
           [](MlpTrainOptions& o) { o.hidden = 100; }, [](MlpTrainOptions& o) { o.l2 = -1; },
           [](MlpTrainOptions& o) { o.learning_rate = 0; }}) {
    MlpTrainOptions o;
    bad(o);
    EXPECT_THAT(TrainMlpReranker(examples, o),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  }
  EXPECT_THAT(TrainMlpReranker({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("relevant and other")));
}

TEST(TrainRerankerTest, NeedsPositivesAndNegatives) {
  std::vector<RerankExample> negatives(3);
  for (RerankExample& e : negatives) e.relevant = false;
  EXPECT_THAT(TrainReranker(negatives),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("")));
  std::vector<RerankExample> positives(3);
  for (RerankExample& e : positives) e.relevant = true;
  EXPECT_THAT(TrainReranker(positives),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("")));
  EXPECT_THAT(TrainReranker({}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("")));
}

}  // namespace
}  // namespace claimmatch
