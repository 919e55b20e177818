#include "engine/verdict.h"

#include <string>

#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::StatusIs;
using ::testing::HasSubstr;

struct LabelCase {
  const char* label;
  Verdict expected;
};

TEST(VerdictTest, EnglishLabels) {
  const LabelCase cases[] = {
      {"False", Verdict::kFalse},
      {"pants-fire", Verdict::kFalse},
      {"Pants on Fire!", Verdict::kFalse},
      {"Incorrect", Verdict::kFalse},
      {"Fake", Verdict::kFalse},
      {"really_false", Verdict::kFalse},
      {"Misleading", Verdict::kMostlyFalse},
      {"barely-true", Verdict::kMostlyFalse},
      {"Mostly False", Verdict::kMostlyFalse},
      {"half-true", Verdict::kMixed},
      {"Half true", Verdict::kMixed},
      {"Mixture", Verdict::kMixed},
      {"mostly-true", Verdict::kMostlyTrue},
      {"TRUE", Verdict::kTrue},
      {"Correct", Verdict::kTrue},
      {"Unproven", Verdict::kUnproven},
      {"Unsupported", Verdict::kUnproven},
      {"No evidence", Verdict::kUnproven},
      {"Satire", Verdict::kOther},
      {"full-flop", Verdict::kOther},
      {"half-flip", Verdict::kOther},
      {"no-flip", Verdict::kOther},
  };
  for (const LabelCase& c : cases) {
    EXPECT_EQ(NormalizeVerdict(c.label), c.expected) << c.label;
  }
}

TEST(VerdictTest, LabelsOfTheSampleLanguages) {
  const LabelCase cases[] = {
      {"Falso", Verdict::kFalse},                     // pt, es
      {"Enganoso", Verdict::kMostlyFalse},            // pt
      {"não é bem assim", Verdict::kMixed},           // pt
      {"não_é_bem_assim", Verdict::kMixed},           // pt, Aos Fatos' slug
      {"NÃO É BEM ASSIM", Verdict::kMixed},           // Latin-1 capitals
      {"Impreciso", Verdict::kMixed},                 // pt, es
      {"Verdadeiro", Verdict::kTrue},                 // pt
      {"Verdadeiro, mas", Verdict::kMostlyTrue},      // pt (Lupa)
      {"Engañoso", Verdict::kMostlyFalse},            // es
      {"Verdadero", Verdict::kTrue},                  // es
      {"Faux", Verdict::kFalse},                      // fr
      {"Trompeur", Verdict::kMostlyFalse},            // fr
      {"Vrai", Verdict::kTrue},                       // fr
      {"Falsch", Verdict::kFalse},                    // de
      {"Irreführend", Verdict::kMostlyFalse},         // de
      {"Richtig", Verdict::kTrue},                    // de
      {"錯誤", Verdict::kFalse},                      // zh
      {"زائف", Verdict::kFalse},                      // ar
      {"गलत", Verdict::kFalse},                       // hi
      {"\u095A\u0932\u0924", Verdict::kFalse},        // hi, precomposed nukta letter
      {"\u0917\u093C\u0932\u0924", Verdict::kFalse},  // hi, combining nukta
      {"भ्रामक", Verdict::kMostlyFalse},               // hi
      {"মিথ্যা", Verdict::kFalse},                     // bn
      {"غلط", Verdict::kFalse},                       // ur
  };
  for (const LabelCase& c : cases) {
    EXPECT_EQ(NormalizeVerdict(c.label), c.expected) << c.label;
  }
}

TEST(VerdictTest, NormalizesCaseWhitespaceAndPunctuation) {
  EXPECT_EQ(NormalizeVerdictLabel("Incorrect \r"), "incorrect");
  EXPECT_EQ(NormalizeVerdictLabel("  Falso.\n"), "falso");
  EXPECT_EQ(NormalizeVerdictLabel("pants-fire"), "pants fire");
  EXPECT_EQ(NormalizeVerdictLabel("não_é_bem_assim"), "não é bem assim");
  EXPECT_EQ(NormalizeVerdictLabel("HALF\xC2\xA0TRUE"), "half true");
  EXPECT_EQ(NormalizeVerdictLabel("\"Mostly -- True\"!"), "mostly true");
  EXPECT_EQ(NormalizeVerdictLabel(""), "");
  EXPECT_EQ(NormalizeVerdict("Incorrect \r"), Verdict::kFalse);
  EXPECT_EQ(NormalizeVerdict("Falso."), Verdict::kFalse);
}

TEST(VerdictTest, LabelSentenceUsesItsHead) {
  EXPECT_EQ(NormalizeVerdict("FALSO: As imagens foram retiradas do canal no YouTube de um corretor "
                             "imobiliário."),
            Verdict::kFalse);
  EXPECT_EQ(NormalizeVerdict("Misleading. The photo is from 2015."), Verdict::kMostlyFalse);
  // No separator after the first word: the head is the whole sentence, which is unknown.
  EXPECT_EQ(NormalizeVerdict("True but misleading"), Verdict::kOther);
  EXPECT_EQ(NormalizeVerdict("Reker hat diesen Satz nie gesagt. «Völliger Unsinn»"),
            Verdict::kOther);
}

TEST(VerdictTest, TextWinsOverTheNumericRating) {
  // Lupa: "Falso" with ratingValue 4 of 6 (no worstRating).
  EXPECT_EQ(NormalizeVerdict("Falso", 4, 6, std::nullopt), Verdict::kFalse);
  EXPECT_EQ(NormalizeVerdict("Falso", 4, 6, 1), Verdict::kFalse);
  EXPECT_EQ(NormalizeVerdict("Half true", 1, 5, 1), Verdict::kMixed);
}

TEST(VerdictTest, NumericFallbackNeedsASaneScale) {
  EXPECT_EQ(NormalizeVerdict("unknown words", 1, 5, 1), Verdict::kFalse);
  EXPECT_EQ(NormalizeVerdict("unknown words", 2, 5, 1), Verdict::kMostlyFalse);
  EXPECT_EQ(NormalizeVerdict("unknown words", 3, 5, 1), Verdict::kMixed);
  EXPECT_EQ(NormalizeVerdict("unknown words", 4, 5, 1), Verdict::kMostlyTrue);
  EXPECT_EQ(NormalizeVerdict("unknown words", 5, 5, 1), Verdict::kTrue);
  EXPECT_EQ(NormalizeVerdict("", 1, 6, 1), Verdict::kFalse);
  EXPECT_EQ(NormalizeVerdict("", 2, 2, 1), Verdict::kTrue);
  EXPECT_EQ(NormalizeVerdict("", 1, 5, 0), Verdict::kMostlyFalse);  // 1/5 rounds to 1/4
  // Not sane: a missing bound, worst >= best, value outside the scale.
  EXPECT_EQ(NormalizeVerdict("", 1, 5, std::nullopt), Verdict::kOther);
  EXPECT_EQ(NormalizeVerdict("", std::nullopt, 5, 1), Verdict::kOther);
  EXPECT_EQ(NormalizeVerdict("", 2, 2, 2), Verdict::kOther);
  EXPECT_EQ(NormalizeVerdict("", 1, 1, 5), Verdict::kOther);
  EXPECT_EQ(NormalizeVerdict("", 7, 6, 1), Verdict::kOther);
  EXPECT_EQ(NormalizeVerdict("", 0, 5, 1), Verdict::kOther);
  EXPECT_EQ(NormalizeVerdict(""), Verdict::kOther);
}

TEST(VerdictTest, NamesRoundTrip) {
  const Verdict all[] = {Verdict::kFalse,      Verdict::kMostlyFalse, Verdict::kMixed,
                         Verdict::kMostlyTrue, Verdict::kTrue,        Verdict::kUnproven,
                         Verdict::kOther};
  const char* names[] = {"false", "mostly-false", "mixed", "mostly-true",
                         "true",  "unproven",     "other"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(VerdictName(all[i]), names[i]);
    absl::StatusOr<Verdict> parsed = ParseVerdictName(names[i]);
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, all[i]);
  }
  EXPECT_THAT(ParseVerdictName("False"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown verdict \"False\"")));
  EXPECT_THAT(ParseVerdictName("pants-fire"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mostly-false")));
}

}  // namespace
}  // namespace claimmatch
