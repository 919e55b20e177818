// The matching commands end to end (the real binary): lookup, flag, score, eval and
// `train reranker`, on a small claim database ingested with the bundled default model.
#include <sched.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "embeddings/file_util.h"
#include "engine/reranker.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::RunClaimmatch;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using json = nlohmann::json;

std::string DefaultModel() { return JoinPath(testing::TestDataDir(), "../../models/default"); }

// The mask holding only the first CPU of `mask`.
cpu_set_t FirstCpuOf(const cpu_set_t& mask) {
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &mask)) {
      CPU_SET(c, &one);
      break;
    }
  }
  return one;
}

// A re-ranker that ranks by date proximity alone: logit = 4 x proximity (claimant agreement off,
// decision weights 0, the default thresholds), as JSON.
std::string ByDateRerankerJson() {
  RerankerModel by_date;
  by_date.weights[13] = 4;
  return by_date.ToJson();
}

// Twelve claims on distinct topics (ids c01..c12), in English and Portuguese.
constexpr char kClaimsJsonl[] =
    R"({"id": "c01", "claim": "Vaccines cause autism in children.", "verdict": "False", "publisher": "Snopes", "language": "en", "date": "2019-03-01", "url": "https://checks.example.org/c01"}
{"id": "c02", "claim": "The moon landing in 1969 was filmed in a Hollywood studio.", "verdict": "False", "publisher": "PolitiFact", "language": "en", "date": "2018-07-20", "url": "https://checks.example.org/c02"}
{"id": "c03", "claim": "Drinking bleach cures the coronavirus.", "verdict": "False", "publisher": "FactCheck.org", "language": "en", "date": "2020-04-24", "url": "https://checks.example.org/c03"}
{"id": "c04", "claim": "The Great Wall of China is visible from space with the naked eye.", "verdict": "Mostly False", "publisher": "Snopes", "language": "en", "date": "2017-05-10", "url": "https://checks.example.org/c04"}
{"id": "c05", "claim": "Eating carrots dramatically improves your night vision.", "verdict": "Mixture", "publisher": "Snopes", "language": "en", "date": "2016-02-11", "url": "https://checks.example.org/c05"}
{"id": "c06", "claim": "Wind turbines cause cancer in people who live nearby.", "verdict": "Pants on Fire", "publisher": "PolitiFact", "language": "en", "date": "2019-04-02", "url": "https://checks.example.org/c06"}
{"id": "c07", "claim": "Springfield banned gas stoves in all new homes in 2021.", "verdict": "True", "publisher": "PolitiFact", "language": "en", "date": "2021-06-15", "url": "https://checks.example.org/c07"}
{"id": "c08", "claim": "Bill Gates plans to implant microchips in people through COVID-19 vaccines.", "verdict": "False", "publisher": "Snopes", "language": "en", "date": "2020-05-05", "url": "https://checks.example.org/c08"}
{"id": "c09", "claim": "A vacina contra a gripe causa paralisia facial em idosos.", "verdict": "Falso", "publisher": "Agência Lupa", "language": "pt-BR", "date": "2020-10-01", "url": "https://checks.example.org/c09"}
{"id": "c10", "claim": "O governo vai confiscar a poupança dos brasileiros em 2023.", "verdict": "Falso", "publisher": "Aos Fatos", "language": "pt", "date": "2022-11-10", "url": "https://checks.example.org/c10"}
{"id": "c11", "claim": "Sharks cannot get cancer, so shark cartilage cures it.", "verdict": "False", "publisher": "FactCheck.org", "language": "en", "url": "https://checks.example.org/c11"}
{"id": "c12", "claim": "The Eiffel Tower was originally built for the city of Barcelona.", "verdict": "Half True", "publisher": "Full Fact", "language": "en", "date": "2020-12-31", "url": "https://checks.example.org/c12"}
)";

// Toy evaluation set. q1-q3 copy a claim verbatim (certain top 1 in every mode); q4 shares no
// word with its gold claim c07 (never retrieved lexically); q5 copies c01 but has two gold claims,
// the second (c10, Portuguese) sharing no word with it.
constexpr char kQueriesTsv[] =
    "id\ttext\n"
    "q1\tDrinking bleach cures the coronavirus.\n"
    "q2\tThe Great Wall of China is visible from space with the naked eye.\n"
    "q3\tWind turbines cause cancer in people who live nearby.\n"
    "q4\tThe recipe needs two cups of flour and an egg.\n"
    "q5\tVaccines cause autism in children.\n";
constexpr char kQrels[] =
    "q1 0 c03 1\n"
    "q2 0 c04 1\n"
    "q3 0 c06 1\n"
    "q4 0 c07 1\n"
    "q5 0 c01 1\n"
    "q5 0 c10 1\n";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::string ReadOrEmpty(const std::string& path) {
  auto r = ReadFile(path);
  return r.ok() ? *r : std::string();
}

class MatchCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::MakeTempDir("match_cli"));
    const std::string claims = JoinPath(*root_, "claims.jsonl");
    ASSERT_THAT(WriteFileAtomically(claims, kClaimsJsonl), IsOk());
    const auto r =
        RunClaimmatch({"ingest", "--db", Db(), "--model", DefaultModel(), "--json", "-q", claims});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(json::parse(r.out)["added"], 12) << r.out;
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static std::string Db() { return JoinPath(*root_, "db"); }

  void SetUp() override {
    ASSERT_NE(root_, nullptr);
    dir_ = testing::MakeTempDir(std::string("mcli_") +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  // Runs `claimmatch COMMAND --db DB --model DEFAULT ARGS...`.
  testing::CommandResult Run(std::vector<std::string> args, const std::string& in = "") {
    size_t at = 1;
    if (args[0] == "train") at = 2;
    if (args[0] != "train") args.insert(args.begin() + at, {"--db", Db()});
    args.insert(args.begin() + at, {"--model", DefaultModel()});
    return RunClaimmatch(args, in);
  }
  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = JoinPath(dir_, name);
    EXPECT_THAT(WriteFileAtomically(path, contents), IsOk());
    return path;
  }
  // The claim ids `lookup --json -k 20 ARGS... TEXT` returns.
  std::set<std::string> LookupIds(const std::vector<std::string>& args, const std::string& text) {
    std::vector<std::string> all = {"lookup", "--json", "-k", "20"};
    all.insert(all.end(), args.begin(), args.end());
    all.push_back(text);
    const auto r = Run(all);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> ids;
    const json j = json::parse(r.out);
    for (const json& m : j["matches"]) ids.insert(m["claim_id"].get<std::string>());
    return ids;
  }

  static std::string* root_;
  std::string dir_;
};
std::string* MatchCliTest::root_ = nullptr;

// ---- lookup ----

TEST_F(MatchCliTest, LookupJsonDocument) {
  // An explicit match threshold: with the built-in fusion even an exact repeat stays under the
  // default 0.9 (its confidence here is about 0.78).
  const auto r = Run(
      {"lookup", "--json", "--match-threshold", "0.7", "Drinking bleach cures the coronavirus!"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_THAT(Lines(r.out), SizeIs(1));
  const json j = json::parse(r.out);
  EXPECT_EQ(j["query"], "Drinking bleach cures the coronavirus!");
  EXPECT_EQ(j["decision"], "match");
  ASSERT_TRUE(j["matches"].is_array());
  ASSERT_THAT(j["matches"], SizeIs(5));  // -k defaults to 5
  const json& m = j["matches"][0];
  EXPECT_EQ(m["claim_id"], "c03");
  EXPECT_EQ(m["claim"], "Drinking bleach cures the coronavirus.");
  EXPECT_EQ(m["verdict"], "False");
  EXPECT_EQ(m["verdict_normalized"], "false");
  EXPECT_EQ(m["review_url"], "https://checks.example.org/c03");
  EXPECT_EQ(m["publisher"], "FactCheck.org");
  EXPECT_EQ(m["language"], "en");
  EXPECT_EQ(m["claim_date"], "2020-04-24");
  EXPECT_EQ(m["decision"], "match");
  for (const char* key : {"score", "confidence", "dense", "lexical"}) {
    ASSERT_TRUE(m[key].is_number()) << key;
    EXPECT_GT(m[key].get<double>(), 0) << key;
    EXPECT_LE(m[key].get<double>(), 1.0001) << key;
  }
  EXPECT_GE(m["confidence"].get<double>(), 0.7);
  for (size_t i = 1; i < j["matches"].size(); ++i) EXPECT_EQ(j["matches"][i]["decision"], "none");
  for (size_t i = 1; i < j["matches"].size(); ++i) {
    EXPECT_GE(j["matches"][i - 1]["score"].get<double>(), j["matches"][i]["score"].get<double>());
  }
}

TEST_F(MatchCliTest, LookupFiltersAndK) {
  const auto r = Run({"lookup", "--json", "-k", "12", "--language", "pt", "--mode", "dense",
                      "Vaccines cause autism in children."});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  std::set<std::string> ids;
  for (const json& m : j["matches"]) ids.insert(m["claim_id"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{"c09", "c10"}));

  const auto v = Run({"lookup", "--json", "-k", "12", "--verdict", "mixed", "--mode", "dense",
                      "Vaccines cause autism in children."});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  ids.clear();
  const json jv = json::parse(v.out);
  for (const json& m : jv["matches"]) ids.insert(m["claim_id"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{"c05", "c12"}));

  const auto k = Run({"lookup", "--json", "-k", "2", "Vaccines cause autism in children."});
  ASSERT_EQ(k.exit_code, 0) << k.err;
  const json jk = json::parse(k.out);
  ASSERT_THAT(jk["matches"], SizeIs(2));
  EXPECT_EQ(jk["matches"][0]["claim_id"], "c01");
}

TEST_F(MatchCliTest, LookupUnrelatedTextIsNone) {
  const auto r = Run({"lookup", "--json", "The recipe needs two cups of flour and an egg."});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["decision"], "none");
  for (const json& m : j["matches"]) EXPECT_EQ(m["decision"], "none");

  // The table output says so.
  const auto t = Run({"lookup", "--no-color", "The recipe needs two cups of flour and an egg."});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_THAT(t.out, HasSubstr("no match"));

  // A text without words gets no claims at all, and the table says why.
  const auto empty = Run({"lookup", "--no-color", "?! ..."});
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "no match: the text has no words to match\n");
  const auto empty_json = Run({"lookup", "--json", "?! ..."});
  ASSERT_EQ(empty_json.exit_code, 0) << empty_json.err;
  EXPECT_EQ(json::parse(empty_json.out)["matches"], json::array());
  EXPECT_EQ(json::parse(empty_json.out)["decision"], "none");
}

TEST_F(MatchCliTest, LookupReadsQueriesFromStdinOneJsonLineEach) {
  const std::string in =
      "Wind turbines cause cancer in people who live nearby.\n"
      "The Great Wall of China is visible from space with the naked eye.\r\n"
      "\n"
      "Drinking bleach cures the coronavirus.\n";
  const auto r = Run({"lookup", "-k", "1"}, in);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(4)) << r.out;
  const json a = json::parse(lines[0]), b = json::parse(lines[1]), c = json::parse(lines[2]),
             d = json::parse(lines[3]);
  EXPECT_EQ(a["query"], "Wind turbines cause cancer in people who live nearby.");
  EXPECT_EQ(a["matches"][0]["claim_id"], "c06");
  EXPECT_EQ(b["query"], "The Great Wall of China is visible from space with the naked eye.");
  EXPECT_EQ(b["matches"][0]["claim_id"], "c04");
  EXPECT_EQ(c["query"], "");
  EXPECT_EQ(c["decision"], "none");
  EXPECT_THAT(c["matches"], SizeIs(0));
  EXPECT_EQ(d["matches"][0]["claim_id"], "c03");
  EXPECT_THAT(d["matches"], SizeIs(1));
}

TEST_F(MatchCliTest, LookupDateAndPublisherFilters) {
  auto ids_of = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--mode", "dense"});
    return LookupIds(args, "Vaccines cause autism in children.");
  };
  EXPECT_EQ(ids_of({"--since", "2020", "--until", "2020"}),
            (std::set<std::string>{"c03", "c08", "c09", "c12"}));
  EXPECT_EQ(ids_of({"--until", "2018-07-20"}), (std::set<std::string>{"c02", "c04", "c05"}));
  EXPECT_EQ(ids_of({"--publisher", "Snopes,Full Fact"}),
            (std::set<std::string>{"c01", "c04", "c05", "c08", "c12"}));
  EXPECT_EQ(ids_of({"--language", "pt", "--verdict", "false", "--since", "2021"}),
            (std::set<std::string>{"c10"}));
}

// Regression (was a bug in tools/cmd_match.cc, RunLookup's `answer`): on a pipe, a line that is not
// valid UTF-8 gets no output line at all (answer() returns before printing), so the output no
// longer lines up with the input ("one JSON result per line out").
TEST_F(MatchCliTest, LookupStdinKeepsOneLinePerInputLineForInvalidUtf8) {
  const auto r = Run({"lookup", "-k", "1"},
                     "Vaccines cause autism in children.\n\xff\xfe bad bytes\n"
                     "Drinking bleach cures the coronavirus.\n");
  EXPECT_THAT(Lines(r.out), SizeIs(3)) << r.out;
}

TEST_F(MatchCliTest, LookupUsageErrorsExit2) {
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"lookup", "--mode", "bogus", "some claim text"},
           {"lookup", "-k", "0", "some claim text"},
           {"lookup", "-k", "many", "some claim text"},
           {"lookup", "--verdict", "nonsense", "some claim text"},
           {"lookup", "--match-threshold", "1.5", "some claim text"},
           {"lookup", "--names-only-idf", "-1", "some claim text"},
           {"lookup", "--lexical-candidates", "0", "some claim text"},
           {"lookup", "--dense-candidates", "0", "some claim text"},
           {"lookup", "--since", "2020-13", "some claim text"},
           {"lookup", "--until", "05/10/2020", "some claim text"},
           {"lookup", "--no-such-option", "some claim text"},
       }) {
    const auto r = Run(bad);
    EXPECT_EQ(r.exit_code, 2) << bad[1] << " " << bad[2] << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  EXPECT_THAT(Run({"lookup", "--names-only-idf", "x", "some claim text"}).err,
              HasSubstr("--names-only-idf needs a number >= 0"));
  EXPECT_THAT(Run({"lookup", "--since", "yesterday", "some claim text"}).err,
              HasSubstr("--since needs a date YYYY, YYYY-MM or YYYY-MM-DD (got \"yesterday\")"));
}

TEST_F(MatchCliTest, LookupMissingDatabaseFails) {
  const auto r = RunClaimmatch({"lookup", "--db", JoinPath(dir_, "nowhere"), "--model",
                                DefaultModel(), "--json", "anything at all here"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
}

// ---- flag ----

constexpr char kArticle[] =
    "Dr. Smith spoke to reporters at the clinic on Monday morning. "
    "\"Wind turbines cause cancer in people who live nearby.\" "
    "He laughed and changed the subject. "
    "The recipe needs two cups of flour and an egg.\n";

TEST_F(MatchCliTest, FlagReportsTheRepeatedSentenceWithExactOffsets) {
  const std::string path = Write("article.txt", kArticle);
  const auto r = Run({"flag", "--json", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["input"], path);
  EXPECT_EQ(j["html"], false);
  EXPECT_EQ(j["sentences_checked"], 4);  // "Dr." does not end a sentence
  EXPECT_EQ(j["sentences_flagged"], 1);
  ASSERT_THAT(j["sentences"], SizeIs(1)) << j.dump(2);
  const json& s = j["sentences"][0];
  const std::string input = kArticle;
  const std::string expected = "\"Wind turbines cause cancer in people who live nearby.\"";
  EXPECT_EQ(s["sentence"], expected);
  const size_t begin = s["begin"].get<size_t>(), end = s["end"].get<size_t>();
  EXPECT_EQ(begin, input.find(expected));
  EXPECT_EQ(end, begin + expected.size());
  EXPECT_EQ(input.substr(begin, end - begin), expected);
  EXPECT_EQ(s["char_begin"], begin);  // ASCII input: code points = bytes
  EXPECT_EQ(s["char_end"], end);
  EXPECT_EQ(s["decision"], "match");  // the bundled re-ranker's confidence clears its threshold
  ASSERT_FALSE(s["matches"].empty());
  EXPECT_EQ(s["matches"][0]["claim_id"], "c06");
  EXPECT_EQ(s["matches"][0]["verdict_normalized"], "false");

  // --all lists every sentence, the unrelated one as "none".
  const auto all = Run({"flag", "--json", "--all", path});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const json ja = json::parse(all.out);
  ASSERT_THAT(ja["sentences"], SizeIs(4));
  EXPECT_EQ(ja["sentences"][0]["sentence"],
            "Dr. Smith spoke to reporters at the clinic on Monday morning.");
  EXPECT_EQ(ja["sentences"][3]["sentence"], "The recipe needs two cups of flour and an egg.");
  EXPECT_EQ(ja["sentences"][3]["decision"], "none");
  EXPECT_THAT(ja["sentences"][3]["matches"], SizeIs(0));
  for (const json& sen : ja["sentences"]) {
    const size_t b = sen["begin"].get<size_t>(), e = sen["end"].get<size_t>();
    EXPECT_EQ(input.substr(b, e - b), sen["sentence"].get<std::string>());
  }
}

TEST_F(MatchCliTest, FlagReadsStdinAndPrintsText) {
  const auto r = Run({"flag", "--no-color"}, kArticle);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Wind turbines cause cancer"));
  EXPECT_THAT(r.out, HasSubstr("https://checks.example.org/c06"));
  EXPECT_THAT(r.out, HasSubstr("1 of 4 sentences repeat checked claims"));
  EXPECT_EQ(r.out.find("flour"), std::string::npos) << r.out;
}

TEST_F(MatchCliTest, FlagDetectsHtml) {
  const std::string html =
      "<html><body><p>Wind turbines cause cancer in people who live nearby.</p>"
      "<p>The recipe needs two cups of flour and an egg.</p></body></html>\n";
  const auto r = Run({"flag", "--json", "-"}, html);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["html"], true);
  EXPECT_EQ(j["input"], "-");
  EXPECT_EQ(j["sentences_checked"], 2);
  EXPECT_EQ(j["sentences_flagged"], 1);
  ASSERT_THAT(j["sentences"], SizeIs(1));
  EXPECT_EQ(j["sentences"][0]["sentence"], "Wind turbines cause cancer in people who live nearby.");
  EXPECT_EQ(j["sentences"][0]["matches"][0]["claim_id"], "c06");
  EXPECT_EQ(r.out.find("<p>"), std::string::npos);
}

// An HTML page's publication day dates its sentences for the re-ranker's date proximity; --date
// wins over it, --no-page-date ignores it, plain text has none. With a re-ranker that scores by
// date proximity alone (logit = 4 x proximity; its default thresholds make every candidate a
// suggestion), c06 (claim date 2019-04-02) scores sigmoid(4) on a page published that day, 0.5
// undated.
TEST_F(MatchCliTest, FlagDatesAnHtmlPageByItsPublicationDay) {
  const std::string reranker = Write("by_date.json", ByDateRerankerJson());
  const std::string page =
      "<html><head><meta property=\"article:published_time\" "
      "content=\"2019-04-02T09:30:00+02:00\"></head>"
      "<body><p>Wind turbines cause cancer in people who live nearby.</p></body></html>\n";
  struct Flagged {
    std::string date, source;
    double score = -1;
    std::string text;
  };
  const auto flag = [&](std::vector<std::string> extra, const std::string& input) {
    std::vector<std::string> args = {"flag", "--reranker", reranker};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("-");
    Flagged f;
    const auto text = Run(args, input);
    EXPECT_EQ(text.exit_code, 0) << text.err;
    f.text = text.out;
    args.insert(args.begin() + 1, "--json");
    const auto r = Run(args, input);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    f.date = j["date"].get<std::string>();
    f.source = j["date_source"].get<std::string>();
    if (!j["sentences"].empty() && j["sentences"][0]["matches"][0]["claim_id"] == "c06") {
      f.score = j["sentences"][0]["matches"][0]["score"].get<double>();
    }
    return f;
  };
  const auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  const Flagged dated = flag({}, page);
  EXPECT_EQ(dated.date, "2019-04-02");
  EXPECT_EQ(dated.source, "article:published_time");
  EXPECT_NEAR(dated.score, sigmoid(4), 1e-4);
  EXPECT_THAT(dated.text, HasSubstr("1 of 1 sentences repeat checked claims (offsets are into the "
                                    "text extracted from the HTML; dated 2019-04-02 by the page's "
                                    "article:published_time)"));
  const Flagged given = flag({"--date", "April 9, 2019"}, page);
  EXPECT_EQ(given.date, "2019-04-09");
  EXPECT_EQ(given.source, "--date");
  EXPECT_NEAR(given.score, sigmoid(4 * std::exp(-1.0)), 1e-4);
  EXPECT_THAT(given.text, Not(HasSubstr("dated")));
  const Flagged ignored = flag({"--no-page-date"}, page);
  EXPECT_EQ(ignored.date, "");
  EXPECT_EQ(ignored.source, "");
  EXPECT_NEAR(ignored.score, 0.5, 1e-4);
  const Flagged plain = flag({}, "Wind turbines cause cancer in people who live nearby.\n");
  EXPECT_EQ(plain.date, "");
  EXPECT_NEAR(plain.score, 0.5, 1e-4);
}

TEST_F(MatchCliTest, FlagUsageErrors) {
  EXPECT_EQ(Run({"flag", "a.txt", "b.txt"}).exit_code, 2);
  EXPECT_EQ(Run({"flag", "--mode", "bogus", "-"}, "text").exit_code, 2);
  EXPECT_EQ(Run({"flag", JoinPath(dir_, "missing.txt")}).exit_code, 1);
}

TEST_F(MatchCliTest, FlagOffsetsCountBytesAndCodePoints) {
  const std::string input =
      "Atenção, é sério. A vacina contra a gripe causa paralisia facial em idosos. Receita de "
      "bolo com ovos.\n";
  const std::string path = Write("pt.txt", input);
  const auto r = Run({"flag", "--json", "--all", "--locale", "pt", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_THAT(j["sentences"], SizeIs(3));
  const json& s = j["sentences"][1];
  const std::string expected = "A vacina contra a gripe causa paralisia facial em idosos.";
  EXPECT_EQ(s["sentence"], expected);
  EXPECT_EQ(s["begin"], input.find(expected));  // 22: "ç", "ã", "é", "é" take two bytes each
  EXPECT_EQ(s["begin"], 22);
  EXPECT_EQ(s["end"], 22 + expected.size());
  EXPECT_EQ(s["char_begin"], 18);
  EXPECT_EQ(s["char_end"], 18 + expected.size());
  EXPECT_EQ(s["decision"], "match");
  EXPECT_EQ(s["matches"][0]["claim_id"], "c09");
  EXPECT_EQ(j["sentences"][0]["decision"], "none");
  EXPECT_EQ(j["sentences"][2]["decision"], "none");
}

// ---- score ----

constexpr char kScoreJsonl[] =
    R"({"id": "a1", "text": "Drinking bleach cures the coronavirus!", "source": "tw", "n": 7}
{"id": "a2", "text": "The recipe needs two cups of flour and an egg."}
this is not json
{"id": "a4", "body": "no text field here"}
{"text": "Wind turbines cause cancer in people who live nearby.", "user": {"name": "x"}}
)";

TEST_F(MatchCliTest, ScoreJsonlKeepsOrderPassthroughAndRejects) {
  const std::string in = Write("in.jsonl", kScoreJsonl);
  const std::string out = JoinPath(dir_, "out.jsonl");
  const std::string rejects = JoinPath(dir_, "rejects.jsonl");
  const std::string summary = JoinPath(dir_, "summary.json");
  const auto r = Run({"score", "-q", "--match-threshold", "0.6", "--input", in, "--output", out,
                      "--rejects", rejects, "--summary", summary});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(PathExists(out + ".partial"));
  const std::vector<std::string> lines = Lines(ReadOrEmpty(out));
  ASSERT_THAT(lines, SizeIs(5));
  const json a1 = json::parse(lines[0]), a2 = json::parse(lines[1]), l3 = json::parse(lines[2]),
             a4 = json::parse(lines[3]), l5 = json::parse(lines[4]);
  EXPECT_EQ(a1["id"], "a1");
  EXPECT_EQ(a1["source"], "tw");
  EXPECT_EQ(a1["n"], 7);
  EXPECT_EQ(a1["text"], "Drinking bleach cures the coronavirus!");
  EXPECT_EQ(a1["decision"], "match");
  ASSERT_THAT(a1["matches"], SizeIs(1));  // -k defaults to 1 for score
  EXPECT_EQ(a1["matches"][0]["claim_id"], "c03");
  EXPECT_EQ(a2["id"], "a2");
  EXPECT_EQ(a2["decision"], "none");
  EXPECT_EQ(l3["line"], 3);
  EXPECT_EQ(l3["decision"], "error");
  EXPECT_THAT(l3["error"].get<std::string>(), HasSubstr("malformed JSON"));
  EXPECT_FALSE(l3.contains("matches"));
  EXPECT_EQ(a4["id"], "a4");
  EXPECT_EQ(a4["body"], "no text field here");
  EXPECT_EQ(a4["decision"], "error");
  EXPECT_THAT(a4["error"].get<std::string>(), HasSubstr("\"text\""));
  EXPECT_EQ(l5["id"], 5);  // no id: the line number
  EXPECT_EQ(l5["user"]["name"], "x");
  EXPECT_EQ(l5["matches"][0]["claim_id"], "c06");

  const std::vector<std::string> rej = Lines(ReadOrEmpty(rejects));
  ASSERT_THAT(rej, SizeIs(2));
  EXPECT_EQ(json::parse(rej[0])["line"], 3);
  EXPECT_THAT(json::parse(rej[0])["message"].get<std::string>(), HasSubstr(in + ":3"));
  EXPECT_EQ(json::parse(rej[1])["line"], 4);

  const json s = json::parse(ReadOrEmpty(summary));
  EXPECT_EQ(s["records"], 5);
  EXPECT_EQ(s["scored"], 3);
  EXPECT_EQ(s["rejected"], 2);
  EXPECT_EQ(s["resumed_after"], 0);
  // a1 and line 5 repeat false claims nearly verbatim: both automatic matches.
  EXPECT_EQ(l5["decision"], "match");
  EXPECT_EQ(s["matches_by_verdict"]["false"], 2);
}

// --date-field: a record's date feeds the re-ranker's date proximity (the bundled re-ranker weighs
// it), as lookup's --date does; a record without one is ranked as before, one that is not a day is
// rejected naming the field. c03 was checked on 2020-04-24.
TEST_F(MatchCliTest, ScoreDateFieldFeedsDateProximity) {
  const std::string text = "Drinking bleach cures the coronavirus!";
  const std::string in = Write(
      "dated.jsonl",
      absl::StrCat(R"({"id": "d1", "text": ")", text, R"(", "created": "2020-04-24T09:30:00Z"})",
                   "\n", R"({"id": "d2", "text": ")", text, R"("})", "\n",
                   R"({"id": "d3", "text": ")", text, R"(", "created": "yesterday"})", "\n",
                   R"({"id": "d4", "text": ")", text, R"(", "created": "April 24, 2020"})", "\n"));
  const auto r = Run({"score", "-q", "--date-field", "created", "--input", in});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(4));
  const json d1 = json::parse(lines[0]), d2 = json::parse(lines[1]), d3 = json::parse(lines[2]),
             d4 = json::parse(lines[3]);
  ASSERT_EQ(d1["matches"][0]["claim_id"], "c03");
  ASSERT_EQ(d2["matches"][0]["claim_id"], "c03");
  const double dated = d1["matches"][0]["score"], undated = d2["matches"][0]["score"];
  EXPECT_GT(dated, undated);
  EXPECT_EQ(d4["matches"][0]["score"], dated);       // the same day, written another way
  EXPECT_EQ(d1["created"], "2020-04-24T09:30:00Z");  // passed through as given
  EXPECT_EQ(d3["decision"], "error");
  EXPECT_THAT(d3["error"].get<std::string>(),
              AllOf(HasSubstr("\"created\" is not a day"), HasSubstr("yesterday")));

  // lookup --date gives the same score; without it, the undated one.
  const auto l = Run({"lookup", "--json", "-k", "1", "--date", "2020-04-24", text});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_EQ(json::parse(l.out)["matches"][0]["score"], dated);
  const auto u = Run({"lookup", "--json", "-k", "1", text});
  EXPECT_EQ(json::parse(u.out)["matches"][0]["score"], undated);

  // The same from a TSV column; an empty cell is no date.
  const std::string tsv = Write("dated.tsv", absl::StrCat("id\ttext\tcreated\nt1\t", text,
                                                          "\t2020-04-24\nt2\t", text, "\t\n"));
  const auto t = Run({"score", "-q", "--date-field", "created", "--input", tsv});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  ASSERT_THAT(Lines(t.out), SizeIs(2));
  EXPECT_EQ(json::parse(Lines(t.out)[0])["matches"][0]["score"], dated);
  EXPECT_EQ(json::parse(Lines(t.out)[1])["matches"][0]["score"], undated);

  const std::string lines_in = Write("plain.txt", text + "\n");
  const auto plain = Run({"score", "-q", "--date-field", "created", "--input", lines_in});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_THAT(plain.err, HasSubstr("--date-field needs JSONL, TSV or CSV"));
  const auto bad = Run({"lookup", "--date", "2020", text});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--date needs a day"));
}

// A dated text does not repeat a claim first stated more than a day after it: lookup's --date,
// score's record dates and eval's dated query ids leave c06 (stated 2019-04-02) out, and
// --keep-later-claims keeps it.
TEST_F(MatchCliTest, ClaimsStatedAfterADatedTextAreLeftOut) {
  const std::string text = "Wind turbines cause cancer in people who live nearby.";
  const auto lookup_ids = [&](const std::vector<std::string>& extra) {
    return LookupIds(extra, text);
  };
  EXPECT_EQ(lookup_ids({}).count("c06"), 1u);
  EXPECT_EQ(lookup_ids({"--date", "2019-04-01"}).count("c06"), 1u);
  EXPECT_EQ(lookup_ids({"--date", "March 31, 2019"}).count("c06"), 0u);
  EXPECT_EQ(lookup_ids({"--date", "March 31, 2019", "--keep-later-claims"}).count("c06"), 1u);

  // flag: a page's own publication day counts as its sentences' date.
  const std::string page =
      absl::StrCat("<html><head><meta property=\"article:published_time\" content=\"2019-03-01\">",
                   "</head><body><p>", text, "</p></body></html>\n");
  const auto flagged = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"flag", "--json", "--all"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("-");
    const auto r = Run(args, page);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    return j["sentences"].empty() || j["sentences"][0]["matches"].empty()
               ? std::string()
               : j["sentences"][0]["matches"][0]["claim_id"].get<std::string>();
  };
  EXPECT_NE(flagged({}), "c06");
  EXPECT_EQ(flagged({"--keep-later-claims"}), "c06");
  EXPECT_EQ(flagged({"--no-page-date"}), "c06");

  const std::string in =
      Write("later.jsonl",
            absl::StrCat(R"({"id": "a", "text": ")", text, R"(", "day": "2019-04-02"})", "\n",
                         R"({"id": "b", "text": ")", text, R"(", "day": "2018-01-01"})", "\n"));
  const auto first_ids = [&](bool keep) {
    std::vector<std::string> args = {"score", "-q", "--date-field", "day", "--input", in};
    if (keep) args.push_back("--keep-later-claims");
    const auto r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> ids;
    for (const std::string& line : Lines(r.out)) {
      const json j = json::parse(line);
      ids.push_back(j["matches"].empty() ? "" : j["matches"][0]["claim_id"].get<std::string>());
    }
    return ids;
  };
  const std::vector<std::string> left_out = first_ids(false);
  ASSERT_THAT(left_out, SizeIs(2));
  EXPECT_EQ(left_out[0], "c06");
  EXPECT_NE(left_out[1], "c06");
  EXPECT_THAT(first_ids(true), ElementsAre("c06", "c06"));

  const std::string queries = Write(
      "later.tsv", absl::StrCat("20190402_a_0001\t", text, "\n20180101_b_0002\t", text, "\n"));
  const std::string qrels =
      Write("later.qrels", "20190402_a_0001 0 c06 1\n20180101_b_0002 0 c06 1\n");
  const auto eval = Run({"eval", "--json", "--queries", queries, "--qrels", qrels});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NEAR(json::parse(eval.out)["MAP@5"].get<double>(), 0.5, 1e-9);
  const auto kept =
      Run({"eval", "--json", "--queries", queries, "--qrels", qrels, "--keep-later-claims"});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_NEAR(json::parse(kept.out)["MAP@5"].get<double>(), 1.0, 1e-9);
}

TEST_F(MatchCliTest, ScoreStdinToStdout) {
  const auto r = Run({"score", "-q"}, kScoreJsonl);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(5));
  EXPECT_EQ(json::parse(lines[0])["id"], "a1");
  EXPECT_EQ(json::parse(lines[2])["decision"], "error");
}

TEST_F(MatchCliTest, ScoreStrictExits3) {
  const std::string in = Write("in.jsonl", kScoreJsonl);
  const std::string out = JoinPath(dir_, "out.jsonl");
  const auto r = Run({"score", "-q", "--strict", "--input", in, "--output", out});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr(in + ":3"));
  EXPECT_FALSE(PathExists(out)) << "a --strict failure must not produce a complete output";
}

// Many workers on tiny chunks finish out of order; the writer still emits input order, rejects
// included, and every record gets the result it gets alone (one worker, one chunk, every record
// matched: the texts repeat, and the run with many workers answers repeats from its cache).
TEST_F(MatchCliTest, ScorePipelineKeepsInputOrderWithManyThreads) {
  const std::vector<std::string> texts = {
      "Drinking bleach cures the coronavirus!",   "Wind turbines give people cancer",
      "The recipe needs two cups of flour.",      "Sharks never get cancer",
      "the Eiffel Tower was built for Barcelona", "Bill Gates wants to microchip us",
      "A vacina da gripe causa paralisia facial", "carrots help you see at night"};
  std::string in_text;
  int expected_errors = 0;
  for (int i = 0; i < 97; ++i) {
    if (i % 13 == 5) {
      absl::StrAppend(&in_text, "{not json\n");
      ++expected_errors;
    } else {
      absl::StrAppend(&in_text,
                      json{{"id", absl::StrCat("r", i)}, {"text", texts[i % texts.size()]}}.dump(),
                      "\n");
    }
  }
  const std::string in = Write("in.jsonl", in_text);
  const std::string one = JoinPath(dir_, "one.jsonl"), many = JoinPath(dir_, "many.jsonl");
  const std::string summary = JoinPath(dir_, "summary.json");
  auto r = Run({"score", "-q", "--threads", "1", "--chunk", "1000", "--repeat-cache-mb", "0",
                "--input", in, "--output", one});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"score", "-q", "--threads", "6", "--chunk", "2", "--input", in, "--output", many,
           "--summary", summary});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(ReadOrEmpty(many));
  ASSERT_THAT(lines, SizeIs(97));
  EXPECT_EQ(ReadOrEmpty(many), ReadOrEmpty(one));
  for (int i = 0; i < 97; ++i) {
    const json o = json::parse(lines[i]);
    if (i % 13 == 5) {
      EXPECT_EQ(o["line"], i + 1);
      EXPECT_EQ(o["decision"], "error");
    } else {
      EXPECT_EQ(o["id"], absl::StrCat("r", i));
      EXPECT_EQ(o["text"], texts[i % texts.size()]);
    }
  }
  const json s = json::parse(ReadOrEmpty(summary));
  EXPECT_EQ(s["records"], 97);
  EXPECT_EQ(s["rejected"], expected_errors);
  EXPECT_EQ(s["scored"], 97 - expected_errors);
  EXPECT_EQ(s["workers"], 6);
}

// Without --threads, score runs one worker per CPU it may use (its affinity mask, which a child
// inherits: pinned to one CPU it runs one) or CLAIMMATCH_THREADS when set, and its summary says
// how many ran.
TEST_F(MatchCliTest, ScoreRunsOneWorkerPerUsableCoreByDefault) {
  if (const char* env = std::getenv("CLAIMMATCH_THREADS"); env != nullptr && *env != '\0') {
    GTEST_SKIP() << "CLAIMMATCH_THREADS is set";
  }
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
  const int cores = CPU_COUNT(&all);
  const std::string in =
      Write("lines.txt", "Wind turbines give people cancer\nSharks never get cancer\n");
  const std::string summary = JoinPath(dir_, "summary.json");
  auto score = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> cmd = {"score",    "--format", "lines",     "--input", in,
                                    "--output", out,        "--summary", summary};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    return Run(cmd);
  };
  auto r = score(JoinPath(dir_, "out.jsonl"), {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(ReadOrEmpty(summary))["workers"], cores);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(" on ", cores, cores == 1 ? " worker," : " workers,")));

  // Pinned to one CPU (the child inherits this thread's mask): one worker.
  const cpu_set_t one = FirstCpuOf(all);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  r = score(JoinPath(dir_, "pinned.jsonl"), {});
  ASSERT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(ReadOrEmpty(summary))["workers"], 1);
  EXPECT_THAT(r.err, HasSubstr(" on 1 worker, "));

  // --threads wins; the output does not depend on the workers.
  r = score(JoinPath(dir_, "three.jsonl"), {"--threads", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(ReadOrEmpty(summary))["workers"], 3);
  EXPECT_EQ(ReadOrEmpty(JoinPath(dir_, "pinned.jsonl")), ReadOrEmpty(JoinPath(dir_, "out.jsonl")));
  EXPECT_EQ(ReadOrEmpty(JoinPath(dir_, "three.jsonl")), ReadOrEmpty(JoinPath(dir_, "out.jsonl")));
}

// ingest, reindex and embed default to one encoder thread per CPU the process may use, as score's
// workers do (their help shows the default the parser holds).
TEST_F(MatchCliTest, EncoderThreadsDefaultToTheUsableCores) {
  if (const char* env = std::getenv("CLAIMMATCH_THREADS"); env != nullptr && *env != '\0') {
    GTEST_SKIP() << "CLAIMMATCH_THREADS is set";
  }
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
  const cpu_set_t one = FirstCpuOf(all);
  for (const char* command : {"ingest", "reindex", "embed"}) {
    auto r = RunClaimmatch({command, "--help"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(
        r.out + r.err,
        HasSubstr(absl::StrCat("one per CPU the process may use (default: ", CPU_COUNT(&all), ")")))
        << command;
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    r = RunClaimmatch({command, "--help"});
    ASSERT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
    EXPECT_THAT(r.out + r.err, HasSubstr("one per CPU the process may use (default: 1)"))
        << command;
  }
}

// A record whose text and date repeat an earlier one's takes its results (within a chunk, or from
// the cache across chunks): the output is the one of matching every record, and the summary
// counts the repeats. The same text with another date is not a repeat (the date is a feature).
TEST_F(MatchCliTest, ScoreRepeatsTakeTheirEarlierResults) {
  const std::string a = "Drinking bleach cures the coronavirus!";
  const std::string b = "Wind turbines cause cancer in people who live nearby.";
  auto rec = [](const std::string& id, const std::string& text, const std::string& date) {
    json o{{"id", id}, {"text", text}};
    if (!date.empty()) o["created"] = date;
    return o.dump() + "\n";
  };
  const std::string in =
      Write("repeats.jsonl", absl::StrCat(rec("r1", a, "2020-04-24"), rec("r2", b, ""),
                                          rec("r3", a, "2020-04-24"),       // repeats r1
                                          rec("r4", a, ""),                 // another date: matched
                                          "{not json\n", rec("r6", a, ""),  // repeats r4
                                          rec("r7", b, "")));               // repeats r2
  const std::string none = JoinPath(dir_, "none.jsonl");
  const std::string none_summary = JoinPath(dir_, "none-summary.json");
  auto r = Run({"score", "-q", "--date-field", "created", "--repeat-cache-mb", "0", "--input", in,
                "--output", none, "--summary", none_summary});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(ReadOrEmpty(none_summary))["repeats"], 0);
  const std::vector<std::string> lines = Lines(ReadOrEmpty(none));
  ASSERT_THAT(lines, SizeIs(7));
  EXPECT_EQ(json::parse(lines[0])["matches"][0]["claim_id"], "c03");
  EXPECT_NE(json::parse(lines[0])["matches"][0]["score"],
            json::parse(lines[3])["matches"][0]["score"]);  // dated and undated differ

  // One chunk (repeats within it), then one record per chunk on one worker (from the cache).
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, std::vector<std::string>{"--chunk", "1", "--threads", "1"}}) {
    const std::string out = JoinPath(dir_, "cached.jsonl");
    const std::string summary = JoinPath(dir_, "summary.json");
    std::vector<std::string> cmd = {"score",    "-q", "--date-field", "created", "--input", in,
                                    "--output", out,  "--summary",    summary};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    r = Run(cmd);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadOrEmpty(out), ReadOrEmpty(none)) << absl::StrJoin(extra, " ");
    const json s = json::parse(ReadOrEmpty(summary));
    EXPECT_EQ(s["repeats"], 3) << absl::StrJoin(extra, " ");
    EXPECT_EQ(s["scored"], 6);
    EXPECT_EQ(s["rejected"], 1);
  }
  // The summary line says it too.
  r = Run({"score", "--date-field", "created", "--input", in});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("1 rejected, 3 repeats;"));
}

TEST_F(MatchCliTest, ScoreTsvWithHeader) {
  const std::string in = Write("posts.tsv",
                               "post\ttext\tlang\n"
                               "t1\tThe Great Wall of China is visible from space.\ten\n"
                               "t2\tonly two\n"
                               "t3\tWind turbines cause cancer in people who live nearby.\ten\n");
  const auto r = Run({"score", "-q", "--id-field", "post", "--input", in});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(3));
  const json t1 = json::parse(lines[0]), t2 = json::parse(lines[1]), t3 = json::parse(lines[2]);
  EXPECT_EQ(t1["post"], "t1");
  EXPECT_EQ(t1["lang"], "en");
  EXPECT_EQ(t1["matches"][0]["claim_id"], "c04");
  EXPECT_EQ(t2["decision"], "error");  // wrong column count
  EXPECT_EQ(t2["line"], 3);
  EXPECT_EQ(t3["post"], "t3");
  EXPECT_EQ(t3["matches"][0]["claim_id"], "c06");
}

TEST_F(MatchCliTest, ScoreCsvAndPlainLines) {
  const std::string csv = Write("in.csv",
                                "id,text,extra\n"
                                "x1,\"Wind turbines cause cancer in people who live nearby.\","
                                "\"a \"\"quoted\"\" value\"\n"
                                "x2,\"unterminated\n");
  const auto c = Run({"score", "-q", "--input", csv});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::vector<std::string> lines = Lines(c.out);
  ASSERT_THAT(lines, SizeIs(2));
  const json x1 = json::parse(lines[0]), x2 = json::parse(lines[1]);
  EXPECT_EQ(x1["id"], "x1");
  EXPECT_EQ(x1["extra"], "a \"quoted\" value");
  EXPECT_EQ(x1["matches"][0]["claim_id"], "c06");
  EXPECT_EQ(x2["decision"], "error");
  EXPECT_EQ(x2["line"], 3);

  // Plain lines (.txt): the id is the line number; an empty line is a rejected record.
  const std::string txt = Write("in.txt",
                                "Vaccines cause autism in children.\n"
                                "\n"
                                "Wind turbines cause cancer in people who live nearby.\n");
  const auto t = Run({"score", "-q", "--input", txt});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  lines = Lines(t.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(json::parse(lines[0])["id"], 1);
  EXPECT_EQ(json::parse(lines[0])["matches"][0]["claim_id"], "c01");
  EXPECT_EQ(json::parse(lines[1])["id"], 2);
  EXPECT_EQ(json::parse(lines[1])["decision"], "error");
  EXPECT_EQ(json::parse(lines[2])["id"], 3);
  EXPECT_EQ(json::parse(lines[2])["matches"][0]["claim_id"], "c06");
}

// Spreadsheet exports start with a UTF-8 byte order mark: it is not part of the first column's
// name (nor of a JSONL line's), so "id" is found. A header without the text column stops the run
// before anything is written, naming the columns; an empty input is zero records.
TEST_F(MatchCliTest, ScoreHeaderByteOrderMarkAndMissingTextColumn) {
  const std::string csv = Write("bom.csv",
                                "\xEF\xBB\xBFid,text\r\n"
                                "x1,Wind turbines cause cancer in people who live nearby.\r\n");
  const auto c = Run({"score", "-q", "--input", csv});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_THAT(Lines(c.out), SizeIs(1));
  const json x1 = json::parse(Lines(c.out)[0]);
  EXPECT_EQ(x1["id"], "x1");
  EXPECT_EQ(x1.size(), 4u) << x1.dump();  // id, text, decision, matches: no "\ufeffid"
  EXPECT_EQ(x1["matches"][0]["claim_id"], "c06");

  const auto j =
      Run({"score", "-q", "--format", "jsonl"},
          "\xEF\xBB\xBF{\"id\": \"j1\", \"text\": \"Vaccines cause autism in children.\"}\n");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(json::parse(j.out)["matches"][0]["claim_id"], "c01");

  const std::string tsv = Write("body.tsv", "id\tbody\nx1\tVaccines cause autism.\n");
  const std::string out = JoinPath(dir_, "out.jsonl");
  const auto t = Run({"score", "--input", tsv, "--output", out});
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_THAT(t.err, HasSubstr(tsv + ":1: the header has no column \"text\" (columns: id, body); "
                                     "name the text column with --text-field"));
  EXPECT_FALSE(PathExists(out));
  EXPECT_FALSE(PathExists(out + ".partial"));
  const auto renamed = Run({"score", "-q", "--input", tsv, "--text-field", "body"});
  ASSERT_EQ(renamed.exit_code, 0) << renamed.err;
  EXPECT_EQ(json::parse(renamed.out)["matches"][0]["claim_id"], "c01");

  const auto empty = Run({"score", "-q", "--input", Write("empty.csv", "")});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "");
}

// Regression (was a bug in tools/cmd_score.cc): the rejects of the records before the resume point
// are lost. The interrupted run never wrote --rejects (it is written at the end), and the resumed
// run skips those records unread, so its --rejects file and summary miss them.
TEST_F(MatchCliTest, ScoreResumeKeepsEarlierRejects) {
  const std::string in =
      Write("in.jsonl",
            "{\"id\": \"a\", \"text\": \"Vaccines cause autism in children.\"}\n"
            "not json\n"
            "{\"id\": \"c\", \"text\": \"Sharks cannot get cancer.\"}\n"
            "{\"id\": \"d\", \"text\": \"Drinking bleach cures the coronavirus.\"}\n");
  const std::string full = JoinPath(dir_, "full.jsonl");
  const std::string full_rejects = JoinPath(dir_, "full_rejects.jsonl");
  ASSERT_EQ(
      Run({"score", "-q", "--input", in, "--output", full, "--rejects", full_rejects}).exit_code,
      0);
  const std::vector<std::string> lines = Lines(ReadOrEmpty(full));
  ASSERT_THAT(lines, SizeIs(4));
  const std::string out = JoinPath(dir_, "out.jsonl");
  ASSERT_THAT(
      WriteFileAtomically(out + ".partial", lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n"),
      IsOk());
  const std::string rejects = JoinPath(dir_, "rejects.jsonl");
  const auto r =
      Run({"score", "-q", "--resume", "--input", in, "--output", out, "--rejects", rejects});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadOrEmpty(out), ReadOrEmpty(full));
  EXPECT_EQ(ReadOrEmpty(rejects), ReadOrEmpty(full_rejects));
}

TEST_F(MatchCliTest, ScoreResumeContinuesWithoutDuplicatesOrGaps) {
  std::string input;
  const std::vector<std::string> texts = {
      "Drinking bleach cures the coronavirus!",
      "The Great Wall of China is visible from space with the naked eye.",
      "The recipe needs two cups of flour and an egg.",
      "Wind turbines cause cancer in people who live nearby.",
      "Vaccines cause autism in children.",
      "Springfield banned gas stoves in all new homes in 2021.",
      "Sharks cannot get cancer.",
  };
  for (size_t i = 0; i < texts.size(); ++i) {
    input += json{{"id", "r" + std::to_string(i)}, {"text", texts[i]}}.dump() + "\n";
  }
  const std::string in = Write("in.jsonl", input);
  const std::string full = JoinPath(dir_, "full.jsonl");
  const auto f = Run({"score", "-q", "--chunk", "2", "--input", in, "--output", full});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  const std::string expected = ReadOrEmpty(full);
  const std::vector<std::string> lines = Lines(expected);
  ASSERT_THAT(lines, SizeIs(texts.size()));

  // An interrupted run: three complete lines and half of the fourth.
  const std::string out = JoinPath(dir_, "out.jsonl");
  const std::string partial =
      lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n" + lines[3].substr(0, lines[3].size() / 2);
  ASSERT_THAT(WriteFileAtomically(out + ".partial", partial), IsOk());
  const std::string summary = JoinPath(dir_, "summary.json");
  const auto r = Run({"score", "-q", "--chunk", "2", "--resume", "--input", in, "--output", out,
                      "--summary", summary});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadOrEmpty(out), expected);
  EXPECT_FALSE(PathExists(out + ".partial"));
  const json s = json::parse(ReadOrEmpty(summary));
  EXPECT_EQ(s["resumed_after"], 3);
  EXPECT_EQ(s["records"], 4);

  // Resuming a finished run is refused.
  const auto again = Run({"score", "-q", "--resume", "--input", in, "--output", out});
  EXPECT_EQ(again.exit_code, 1) << again.err;
  EXPECT_THAT(again.err, HasSubstr("nothing to resume"));
  EXPECT_EQ(ReadOrEmpty(out), expected);
}

TEST_F(MatchCliTest, ScoreUsageErrors) {
  EXPECT_EQ(Run({"score", "--format", "xml"}).exit_code, 2);
  EXPECT_EQ(Run({"score", "--chunk", "0"}).exit_code, 2);
  for (const char* bad : {"-1", "2000000", "lots"}) {
    const auto r = Run({"score", "--repeat-cache-mb", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_THAT(r.err, HasSubstr("--repeat-cache-mb needs a number of megabytes from 0 to"));
  }
  EXPECT_EQ(Run({"score", "--resume"}).exit_code, 2);  // needs --output FILE
}

// ---- eval ----

TEST_F(MatchCliTest, EvalLexicalMetricsRunFileAndJson) {
  const std::string queries = Write("q.tsv", kQueriesTsv);
  const std::string qrels = Write("q.qrels", kQrels);
  const std::string run = JoinPath(dir_, "run.trec");
  const auto r = Run({"eval", "--mode", "lexical", "--queries", queries, "--qrels", qrels,
                      "--run-out", run, "--tag", "mytag"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // q1-q3: AP 1, RR 1, recall 1. q4: all 0. q5: c01 at rank 1 of two gold claims: AP@k = 1/2,
  // RR 1, recall 1/2. Means over 5 queries: MAP = 3.5/5 = 0.7, MRR = 4/5 = 0.8, R = 0.7.
  EXPECT_EQ(r.out, "MAP@1=0.7000 MAP@3=0.7000 MAP@5=0.7000 MRR=0.8000 R@5=0.7000 R@100=0.7000\n");

  const std::vector<std::string> lines = Lines(ReadOrEmpty(run));
  ASSERT_FALSE(lines.empty());
  std::map<std::string, std::vector<std::vector<std::string>>> by_query;
  for (const std::string& line : lines) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    ASSERT_THAT(f, SizeIs(6)) << line;
    EXPECT_EQ(f[1], "Q0");
    EXPECT_EQ(f[5], "mytag");
    EXPECT_EQ(f[3], std::to_string(by_query[f[0]].size() + 1)) << line;  // ranks from 1
    by_query[f[0]].push_back(f);
  }
  EXPECT_EQ(by_query["q1"][0][2], "c03");
  EXPECT_EQ(by_query["q2"][0][2], "c04");
  EXPECT_EQ(by_query["q3"][0][2], "c06");
  EXPECT_EQ(by_query["q5"][0][2], "c01");
  for (const auto& [q, rows] : by_query) {
    for (const auto& row : rows) EXPECT_NE(row[2], q == "q4" ? "c07" : "") << q;
  }

  const auto js =
      Run({"eval", "--mode", "lexical", "--json", "--queries", queries, "--qrels", qrels});
  ASSERT_EQ(js.exit_code, 0) << js.err;
  const json j = json::parse(js.out);
  for (const char* key :
       {"queries", "MAP@1", "MAP@3", "MAP@5", "MRR", "R@5", "R@100", "mode", "reranker"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["queries"], 5);
  EXPECT_NEAR(j["MAP@1"].get<double>(), 0.7, 1e-9);
  EXPECT_NEAR(j["MAP@5"].get<double>(), 0.7, 1e-9);
  EXPECT_NEAR(j["MRR"].get<double>(), 0.8, 1e-9);
  EXPECT_EQ(j["mode"], "lexical");
  // The model directory's re-ranker (models/default/reranker.json) is picked up.
  EXPECT_THAT(j["reranker"].get<std::string>(), HasSubstr("models/default/reranker.json"));
}

// Files that do not line up still give metrics, with a warning for each mismatch: judged queries
// missing from the query file, gold claims missing from the database, unjudged queries. The
// well-matched files above warn about nothing.
TEST_F(MatchCliTest, EvalWarnsWhenQueriesQrelsAndDatabaseDoNotLineUp) {
  const std::string queries = Write("q.tsv", kQueriesTsv);
  const std::string qrels = Write("q.qrels", kQrels);
  const auto good = Run({"eval", "--mode", "lexical", "--queries", queries, "--qrels", qrels});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.err, Not(HasSubstr("warning")));

  const std::string odd = Write("odd.qrels",
                                "q1 0 c03 1\n"
                                "q2 0 no-such-claim 1\n"
                                "q2 0 nor-this-one 1\n"
                                "q9 0 c01 1\n");
  const auto r = Run({"eval", "--mode", "lexical", "--queries", queries, "--qrels", odd});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Averaged over q1 (AP 1), q2 (0) and q9 (not asked: 0).
  EXPECT_EQ(r.out, "MAP@1=0.3333 MAP@3=0.3333 MAP@5=0.3333 MRR=0.3333 R@5=0.3333 R@100=0.3333\n");
  EXPECT_THAT(r.err, HasSubstr("claimmatch: warning: 1 judged queries of " + odd + " are not in " +
                               queries + ": each scores 0 (first: q9)"));
  EXPECT_THAT(r.err, HasSubstr("claimmatch: warning: 2 gold claims of " + odd +
                               " are not in the database: is --db the claim collection these "
                               "qrels judge? (first: no-such-claim)"));
  EXPECT_THAT(r.err,
              HasSubstr("claimmatch: warning: 3 queries of " + queries + " have no gold claim in " +
                        odd + ": ranked, but not scored (first: q3)"));
}

// --lexical-candidates sets the BM25 top n: with 1, a lexical run ranks one claim per query (the
// BM25 best, so MAP@1 is unchanged: 0.7 as above).
TEST_F(MatchCliTest, EvalLexicalCandidatesLimitsTheBm25Channel) {
  const std::string queries = Write("q.tsv", kQueriesTsv);
  const std::string qrels = Write("q.qrels", kQrels);
  const std::string run = JoinPath(dir_, "run1.trec");
  const auto r = Run({"eval", "--mode", "lexical", "--lexical-candidates", "1", "--queries",
                      queries, "--qrels", qrels, "--run-out", run});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("MAP@1=0.7000 "));
  std::map<std::string, int> rows;
  for (const std::string& line : Lines(ReadOrEmpty(run))) {
    ++rows[std::vector<std::string>(absl::StrSplit(line, ' '))[0]];
  }
  EXPECT_EQ(rows["q1"], 1);
  EXPECT_EQ(rows["q5"], 1);
  for (const auto& [q, n] : rows) EXPECT_LE(n, 1) << q;
}

// A query id that begins with a day (the CheckThat! debate sentences: 20190402_..._0001) gives the
// query that date for the re-ranker's date feature; --no-id-dates ignores it. With a re-ranker that
// scores by date proximity alone (logit = 4 x proximity), c06 (claim date 2019-04-02) scores
// sigmoid(4) for the query said that day, sigmoid(4 exp(-1)) a week later, and 0.5 without a date.
TEST_F(MatchCliTest, EvalTakesTheQueryDateFromADatedId) {
  const std::string reranker = Write("by_date.json", ByDateRerankerJson());
  const std::string queries = Write("d.tsv",
                                    "20190402_debate_0001\tWind turbines cause cancer.\n"
                                    "20190409_debate_0002\tWind turbines cause cancer!\n"
                                    "2019040_x_0003\tWind turbines cause cancer?\n"
                                    "20190431_x_0004\tWind turbines cause cancer...\n");
  const std::string qrels = Write("d.qrels",
                                  "20190402_debate_0001 0 c06 1\n20190409_debate_0002 0 c06 1\n"
                                  "2019040_x_0003 0 c06 1\n20190431_x_0004 0 c06 1\n");
  const auto c06_scores = [&](bool ignore_dates) {
    const std::string run = JoinPath(dir_, ignore_dates ? "undated.trec" : "dated.trec");
    std::vector<std::string> args = {"eval",    "--reranker", reranker,    "--queries", queries,
                                     "--qrels", qrels,        "--run-out", run};
    if (ignore_dates) args.push_back("--no-id-dates");
    const auto r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, double> scores;
    for (const std::string& line : Lines(ReadOrEmpty(run))) {
      const std::vector<std::string> f = absl::StrSplit(line, ' ');
      if (f.size() == 6 && f[2] == "c06") scores[f[0]] = std::stod(f[4]);
    }
    return scores;
  };
  const auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  std::map<std::string, double> dated = c06_scores(false);
  EXPECT_NEAR(dated["20190402_debate_0001"], sigmoid(4), 1e-4);
  EXPECT_NEAR(dated["20190409_debate_0002"], sigmoid(4 * std::exp(-1.0)), 1e-4);
  EXPECT_NEAR(dated["2019040_x_0003"], 0.5, 1e-4);   // seven digits: no date
  EXPECT_NEAR(dated["20190431_x_0004"], 0.5, 1e-4);  // no such day
  for (const auto& [qid, score] : c06_scores(true)) EXPECT_NEAR(score, 0.5, 1e-4) << qid;
}

TEST_F(MatchCliTest, EvalUsageErrors) {
  EXPECT_EQ(Run({"eval", "--mode", "lexical"}).exit_code, 2);  // --queries and --qrels required
  const std::string queries = Write("q.tsv", kQueriesTsv);
  EXPECT_EQ(Run({"eval", "--queries", queries, "--qrels", JoinPath(dir_, "none.qrels")}).exit_code,
            1);
}

// ---- train reranker ----

TEST_F(MatchCliTest, TrainRerankerEndToEnd) {
  const std::string queries = Write("q.tsv", kQueriesTsv);
  const std::string qrels = Write("q.qrels", kQrels);
  const std::string set = Db() + ":" + queries + ":" + qrels;
  const std::string out = JoinPath(dir_, "reranker.json");
  const auto t = Run({"train", "reranker", "--train", set, "--dev", set, "--out", out});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  ASSERT_TRUE(PathExists(out));
  const json model = json::parse(ReadOrEmpty(out));
  EXPECT_EQ(model["format"], "claimmatch-reranker");
  EXPECT_FALSE(model["model_hash"].get<std::string>().empty());
  EXPECT_THAT(model["trained_on"].get<std::string>(), HasSubstr(queries));
  // --provenance replaces the (possibly temporary) paths.
  const auto named = Run({"train", "reranker", "--train", set, "--dev", set, "--out", out,
                          "--provenance", "toy queries, see the test"});
  ASSERT_EQ(named.exit_code, 0) << named.err;
  const json renamed = json::parse(ReadOrEmpty(out));
  EXPECT_THAT(renamed["trained_on"].get<std::string>(),
              AllOf(HasSubstr("; toy queries, see the test"), Not(HasSubstr(queries))));
  EXPECT_EQ(renamed["weights"], model["weights"]);
  // --no-claim-weight: each dev query's best wrong answer counts that many times in the
  // calibration, so the thresholds rise with it (default 2). The dev set four times over: enough
  // answers for the calibration (at least 10 above a threshold).
  const std::string dev4 = absl::StrCat(set, ",", set, ",", set, ",", set);
  const auto thresholds = [&](const std::string& weight) {
    const std::string file = JoinPath(dir_, "w" + weight + ".json");
    const auto r = Run({"train", "reranker", "--train", set, "--dev", dev4, "--out", file,
                        "--no-claim-weight", weight});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const json m = json::parse(ReadOrEmpty(file));
    return std::make_pair(m["match_threshold"].get<double>(), m["suggest_threshold"].get<double>());
  };
  const auto once = thresholds("1"), twice = thresholds("2"), often = thresholds("100");
  EXPECT_LE(once.first, twice.first);
  EXPECT_LE(once.second, twice.second);
  EXPECT_LE(once.first, often.first);
  EXPECT_LT(once.second, often.second);
  EXPECT_EQ(Run({"train", "reranker", "--train", set, "--dev", set, "--out", out,
                 "--no-claim-weight", "0"})
                .exit_code,
            2);
  // --undated-copies: every training query once more, its date features zeroed.
  const auto undated =
      Run({"train", "reranker", "--train", set, "--dev", set, "--out", out, "--undated-copies"});
  ASSERT_EQ(undated.exit_code, 0) << undated.err;
  EXPECT_THAT(undated.err, HasSubstr("each training query also without its date (10 in all)"));
  EXPECT_THAT(t.err, Not(HasSubstr("without its date")));

  const auto l =
      Run({"lookup", "--json", "--reranker", out, "Drinking bleach cures the coronavirus!"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  const json j = json::parse(l.out);
  ASSERT_FALSE(j["matches"].empty());
  EXPECT_EQ(j["matches"][0]["claim_id"], "c03");

  const auto e = Run({"eval", "--json", "--reranker", out, "--queries", queries, "--qrels", qrels});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(json::parse(e.out)["reranker"], out);

  // A corrupt re-ranker file is refused.
  const std::string bad = Write("bad.json", ReadOrEmpty(out).substr(0, 40));
  const auto b =
      Run({"lookup", "--json", "--reranker", bad, "Drinking bleach cures the coronavirus!"});
  EXPECT_EQ(b.exit_code, 1) << b.err;
  EXPECT_THAT(b.err, HasSubstr("bad.json"));

  EXPECT_EQ(Run({"train", "reranker", "--train", set, "--out", out}).exit_code, 2);  // no --dev
  EXPECT_EQ(Run({"train", "reranker", "--train", "a:b", "--dev", set, "--out", out}).exit_code, 2);
}

// Training queries may come from databases built with another model (cross-fitting: a model that
// did not see them); each database is read with its own model and the re-ranker is for the --dev
// databases' model. Dev databases of two models cannot be calibrated together.
TEST_F(MatchCliTest, TrainRerankerReadsEachDatabaseWithItsOwnModel) {
  const std::string claims = Write("claims2.jsonl", kClaimsJsonl);
  const std::string other_db = JoinPath(dir_, "other-model-db");
  const std::string tiny = JoinPath(testing::TestDataDir(), "xlmr-tiny/model");
  const auto i = RunClaimmatch({"ingest", "-q", "--db", other_db, "--model", tiny, claims});
  ASSERT_EQ(i.exit_code, 0) << i.err;
  const std::string queries = Write("q.tsv", kQueriesTsv);
  const std::string qrels = Write("q.qrels", kQrels);
  const std::string out = JoinPath(dir_, "cross.json");
  // No --model: each database's own.
  const auto t =
      RunClaimmatch({"train", "reranker", "--train", other_db + ":" + queries + ":" + qrels,
                     "--dev", Db() + ":" + queries + ":" + qrels, "--out", out});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto info = RunClaimmatch({"info", "--json", "--db", Db()});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const std::string dev_hash = json::parse(info.out)["model"]["weights_hash"];
  EXPECT_EQ(json::parse(ReadOrEmpty(out))["model_hash"], dev_hash);

  const auto mixed = RunClaimmatch(
      {"train", "reranker", "--train", Db() + ":" + queries + ":" + qrels, "--dev",
       Db() + ":" + queries + ":" + qrels + "," + other_db + ":" + queries + ":" + qrels, "--out",
       out});
  EXPECT_EQ(mixed.exit_code, 1);
  EXPECT_THAT(mixed.err, HasSubstr("different models"));
}

}  // namespace
}  // namespace claimmatch
