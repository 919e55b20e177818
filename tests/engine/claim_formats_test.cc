#include "engine/claim_formats.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "engine/verdict.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string SamplePath(const std::string& name) {
  return JoinPath(JoinPath(testing::TestDataDir(), "claimreview"), name);
}
std::string ExcerptPath(const std::string& name) {
  return JoinPath(JoinPath(testing::TestDataDir(), "claims-dev-excerpt"), name);
}

// Parses in-memory content; the test fails if the call itself fails.
ReadResult Parse(absl::string_view name, absl::string_view content, ClaimFormat format,
                 const FieldMapping& mapping = FieldMapping(),
                 const ReadLimits& limits = ReadLimits()) {
  absl::StatusOr<ReadResult> result = ParseClaims(name, content, format, mapping, limits);
  EXPECT_THAT(result, IsOk());
  return result.ok() ? *std::move(result) : ReadResult();
}

std::vector<std::string> RejectionStrings(const ReadResult& result) {
  std::vector<std::string> out;
  for (const Rejection& r : result.rejections) out.push_back(r.ToString());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Every real ClaimReview sample.

struct Sample {
  const char* file;
  const char* text;  // the whole claim text, or its start when `text_is_prefix`
  bool text_is_prefix;
  const char* claimant;
  const char* claim_date;
  const char* verdict;
  Verdict normalized;
  std::optional<double> value, best, worst;
  const char* url;
  const char* publisher;
  const char* language;
  const char* review_date;
};

void PrintTo(const Sample& s, std::ostream* os) { *os << s.file; }

const Sample kSamples[] = {
    {"20minutes_fr.jsonld",
     "Le rôle de l'URSS dans la victoire de la Seconde guerre mondiale est minimisée à l'école",
     false, "Réseaux sociaux", "2022-05-11", "really_false", Verdict::kFalse, std::nullopt,
     std::nullopt, std::nullopt,
     "https://www.20minutes.fr/monde/ukraine/"
     "3288079-20220511-guerre-ukraine-role-urss-pendant-seconde-guerre-mondiale-sous-estime-"
     "enseignement-france",
     "20 minutes", "", "2022-05-11"},
    {"afp-factuel_fr.jsonld", "Le Mali a rompu ses relations diplomatiques avec la France", false,
     "Sources multiples", "2022-01-24", "Faux", Verdict::kFalse, 1, 5, 1,
     "https://factuel.afp.com/doc.afp.com.9XC9W4", "AFP", "", "2022-01-28"},
    {"afp-faktencheck_de.jsonld", "Das Alte Rathaus in Leipzig ist versunken", false,
     "Facebook-Nutzer", "2021-08-14", "Falsch", Verdict::kFalse, 1, 5, 1,
     "https://faktencheck.afp.com/http%253A%252F%252Fdoc.afp.com%252F9LK8NN-1", "AFP", "",
     "2021-08-24"},
    // The verdict is a whole Hindi sentence: the numeric rating 1 of 1..5 decides.
    {"afp-hindi_hi.jsonld", "टीपू सुल्तान की तस्वीर", false, "Several persons", "2021-07-30",
     // "ये तस्वीर अफ्रीका में ग़ुलामों के खरीद-फ़रोख़्त करने वाले की है" with nukta letters U+095A, U+095E, U+0959
     "\u092F\u0947 \u0924\u0938\u094D\u0935\u0940\u0930 \u0905\u092B"
     "\u094D\u0930\u0940\u0915\u093E \u092E\u0947\u0902 \u095A\u0941"
     "\u0932\u093E\u092E\u094B\u0902 \u0915\u0947 \u0916\u0930\u0940"
     "\u0926-\u095E\u0930\u094B\u0959\u094D\u0924 \u0915\u0930\u0928"
     "\u0947 \u0935\u093E\u0932\u0947 \u0915\u0940 \u0939\u0948",
     Verdict::kFalse, 1, 5, 1,
     "https://factcheckhindi.afp.com/http%253A%252F%252Fdoc.afp.com%252F9JM367", "AFP", "",
     "2021-08-04"},
    {"africacheck-old_en.jsonld",
     "As many as “51% of South African women have experienced violence at the hands of someone "
     "with whom they are in a relationship”.",
     false, "South African president Cyril Ramaphosa", "2020-06-13", "Incorrect", Verdict::kFalse,
     1, 6, 1,
     "https://africacheck.org/reports/"
     "fact-checking-president-ramaphosa-have-51-of-south-african-women-experienced-intimate-"
     "partner-violence/",
     "Africa Check", "", "2020-07-06"},
    {"africacheck_en.jsonld", "Interferon alpha-2b a Covid-19 ‘vaccine’", false,
     "Mzwandile Masina, mayor of Ekurhuleni", "2020-03-18", "Incorrect", Verdict::kFalse, 1, 6, 1,
     "https://africacheck.org/fact-checks/reports/south-african-mayor-incorrect-about-covid-19-"
     "vaccine",
     "Taryn Willows", "", "2020-03-27"},
    {"aosfatos_pt.jsonld", "Drauzio Varella incentiva crianças a utilizarem drogas em vídeo", false,
     "desinformação", "2022-08-11", "não_é_bem_assim", Verdict::kMixed, 5, 6, std::nullopt,
     "aosfatos.org/noticias/video-manipulado-faz-crer-que-drauzio-incentiva-criancas-a-usarem-"
     "drogas/",
     "Aos Fatos", "", "2022-08-11"},
    {"boomlive-bangla_bn.jsonld",
     // "দ্য নিউ ইয়র্ক টাইমস ..." with the precomposed U+09DF
     "\u09A6\u09CD\u09AF \u09A8\u09BF\u0989 \u0987\u09DF\u09B0\u09CD"
     "\u0995 \u099F\u09BE\u0987\u09AE\u09B8 \u0995\u09C1\u09AE\u09BF"
     "\u09B0\u09C7\u09B0 \u0995\u09BE\u09A8\u09CD\u09A8\u09BE\u09B0"
     " \u099B\u09AC\u09BF \u09AC\u09CD\u09AF\u09AC\u09B9\u09BE\u09B0"
     " \u0995\u09B0\u09C7\u099B\u09C7 \u09AA\u09CD\u09B0\u09A7\u09BE"
     "\u09A8\u09AE\u09A8\u09CD\u09A4\u09CD\u09B0\u09C0 \u09A8\u09B0"
     "\u09C7\u09A8\u09CD\u09A6\u09CD\u09B0 \u09AE\u09CB\u09A6\u09C0"
     "\u0995\u09C7 \u09AC\u09CD\u09AF\u09BE\u0999\u09CD\u0997 \u0995"
     "\u09B0\u09A4\u09C7",
     false, "Facebook Post", "2021-06-17", "False", Verdict::kFalse, 1, std::nullopt, std::nullopt,
     "https://bangla.boomlive.in/fast-check/"
     "fact-check-new-york-times-edited-front-page-modi-crying-crocodile-fake-news-13562",
     "BOOM", "", "2021-06-17"},
    {"comprova_pt.jsonld",
     "Vídeo mostra casa que Lula está alugando pelo valor de R$ 20.500 no bairro Alto de "
     "Pinheiros, em São Paulo.",
     false, "Boatos de redes sociais", "2022-05-23",
     "FALSO: As imagens foram retiradas do canal no YouTube de um corretor imobiliário. O imóvel "
     "fica no Ceará e, segundo o proprietário, Lula nunca esteve na residência.",
     Verdict::kFalse, std::nullopt, std::nullopt, std::nullopt,
     "https://projetocomprova.com.br/publicações/"
     "video-mostra-imagens-de-imovel-de-luxo-no-ceara-como-sendo-residencia-alugada-por-lula-em-"
     "sao-paulo/",
     "Comprova", "", "2022-05-30"},
    // The verdict is a German sentence with no known head and there is no numeric rating.
    {"datacommons-feeditem_de.json",
     "Im Netz sorgt ein angebliches Zitat von Kölns Oberbürgermeisterin Henriette Reker für "
     "Aufregung.",
     true, "Irmin Suhl", "2019-09-07",
     "Reker hat diesen Satz nie gesagt. «Völliger Unsinn», heißt es dazu aus der Pressestelle der "
     "Stadt Köln.",
     Verdict::kOther, std::nullopt, std::nullopt, std::nullopt,
     "https://www.presseportal.de/pm/133833/4381130", "Deutsche Presse-Agentur", "", "2019-09-20"},
    {"efe-verifica_es.jsonld",
     "La práctica totalidad de los detenidos en España son extranjeros, como afirma Ricardo "
     "Ferris, inspector jefe de la Policía Nacional y jefe de la comisaría Centro de Valencia.",
     false, "", "2022-10-20", "Falso.", Verdict::kFalse, 1, 5, 1,
     "https://verifica.efe.com/detenidos-mayoria-espanoles-no-extranjeros-como-asegura-ferris/",
     "Agencia EFE", "", "2022-10-24"},
    {"estadao_pt.jsonld", "Yanomamis em situação de desnutrição são venezuelanos, não brasileiros",
     false, "Oswaldo Eustáquio", "2023-01-24", "Falso", Verdict::kFalse, 1, 2, 1,
     "/estadao-verifica/yanomamis-desnutricao-venezuelanos-brasileiros-maduro-lula/",
     "Clarissa Pacheco", "", ""},
    // A sentence verdict with ratingValue "": unknown text, no value, so kOther.
    {"factcheckzw_en.jsonld",
     "7% don't have T-cells that remember the virus one month after infection", true, "",
     "2021-06-18",
     "The Health Desk Experts said Current data shows that roughly 10% of infected people do not "
     "have measurable antibodies once they recover from COVID-19.",
     Verdict::kOther, std::nullopt, 5, 1,
     "https://factcheck.cite.org.zw/do-antibodies-prevent-covid-19-reinfection/", "FactCheckZW", "",
     "2021-06-18"},
    {"fatabyyano_ar.jsonld",
     "\u0637\u0627\u064a\u0654\u0631\u0647 \u0639\u0645\u0627\u0646\u064a\u0629 "
     "\u062a\u062d\u062a\u0631\u0642 \u0628\u0627\u0644\u062c\u0648",
     true, "منشورات مواقع التواصل الاجتماعي", "2022-08-21", "زائف", Verdict::kFalse, std::nullopt,
     std::nullopt, std::nullopt,
     "https://fatabyyano.net/"
     "%d8%a7%d9%84%d9%85%d9%82%d8%b7%d8%b9-%d9%85%d9%86-%d8%a7%d9%84%d8%b9%d8%a7%d8%a8-%d9%85%d8%"
     "ad%d8%a7%d9%83%d8%a7%d8%a9-%d8%a7%d9%84%d8%b7%d9%8a%d8%b1%d8%a7%d9%86/",
     "Fatabyyano Platform", "", "2022-08-24"},
    {"google-factcheck-api-claim_ur.json", "کانپور کے ہیلٹ اسپتال میں مریض کی پٹائی کرتا ڈاکٹر",
     false, "FB User-Harshit Pandey", "2019-06-20", "False", Verdict::kFalse, std::nullopt,
     std::nullopt, std::nullopt,
     "https://www.vishvasnews.com/urdu/society/"
     "viral-video-of-doctor-beating-patient-is-of-jaipur-sms-hospital-not-from-kanpur-hallet-"
     "hospital/",
     "vishvasnews.com", "ur", "2019-06-20"},
    {"indiatoday-mixed_en.ldjson-blocks.html",
     "Pictures of a man posing for a maternity shoot because his wife refused and he had already "
     "paid the photographer.",
     false, "Facebook user", "2020-10-12", "Half true", Verdict::kMixed, 3, 5, 1,
     "https://www.indiatoday.in/fact-check/story/"
     "dad-spoofs-maternity-shoot-pics-go-viral-misleading-claim-1731271-2020-10-13",
     "India Today", "", "2020-10-13"},
    // Lupa: "Falso" at ratingValue 4 of 6; the text decides.
    {"lupa_pt.jsonld", "“BR 277 Foz do Iguaçu. Mais uma obra de Bolsonaro”", false,
     "Post no Facebook", "2020-08-31", "Falso", Verdict::kFalse, 4, 6, std::nullopt,
     "https://piaui.folha.uol.com.br/lupa/2020/08/31/verificamos-viaduto-obra-bolsonaro/",
     "Agência Lupa", "", "2020-08-31"},
    {"newschecker_en.jsonld", "Saudi team members to be awarded with Rolls Royce phantom car",
     false, "Viral social media post", "2022-11-22", "False", Verdict::kFalse, std::nullopt, 2, 2,
     "https://newschecker.in/sports-4/saudi-team-denies-reports-of-being-awarded-rolls-royce-by-"
     "mbs/",
     "Newschecker.in", "", "2022-11-27"},
    {"tfc-taiwan_zh.jsonld",
     "圖卡：美國要求各國制裁俄羅斯，私下卻大買俄羅斯石油，然後再轉手賣給他國大賺差價", false,
     "Line, FB", "2022-04-04", "錯誤", Verdict::kFalse, std::nullopt, 5, 1,
     "https://tfc-taiwan.org.tw/articles/7177", "台灣事實查核中心", "", "2022-04-08"},
    {"thequint_en.jsonld", "Last Tweets of Sushant Singh Rajput shared on 14 June", false,
     "Facebook,WhatsApp,Twitter,media outlets", "2020-06-16", "False", Verdict::kFalse, 1, 5, 0,
     "https://www.thequint.com/news/webqoof/"
     "are-these-last-tweets-of-sushant-singh-rajput-no-images-are-fake-fact-check",
     "The Quint", "", "2020-06-16"},
};

class ClaimReviewSampleTest : public ::testing::TestWithParam<Sample> {};

TEST_P(ClaimReviewSampleTest, ReadsExactlyOneRecordWithItsFields) {
  const Sample& s = GetParam();
  absl::StatusOr<ReadResult> result = ReadClaims(SamplePath(s.file), ClaimFormat::kAuto);
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(RejectionStrings(*result), ElementsAre());
  ASSERT_EQ(result->records.size(), 1u);
  const ClaimRecord& r = result->records[0];
  if (s.text_is_prefix) {
    EXPECT_THAT(r.text, StartsWith(s.text));
  } else {
    EXPECT_EQ(r.text, s.text);
  }
  EXPECT_EQ(r.claimant, s.claimant);
  EXPECT_EQ(r.claim_date, s.claim_date);
  EXPECT_EQ(r.verdict, s.verdict);
  EXPECT_EQ(VerdictName(r.verdict_normalized), VerdictName(s.normalized));
  EXPECT_EQ(r.rating_value, s.value);
  EXPECT_EQ(r.rating_best, s.best);
  EXPECT_EQ(r.rating_worst, s.worst);
  EXPECT_EQ(r.review_url, s.url);
  EXPECT_EQ(r.publisher, s.publisher);
  EXPECT_EQ(r.language, s.language);
  EXPECT_EQ(r.review_date, s.review_date);
  EXPECT_EQ(r.id, IdFromUrl(s.url));
}

INSTANTIATE_TEST_SUITE_P(AllSamples, ClaimReviewSampleTest, ::testing::ValuesIn(kSamples),
                         [](const ::testing::TestParamInfo<Sample>& info) {
                           std::string name;
                           for (const char* p = info.param.file; *p != '\0' && *p != '.'; ++p) {
                             name.push_back(absl::ascii_isalnum(*p) ? *p : '_');
                           }
                           return name;
                         });

TEST(LanguageTagTest, AcceptsTagShapesAndRejectsOthers) {
  for (const char* good : {"en", "pt-BR", "zh-Hant-TW", "es-419", "fil", "EN", "de-CH-1996"}) {
    EXPECT_TRUE(IsLanguageTag(good)) << good;
  }
  for (const char* bad : {"", "e", "engl", "en-", "-en", "en--US", "en_US", "pt-BRAZILIAN", "12",
                          "en US", "fr-\xC3\xA9t\xC3\xA9"}) {
    EXPECT_FALSE(IsLanguageTag(bad)) << bad;
  }
}

TEST(ClaimReviewTest, SamplesDetectTheirFormat) {
  for (const Sample& s : kSamples) {
    absl::StatusOr<ReadResult> result = ReadClaims(SamplePath(s.file), ClaimFormat::kAuto);
    ASSERT_THAT(result, IsOk());
    const ClaimFormat expected = std::string(s.file) == "google-factcheck-api-claim_ur.json"
                                     ? ClaimFormat::kFactCheckApi
                                     : ClaimFormat::kClaimReview;
    EXPECT_EQ(result->detected, expected) << s.file;
  }
}

nlohmann::json Extra(const ClaimRecord& r) { return nlohmann::json::parse(r.extra_json); }

TEST(ClaimReviewTest, KeepsTitleSubtitleAndExtraFields) {
  absl::StatusOr<ReadResult> afp =
      ReadClaims(SamplePath("afp-factuel_fr.jsonld"), ClaimFormat::kAuto);
  ASSERT_THAT(afp, IsOk());
  ASSERT_EQ(afp->records.size(), 1u);
  EXPECT_EQ(afp->records[0].title,
            "Attention à ce faux communiqué qui prétend que le Mali a rompu ses relations avec la "
            "France");
  EXPECT_EQ(afp->records[0].id, "url:factuel.afp.com/doc.afp.com.9XC9W4");
  EXPECT_EQ(Extra(afp->records[0]), nlohmann::json::parse(R"({"item_url":
              "https://www.facebook.com/101888178896970/photos/a.101895338896254/143921044693683/"})"));

  absl::StatusOr<ReadResult> comprova =
      ReadClaims(SamplePath("comprova_pt.jsonld"), ClaimFormat::kAuto);
  ASSERT_THAT(comprova, IsOk());
  ASSERT_EQ(comprova->records.size(), 1u);
  EXPECT_EQ(Extra(comprova->records[0]),
            nlohmann::json::parse(R"({"appearance": ["https://kwai-video.com/p/TDQEC1Og",
                                                      "https://kwai-video.com/p/2rSh4OCe"]})"));

  absl::StatusOr<ReadResult> checker =
      ReadClaims(SamplePath("newschecker_en.jsonld"), ClaimFormat::kAuto);
  ASSERT_THAT(checker, IsOk());
  ASSERT_EQ(checker->records.size(), 1u);
  EXPECT_EQ(Extra(checker->records[0]),
            nlohmann::json::parse(R"({"first_appearance": "https://archive.is/wip/XKReX"})"));

  absl::StatusOr<ReadResult> boom =
      ReadClaims(SamplePath("boomlive-bangla_bn.jsonld"), ClaimFormat::kAuto);
  ASSERT_THAT(boom, IsOk());
  ASSERT_EQ(boom->records.size(), 1u);
  EXPECT_EQ(Extra(boom->records[0]), nlohmann::json::parse(R"({"review_author": "Srijit Das",
                                      "date_modified": "2021-06-17T16:01:04+05:30"})"));

  absl::StatusOr<ReadResult> africa =
      ReadClaims(SamplePath("africacheck_en.jsonld"), ClaimFormat::kAuto);
  ASSERT_THAT(africa, IsOk());
  ASSERT_EQ(africa->records.size(), 1u);
  EXPECT_THAT(africa->records[0].subtitle,
              StartsWith("Mzwandile Masina, mayor of the City of Ekurhuleni, said"));

  absl::StatusOr<ReadResult> feed =
      ReadClaims(SamplePath("datacommons-feeditem_de.json"), ClaimFormat::kAuto);
  ASSERT_THAT(feed, IsOk());
  ASSERT_EQ(feed->records.size(), 1u);
  EXPECT_EQ(Extra(feed->records[0])["sd_publisher"], "Google Fact Check Tools");
  EXPECT_EQ(Extra(feed->records[0])["appearance"].size(), 1u);
}

TEST(ClaimReviewTest, HtmlPageWithFiveBlocksYieldsOnlyTheClaimReview) {
  absl::StatusOr<ReadResult> result =
      ReadClaims(SamplePath("indiatoday-mixed_en.ldjson-blocks.html"), ClaimFormat::kClaimReview);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->records.size(), 1u);
  EXPECT_TRUE(result->rejections.empty());
}

TEST(ClaimReviewTest, ArrayGraphAndDataFeedContainers) {
  const ReadResult result = Parse("feed.json", R"({"@type": "DataFeed", "dataFeedElement": [
        {"@type": "DataFeedItem", "item": {"@type": "ClaimReview", "claimReviewed": "one",
                                           "url": "https://a.org/1"}},
        {"@type": "DataFeedItem", "item": [{"@type": ["Review", "ClaimReview"],
                                            "claimReviewed": ["two", " and a half "]},
                                           {"@type": "Person", "name": "x"}]},
        {"@graph": [{"@type": "http://schema.org/ClaimReview", "claimReviewed": "three",
                     "inLanguage": "pt-BR", "headline": "H"}]}]})",
                                  ClaimFormat::kClaimReview);
  EXPECT_THAT(RejectionStrings(result), ElementsAre());
  ASSERT_EQ(result.records.size(), 3u);
  EXPECT_EQ(result.records[0].text, "one");
  EXPECT_EQ(result.records[0].id, "url:a.org/1");
  EXPECT_EQ(result.records[1].text, "two; and a half");
  EXPECT_EQ(result.records[1].id, IdFromText("two; and a half"));
  EXPECT_EQ(result.records[2].language, "pt-BR");
  EXPECT_EQ(result.records[2].title, "H");
}

TEST(ClaimReviewTest, RejectionsNameTheRecordAndField) {
  const ReadResult result = Parse("page.html", R"(<html>
<script type="application/ld+json">{"@type": "ClaimReview", "claimReviewed": "ok"}</script>
<script type="application/ld+json">{"@type": "ClaimReview"}</script>
<SCRIPT TYPE="application/ld+json">
{"@type": "ClaimReview", "claimReviewed": "  "}</SCRIPT>
<script type="application/ld+json">{"@type": "ClaimReview", "claimReviewed": {"a": 1}}</script>
<script type="application/ld+json">{"@type": "ClaimReview", oops</script>
</html>)",
                                  ClaimFormat::kAuto);
  EXPECT_EQ(result.detected, ClaimFormat::kClaimReview);
  EXPECT_EQ(result.records.size(), 1u);
  EXPECT_THAT(RejectionStrings(result),
              ElementsAre("page.html: record 2: field \"claimReviewed\" is missing",
                          "page.html: record 3: field \"claimReviewed\" is empty",
                          "page.html: record 4: field \"claimReviewed\" is not a string or an "
                          "array of strings",
                          "page.html:7: malformed JSON in ld+json block"));
}

TEST(ClaimReviewTest, WholeFileProblemsAreRejections) {
  EXPECT_THAT(RejectionStrings(Parse("a.jsonld", "{\"@type\": ", ClaimFormat::kClaimReview)),
              ElementsAre("a.jsonld: malformed JSON"));
  EXPECT_THAT(RejectionStrings(Parse("b.jsonld", R"({"@type": "WebPage"})", ClaimFormat::kAuto)),
              ElementsAre("b.jsonld: no ClaimReview object found"));
  EXPECT_THAT(RejectionStrings(Parse("c.jsonld", "{\n\"claimReviewed\": \"caf\xE9\"}",
                                     ClaimFormat::kClaimReview)),
              ElementsAre("c.jsonld:2: invalid UTF-8"));
}

TEST(ClaimReviewTest, RatingNumbersAndSentinels) {
  const ReadResult result = Parse("r.json", R"([
    {"@type": "ClaimReview", "claimReviewed": "a",
     "reviewRating": {"ratingValue": " 2.5 ", "bestRating": 5, "worstRating": "-1"}},
    {"@type": "ClaimReview", "claimReviewed": "b",
     "reviewRating": {"ratingValue": "n/a", "bestRating": "", "worstRating": -1.0}}])",
                                  ClaimFormat::kClaimReview);
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_EQ(result.records[0].rating_value, 2.5);
  EXPECT_EQ(result.records[0].rating_best, 5.0);
  EXPECT_EQ(result.records[0].rating_worst, std::nullopt);
  EXPECT_EQ(result.records[1].rating_value, std::nullopt);
  EXPECT_EQ(result.records[1].rating_best, std::nullopt);
  EXPECT_EQ(result.records[1].rating_worst, std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Fact Check Tools API

TEST(FactCheckApiTest, SearchResponseGivesOneRecordPerReview) {
  const ReadResult result = Parse("search.json", R"({"claims": [
    {"text": "Claim one", "claimant": "Someone", "claimDate": "2020-01-01T00:00:00Z",
     "claimReview": [
       {"publisher": {"name": "PolitiFact", "site": "politifact.com"},
        "url": "https://www.politifact.com/x/", "title": "T1", "reviewDate": "2020-01-02T00:00:00Z",
        "textualRating": "Pants on Fire", "languageCode": "en"},
       {"publisher": {"site": "example.org"}, "url": "http://example.org/y#frag",
        "textualRating": "Falso", "languageCode": "es"}]},
    {"claimant": "No text", "claimReview": [{"url": "https://z.org/"}]},
    {"text": "No review"}],
    "nextPageToken": "abc"})",
                                  ClaimFormat::kAuto);
  EXPECT_EQ(result.detected, ClaimFormat::kFactCheckApi);
  ASSERT_EQ(result.records.size(), 2u);
  const ClaimRecord& a = result.records[0];
  EXPECT_EQ(a.id, "url:politifact.com/x");
  EXPECT_EQ(a.text, "Claim one");
  EXPECT_EQ(a.claimant, "Someone");
  EXPECT_EQ(a.claim_date, "2020-01-01");
  EXPECT_EQ(a.publisher, "PolitiFact");
  EXPECT_EQ(a.title, "T1");
  EXPECT_EQ(a.review_date, "2020-01-02");
  EXPECT_EQ(a.verdict, "Pants on Fire");
  EXPECT_EQ(a.verdict_normalized, Verdict::kFalse);
  EXPECT_EQ(a.language, "en");
  const ClaimRecord& b = result.records[1];
  EXPECT_EQ(b.id, "url:example.org/y");
  EXPECT_EQ(b.text, "Claim one");
  EXPECT_EQ(b.publisher, "example.org");
  EXPECT_EQ(b.language, "es");
  EXPECT_THAT(RejectionStrings(result),
              ElementsAre("search.json: record 3: field \"text\" is missing",
                          "search.json: record 4: field \"claimReview\" is missing"));
}

// ---------------------------------------------------------------------------------------------
// JSON Lines, CSV, TSV

TEST(JsonlTest, DefaultMappingAndExtraFields) {
  const ReadResult result =
      Parse("claims.jsonl",
            "{\"id\": \"c1\", \"claim\": \" The moon is cheese. \", "
            "\"rating\": \"Mostly False\", \"url\": \"https://x.org/a\", "
            "\"lang\": \"en\", \"source\": \"web\", \"score\": 3}\n"
            "\n"
            "{\"text\": \"Two\", \"author\": \"Ann\", \"date\": \"2020\", "
            "\"ratingValue\": \"4\", \"bestRating\": 5, \"worstRating\": 1}\n",
            ClaimFormat::kAuto);
  EXPECT_EQ(result.detected, ClaimFormat::kJsonl);
  EXPECT_THAT(RejectionStrings(result), ElementsAre());
  ASSERT_EQ(result.records.size(), 2u);
  const ClaimRecord& a = result.records[0];
  EXPECT_EQ(a.id, "c1");
  EXPECT_EQ(a.text, "The moon is cheese.");
  EXPECT_EQ(a.verdict, "Mostly False");
  EXPECT_EQ(a.verdict_normalized, Verdict::kMostlyFalse);
  EXPECT_EQ(a.review_url, "https://x.org/a");
  EXPECT_EQ(a.language, "en");
  EXPECT_EQ(a.extra_json, R"({"score":3,"source":"web"})");
  const ClaimRecord& b = result.records[1];
  EXPECT_EQ(b.id, IdFromText("two"));
  EXPECT_EQ(b.claimant, "Ann");
  EXPECT_EQ(b.claim_date, "2020");
  EXPECT_EQ(b.rating_value, 4.0);
  EXPECT_EQ(b.verdict_normalized, Verdict::kMostlyTrue);  // numeric fallback
  EXPECT_EQ(b.extra_json, "");
}

// Dates are stored as ISO 8601; one that is not understood is kept in extra, with a warning that
// names the file, line and field, and the record is still read.
TEST(JsonlTest, DatesAreNormalisedOrKeptRawWithAWarning) {
  const ReadResult result = Parse(
      "claims.jsonl",
      "{\"claim\": \"One\", \"date\": \"October 5, 2020\", \"review_date\": "
      "\"2020-10-07T08:00Z\"}\n"
      "{\"claim\": \"Two\", \"date\": \"05/10/2020\"}\n"
      "{\"claim\": \"Three\", \"claim_date\": \"25/10/2020\", \"review_date\": \"yesterday\"}\n",
      ClaimFormat::kJsonl);
  EXPECT_THAT(RejectionStrings(result), ElementsAre());
  ASSERT_EQ(result.records.size(), 3u);
  EXPECT_EQ(result.records[0].claim_date, "2020-10-05");
  EXPECT_EQ(result.records[0].review_date, "2020-10-07");
  EXPECT_EQ(result.records[0].extra_json, "");
  EXPECT_EQ(result.records[1].claim_date, "");
  EXPECT_EQ(result.records[1].extra_json, R"({"claim_date_raw":"05/10/2020"})");
  EXPECT_EQ(result.records[2].claim_date, "2020-10-25");
  EXPECT_EQ(result.records[2].review_date, "");
  EXPECT_EQ(result.records[2].extra_json, R"({"review_date_raw":"yesterday"})");
  std::vector<std::string> warnings;
  for (const Rejection& w : result.warnings) warnings.push_back(w.ToString());
  EXPECT_THAT(warnings,
              ElementsAre("claims.jsonl:2: field \"date\" is not a date claimmatch understands "
                          "(\"05/10/2020\"): kept in extra as claim_date_raw; date filters skip "
                          "this claim",
                          "claims.jsonl:3: field \"review_date\" is not a date claimmatch "
                          "understands (\"yesterday\"): kept in extra as review_date_raw; date "
                          "filters skip this claim"));
}

TEST(JsonlTest, CustomMapping) {
  absl::StatusOr<FieldMapping> mapping =
      FieldMapping::Parse("text=statement, claimant=speaker|who ,verdict=label,id=uid");
  ASSERT_THAT(mapping, IsOk());
  const ReadResult result =
      Parse("m.jsonl",
            R"({"uid": 7, "statement": "S", "who": "W", "label": "true", "claim": "not the text"})",
            ClaimFormat::kJsonl, *mapping);
  EXPECT_THAT(RejectionStrings(result), ElementsAre());
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].id, "7");
  EXPECT_EQ(result.records[0].text, "S");
  EXPECT_EQ(result.records[0].claimant, "W");
  EXPECT_EQ(result.records[0].verdict_normalized, Verdict::kTrue);
  EXPECT_EQ(result.records[0].extra_json, R"({"claim":"not the text"})");
}

TEST(JsonlTest, FieldMappingParseErrors) {
  EXPECT_THAT(FieldMapping::Parse("text"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("\"text\" is not field=column")));
  EXPECT_THAT(FieldMapping::Parse("texte=claim"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown field \"texte\"")));
  EXPECT_THAT(FieldMapping::Parse("text="),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names no column")));
  absl::StatusOr<FieldMapping> empty = FieldMapping::Parse("");
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->text, FieldMapping().text);
}

TEST(JsonlTest, EveryRejectionPath) {
  const std::string long_text(10'001, 'x');
  const std::string long_title(100'001, 'y');
  const std::string content =
      absl::StrCat("{\"claim\": \"ok\"}\n",                                  // 1
                   "{\"claim\": \"\"}\n",                                    // 2
                   "{\"title\": \"no claim\"}\n",                            // 3
                   "{\"claim\": \"a\"\n",                                    // 4
                   "[1, 2]\n",                                               // 5
                   "{\"claim\": \"caf\xC3\"}\n",                             // 6
                   "{\"claim\": \"", long_text, "\"}\n",                     // 7
                   "{\"claim\": \"t\", \"title\": \"", long_title, "\"}\n",  // 8
                   "{\"claim\": \"t\", \"note\": \"", long_title, "\"}\n",   // 9
                   "{\"claim\": \"t\", \"title\": [1]}\n",                   // 10
                   "{\"claim\": 5}\n");                                      // 11
  const ReadResult result = Parse("claims.jsonl", content, ClaimFormat::kJsonl);
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_THAT(
      RejectionStrings(result),
      ElementsAre("claims.jsonl:2: field \"claim\" is empty",
                  "claims.jsonl:3: field \"claim\" is missing", "claims.jsonl:4: malformed JSON",
                  "claims.jsonl:5: is not a JSON object",
                  "claims.jsonl:6: invalid UTF-8 at byte 15",
                  "claims.jsonl:7: field \"claim\" is 10001 bytes, over the limit of 10000",
                  "claims.jsonl:8: field \"title\" is 100001 bytes, over the limit of 100000",
                  "claims.jsonl:9: field \"note\" is 100001 bytes, over the limit of 100000",
                  "claims.jsonl:10: field \"title\" is not a string",
                  "claims.jsonl:11: field \"claim\" is not a string or an array of strings"));
  const Rejection& r = result.rejections[0];
  EXPECT_EQ(r.file, "claims.jsonl");
  EXPECT_EQ(r.line_or_record, 2);
  EXPECT_FALSE(r.is_record_number);
  EXPECT_EQ(r.field, "claim");
  EXPECT_EQ(r.reason, "is empty");
}

TEST(JsonlTest, LimitsAreConfigurable) {
  ReadLimits limits;
  limits.max_text_bytes = 3;
  limits.max_field_bytes = 2;
  const ReadResult result = Parse("l.jsonl",
                                  "{\"claim\": \"abc\"}\n{\"claim\": \"abcd\"}\n"
                                  "{\"claim\": \"abc\", \"title\": \"xyz\"}\n",
                                  ClaimFormat::kJsonl, FieldMapping(), limits);
  EXPECT_EQ(result.records.size(), 1u);
  EXPECT_THAT(RejectionStrings(result),
              ElementsAre("l.jsonl:2: field \"claim\" is 4 bytes, over the limit of 3",
                          "l.jsonl:3: field \"title\" is 3 bytes, over the limit of 2"));
}

TEST(CsvTest, QuotesCommasAndNewlines) {
  const ReadResult result = Parse("c.csv",
                                  "id,claim,claimant,verdict,extra col\r\n"
                                  "1,\"Says \"\"hello\"\", world\",Bob,False,x\r\n"
                                  "\r\n"
                                  "2,\"two\nlines\",,half-true,\n"
                                  "3,plain,\"\",,\n",
                                  ClaimFormat::kAuto);
  EXPECT_EQ(result.detected, ClaimFormat::kCsv);
  EXPECT_THAT(RejectionStrings(result), ElementsAre());
  ASSERT_EQ(result.records.size(), 3u);
  EXPECT_EQ(result.records[0].id, "1");
  EXPECT_EQ(result.records[0].text, "Says \"hello\", world");
  EXPECT_EQ(result.records[0].claimant, "Bob");
  EXPECT_EQ(result.records[0].verdict_normalized, Verdict::kFalse);
  EXPECT_EQ(result.records[0].extra_json, R"({"extra col":"x"})");
  EXPECT_EQ(result.records[1].text, "two\nlines");
  EXPECT_EQ(result.records[1].verdict_normalized, Verdict::kMixed);
  EXPECT_EQ(result.records[1].extra_json, "");
  EXPECT_EQ(result.records[2].text, "plain");
}

TEST(CsvTest, MalformedRecordsAreRejectedWithTheirStartLine) {
  const ReadResult result = Parse("bad.csv",
                                  "claim,title\n"
                                  "ok,t\n"               // 2
                                  "\"a\"b,t\n"           // 3
                                  "too,many,fields\n"    // 4
                                  ",empty claim\n"       // 5
                                  "\"multi\nline\",t\n"  // 6-7
                                  "caf\xE9,t\n"          // 8
                                  "last,\"open\n"        // 9
                                  "never closed\n",
                                  ClaimFormat::kCsv);
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_EQ(result.records[1].text, "multi\nline");
  EXPECT_THAT(RejectionStrings(result),
              ElementsAre("bad.csv:3: unexpected character after a closing quote",
                          "bad.csv:4: has 3 fields, the header has 2",
                          "bad.csv:5: field \"claim\" is empty",
                          "bad.csv:8: field \"claim\" is not valid UTF-8",
                          "bad.csv:9: unterminated quoted field"));
}

TEST(TsvTest, PlainTabsWithHeader) {
  const ReadResult result = Parse("t.tsv",
                                  "id\tclaim\ttitle\r\n"
                                  "a\tSays \"x\", y\tT\r\n"
                                  "b\tonly two\n"
                                  "\n"
                                  "c\t\tT3\n",
                                  ClaimFormat::kAuto);
  EXPECT_EQ(result.detected, ClaimFormat::kTsv);
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].id, "a");
  EXPECT_EQ(result.records[0].text, "Says \"x\", y");
  EXPECT_EQ(result.records[0].title, "T");
  EXPECT_THAT(RejectionStrings(result), ElementsAre("t.tsv:3: has 2 fields, the header has 3",
                                                    "t.tsv:5: field \"claim\" is empty"));
}

// ---------------------------------------------------------------------------------------------
// CheckThat

TEST(CheckThatTest, PolitiFactLines) {
  absl::StatusOr<ReadResult> result =
      ReadClaims(ExcerptPath("politifact-claims.jsonl"), ClaimFormat::kAuto);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->detected, ClaimFormat::kCheckThat);
  EXPECT_THAT(RejectionStrings(*result), ElementsAre());
  ASSERT_EQ(result->records.size(), 5u);
  const ClaimRecord& r = result->records[0];
  EXPECT_EQ(r.id, "vclaim-pol-00000");
  EXPECT_EQ(r.text,
            "Schuyler VanValkenburg co-sponsored a bill that would have \"allowed abortion until "
            "the moment of birth.\"");
  EXPECT_EQ(
      r.title,
      "Vandergriff inaccurately describes bill that would have eased late-term abortion laws");
  EXPECT_EQ(r.claimant, "GayDonna Vandergriff");
  EXPECT_EQ(r.verdict, "false");
  EXPECT_EQ(r.verdict_normalized, Verdict::kFalse);
  EXPECT_EQ(r.claim_date, "2019-10-22");
  EXPECT_EQ(r.review_url,
            "https://www.politifact.com/factchecks/2019/oct/30/gaydonna-vandergriff/"
            "vandergriff-inaccurately-describes-bill-would-have/");
  EXPECT_EQ(r.publisher, "PolitiFact");
  EXPECT_EQ(r.language, "en");
  EXPECT_EQ(r.review_date, "");
  EXPECT_EQ(r.extra_json, R"({"date":"stated on October 22, 2019 in a campaign mailer.:"})");
  const std::vector<std::pair<std::string, Verdict>> verdicts = {
      {"false", Verdict::kFalse},
      {"pants-fire", Verdict::kFalse},
      {"half-true", Verdict::kMixed},
      {"barely-true", Verdict::kMostlyFalse},
      {"full-flop", Verdict::kOther}};
  for (size_t i = 0; i < verdicts.size(); ++i) {
    EXPECT_EQ(result->records[i].verdict, verdicts[i].first);
    EXPECT_EQ(result->records[i].verdict_normalized, verdicts[i].second);
  }
  EXPECT_EQ(result->records[1].claim_date, "2019-10-28");
  EXPECT_EQ(result->records[4].claim_date, "2019-10-09");  // "stated on October 9, 2019:"
}

TEST(CheckThatTest, SnopesLines) {
  absl::StatusOr<ReadResult> result =
      ReadClaims(ExcerptPath("snopes-claims.jsonl"), ClaimFormat::kAuto);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->detected, ClaimFormat::kCheckThat);
  EXPECT_THAT(RejectionStrings(*result), ElementsAre());
  ASSERT_EQ(result->records.size(), 5u);
  const ClaimRecord& r = result->records[0];
  EXPECT_EQ(r.id, "vclaim-sno-1-mcdonald39s-any-size-fries");
  EXPECT_EQ(r.text, "McDonald’s restaurants are offering $1 Any Size Fries between May 18 and 31.");
  EXPECT_EQ(r.title, "$1 McDonald's Any Size Fries");
  EXPECT_EQ(r.subtitle,
            "Rumor: McDonald's restaurants are offering $1 Any Size Fries between May 18 and 31.");
  EXPECT_EQ(r.claimant, "");  // "author" wrote the fact-check
  EXPECT_EQ(r.publisher, "Snopes");
  EXPECT_EQ(r.language, "en");
  EXPECT_EQ(r.review_date, "2015-05-26");
  EXPECT_EQ(r.claim_date, "");
  EXPECT_EQ(r.verdict, "");
  EXPECT_EQ(r.verdict_normalized, Verdict::kOther);
  EXPECT_EQ(r.extra_json, R"({"author":"David Mikkelson","date":"26 May 2015"})");
  EXPECT_EQ(result->records[1].review_date, "2021-03-06");
  EXPECT_EQ(result->records[3].review_url,
            "https://www.snopes.com/fact-check/15-homeless-dead-in-chicago/");
  EXPECT_EQ(result->records[4].review_date, "");  // "date": ""
  EXPECT_EQ(result->records[4].extra_json, R"({"author":"Kim LaCapria"})");
}

TEST(CheckThatTest, OldTsvForm) {
  absl::StatusOr<ReadResult> result =
      ReadClaims(ExcerptPath("verified-claims.tsv"), ClaimFormat::kAuto);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->detected, ClaimFormat::kCheckThat);
  EXPECT_THAT(RejectionStrings(*result), ElementsAre());
  ASSERT_EQ(result->records.size(), 3u);
  EXPECT_EQ(result->records[1].id, "vclaim-sno-10-meter-anaconda");
  EXPECT_EQ(result->records[1].text,
            "A viral video shows a 10-meter-long anaconda swimming across a river in Brazil.");
  EXPECT_EQ(result->records[1].title, "Does Video Show a 10-Meter-Long Anaconda?");
  EXPECT_EQ(result->records[1].publisher, "Snopes");
  EXPECT_EQ(result->records[1].language, "en");
}

// ---------------------------------------------------------------------------------------------
// Detection, ids, file errors

TEST(DetectFormatTest, ByExtensionAndContent) {
  auto detect = [](absl::string_view path, absl::string_view head) {
    absl::StatusOr<ClaimFormat> f = DetectFormat(path, head);
    return f.ok() ? ClaimFormatName(*f) : absl::string_view("error");
  };
  EXPECT_EQ(detect("x.csv", "a\tb\n"), "csv");
  EXPECT_EQ(detect("x.tsv", "id\tclaim\n"), "tsv");
  EXPECT_EQ(detect("x.tsv", "vclaim_id\tvclaim\ttitle\n"), "checkthat");
  EXPECT_EQ(detect("x.html", ""), "claimreview");
  EXPECT_EQ(detect("x.jsonld", "{}"), "claimreview");
  EXPECT_EQ(detect("x.txt", "  <!doctype html>"), "claimreview");
  EXPECT_EQ(detect("x.json", "{\"@context\": \"https://schema.org\"}"), "claimreview");
  EXPECT_EQ(detect("x.json", "{\"claims\": [{\"text\": \"t\", \"claimReview\": []}]}"),
            "factcheck-api");
  EXPECT_EQ(detect("x.json", "{\"claim\": \"a\"}\n{\"claim\": \"b\"}\n"), "jsonl");
  EXPECT_EQ(detect("x.jsonl", "\xEF\xBB\xBF{\"claim\": \"a\", \"@type\": \"x\"}\n"), "jsonl");
  EXPECT_EQ(detect("x", "{\"id\": \"vclaim-pol-1\", \"claim\": \"a\"}\n{}"), "checkthat");
  EXPECT_EQ(detect("x.dat", "id\tclaim\n"), "tsv");
  EXPECT_EQ(detect("x.dat", "id,claim\n"), "csv");
  EXPECT_EQ(detect("x.json", "[1, 2]"), "error");
  EXPECT_THAT(
      DetectFormat("x.bin", "\x01\x02"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot tell the format of x.bin")));
}

TEST(DetectFormatTest, FormatNamesRoundTrip) {
  for (ClaimFormat f :
       {ClaimFormat::kAuto, ClaimFormat::kJsonl, ClaimFormat::kCsv, ClaimFormat::kTsv,
        ClaimFormat::kClaimReview, ClaimFormat::kFactCheckApi, ClaimFormat::kCheckThat}) {
    absl::StatusOr<ClaimFormat> parsed = ParseClaimFormatName(ClaimFormatName(f));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_THAT(ParseClaimFormatName("xml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown format \"xml\"")));
}

TEST(IdTest, UrlAndTextIds) {
  EXPECT_EQ(IdFromUrl(" HTTPS://WWW.Example.ORG/Path/To/#frag "), "url:example.org/Path/To");
  EXPECT_EQ(IdFromUrl("http://example.org/a?b=1"), "url:example.org/a?b=1");
  EXPECT_EQ(IdFromUrl(""), "");
  EXPECT_EQ(IdFromText("  The  Moon\nis cheese "), IdFromText("the moon is cheese"));
  EXPECT_EQ(IdFromText("the moon is cheese"),
            "text:" + FingerprintHex(Fingerprint64("the moon is cheese")));
}

TEST(ReadClaimsTest, MissingFileFails) {
  EXPECT_THAT(ReadClaims("/nonexistent/claims.jsonl", ClaimFormat::kJsonl),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/claims.jsonl")));
}

TEST(ReadClaimsTest, UndetectableContentFails) {
  EXPECT_THAT(ParseClaims("x.bin", "\x01\x02", ClaimFormat::kAuto),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x.bin")));
}

}  // namespace
}  // namespace claimmatch
