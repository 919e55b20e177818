// The name-only overlap rule (engine/name_overlap.h) on the sentence that motivated it and on
// the cases it must leave alone.
#include "engine/name_overlap.h"

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Every term informative except a few function words.
double Idf(absl::string_view term) {
  return term == "the" || term == "with" || term == "in" || term == "is" ? 0.3 : 5.0;
}

constexpr char kRosenstein[] =
    "Deputy Attorney General Rod Rosenstein presented Trump with the option last week, Bloomberg "
    "reported.";

TEST(NameTermsTest, CapitalisedRunsAreNamesButALoneSentenceOpenerIsNot) {
  bool headline = true;
  EXPECT_THAT(
      NameTerms(kRosenstein, &headline),
      ElementsAre("attornei", "bloomberg", "deputi", "gener", "rod", "rosenstein", "trump"));
  EXPECT_FALSE(headline);
  EXPECT_THAT(NameTerms("Taxes went up under Obama. Then they fell.", &headline),
              ElementsAre("obama"));
  EXPECT_FALSE(headline);
  EXPECT_THAT(NameTerms("Breaking: Trump fires deputy attorney general Rod Rosenstein", nullptr),
              ElementsAre("rod", "rosenstein"));  // "Breaking" and "Trump" open sentences
  EXPECT_THAT(NameTerms("Judge Calls For US Marshals To Arrest Congress", &headline),
              ElementsAre("arrest", "call", "congress", "for", "judg", "marshal", "to", "us"));
  EXPECT_TRUE(headline);
  EXPECT_THAT(NameTerms("", &headline), IsEmpty());
  EXPECT_FALSE(headline);
  EXPECT_THAT(NameTerms("Ça va. Über alles Ärger", &headline), IsEmpty());  // ASCII capitals only
}

TEST(NamesOnlyOverlapTest, SameNamesDifferentActIsNamesOnly) {
  EXPECT_TRUE(NamesOnlyOverlap(kRosenstein, "Trump fires deputy attorney general Rod Rosenstein",
                               "", Idf, 2.0));
  // Common words shared besides the names do not count.
  EXPECT_TRUE(NamesOnlyOverlap("The man in the White House is Obama",
                               "Barack Obama was born in Kenya.", "", Idf, 2.0));
  // A lone sentence opener is not a name: "Obama is ..." shares the informative "obama".
  EXPECT_FALSE(
      NamesOnlyOverlap("Obama is in the White House", "Obama was born in Kenya.", "", Idf, 2.0));
}

TEST(NamesOnlyOverlapTest, AnInformativeSharedWordIsMoreThanNames) {
  EXPECT_FALSE(NamesOnlyOverlap("Rod Rosenstein was fired by Trump",
                                "Trump fires deputy attorney general Rod Rosenstein", "", Idf,
                                2.0));
  // A headline-case query: its capitals are not names unless the claim capitalises them too.
  EXPECT_FALSE(NamesOnlyOverlap("Vaccines Cause Autism In Kids",
                                "Vaccines cause autism in children.", "", Idf, 2.0));
  // The title's words are shared words, never names.
  EXPECT_FALSE(NamesOnlyOverlap("Rod Rosenstein Resigns", "Rod Rosenstein left office.",
                                "Rosenstein Resigns", Idf, 2.0));
  // min_idf decides what is common: with every word below it, names alone remain.
  EXPECT_TRUE(NamesOnlyOverlap("Rod Rosenstein was fired by Trump",
                               "Trump fires deputy attorney general Rod Rosenstein", "", Idf, 6.0));
}

TEST(NamesOnlyOverlapTest, NothingSharedIsLeftToTheReranker) {
  // A translation shares no term; the rule does not apply.
  EXPECT_FALSE(NamesOnlyOverlap("A vacina causa autismo", "Vaccines cause autism.", "", Idf, 2.0));
  EXPECT_FALSE(NamesOnlyOverlap("", "Vaccines cause autism.", "", Idf, 2.0));
}

}  // namespace
}  // namespace claimmatch
