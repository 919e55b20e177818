// The claim-database commands end to end (the real binary): ingest of every format, upsert,
// rejections and --strict, info, check, delete, reindex, and a real crash (SIGKILL mid-ingest).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "embeddings/file_util.h"
#include "engine/claim_store.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::RunClaimmatch;
using ::testing::AllOf;
using ::testing::HasSubstr;
using json = nlohmann::json;

std::string Data(const std::string& rel) { return JoinPath(testing::TestDataDir(), rel); }
std::string Model() { return Data("xlmr-tiny/model"); }

// Starts `claimmatch ingest` of `file` into `db` as a child process (output discarded), committing
// every `batch` records; returns its pid.
pid_t StartIngest(const std::string& db, const std::string& file, const char* batch,
                  const char* checkpoint_every) {
  const std::string bin = testing::ClaimmatchBinary();
  const std::string model = Model();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execl(bin.c_str(), bin.c_str(), "ingest", "--db", db.c_str(), "--model", model.c_str(),
            "--batch", batch, "--checkpoint-every", checkpoint_every, file.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

class DbCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir(std::string("cli_") +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    db_ = JoinPath(dir_, "db");
  }
  testing::CommandResult Run(std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.begin() + 1, {"--db", db_});
    if (args[0] != "info") args.insert(args.begin() + 1, {"--model", Model()});
    return RunClaimmatch(args, in);
  }
  json Info() {
    const auto r = RunClaimmatch({"info", "--db", db_, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }
  std::string dir_, db_;
};

// info shows an ivfpq index's IVF lists, or that it is not trained yet (too few claims: searched
// exactly until it is).
TEST_F(DbCliTest, InfoShowsWhetherAnIvfPqIndexIsTrained) {
  const auto r =
      Run({"ingest", "-q", "--index", "ivfpq", Data("claims-dev-excerpt/politifact-claims.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json info = Info();
  EXPECT_EQ(info["index_type"], "ivfpq");
  EXPECT_EQ(info["ivf_lists"], 0);
  const auto text = RunClaimmatch({"info", "--db", db_});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out,
              HasSubstr("index      ivfpq (not trained yet: searched exactly until then), "
                        "inner_product\n"));
}

TEST_F(DbCliTest, IngestsEveryFormatAndUpsertsByID) {
  std::vector<std::string> files = {"ingest", "--json",
                                    Data("claims-dev-excerpt/politifact-claims.jsonl"),
                                    Data("claims-dev-excerpt/snopes-claims.jsonl")};
  for (const auto& e : std::filesystem::directory_iterator(Data("claimreview"))) {
    if (e.path().extension() != ".txt") files.push_back(e.path().string());
  }
  const auto first = Run(files);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const json summary = json::parse(first.out);
  EXPECT_EQ(summary["records"], 30);  // 5 + 5 + 20 ClaimReview files (one holds 1 of 5 blocks)
  EXPECT_EQ(summary["added"], 30);
  EXPECT_EQ(summary["rejected"], 0);
  EXPECT_EQ(summary["retrained"], 0);  // a flat index is never re-trained
  EXPECT_THAT(first.err, HasSubstr("30 added, 0 updated, 0 unchanged, 0 rejected"));
  json info = Info();
  EXPECT_EQ(info["claims"], 30);
  EXPECT_EQ(info["model"]["dim"], 64);
  EXPECT_EQ(info["index_type"], "flat");
  EXPECT_FALSE(info.contains("ivf_lists"));

  // The same files again: nothing changes.
  const auto again = Run(files);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["unchanged"], 30);
  EXPECT_EQ(json::parse(again.out)["added"], 0);

  // An updated record (same id, new verdict) replaces the old one.
  const std::string upd = JoinPath(dir_, "update.jsonl");
  ASSERT_THAT(
      WriteFileAtomically(
          upd,
          R"({"id": "vclaim-pol-00000", "claim": "Schuyler VanValkenburg co-sponsored a bill that would have allowed abortion until birth.", "verdict": "half-true"})"
          "\n"),
      IsOk());
  const auto u = Run({"ingest", "--json", upd});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  EXPECT_EQ(json::parse(u.out)["updated"], 1);
  EXPECT_EQ(Info()["claims"], 30);
  auto store = ClaimStore::Open(db_, ClaimStore::Mode::kReadOnly);
  ASSERT_THAT(store, IsOk());
  auto rec = (*store)->GetById("vclaim-pol-00000");
  ASSERT_THAT(rec, IsOk());
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->verdict, "half-true");
  EXPECT_EQ((*rec)->verdict_normalized, Verdict::kMixed);

  const auto check = Run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out, "ok: 30 claims; store, indexes and manifest agree\n");
}

// --language fills in the language of records that give none (a JSONL file without the key);
// those that give their own keep it: "fr" in the JSONL, the Fact Check API claim's languageCode
// "ur", and "en" for CheckThat files. A code that is not a language tag is a usage error naming
// it, and changes nothing.
TEST_F(DbCliTest, LanguageFillsRecordsThatGiveNone) {
  const std::string file = JoinPath(dir_, "claims.jsonl");
  ASSERT_THAT(WriteFileAtomically(
                  file, R"({"id": "a", "claim": "Die Erde ist flach.", "verdict": "false"})"
                        "\n"
                        R"({"id": "b", "claim": "Der Mond ist aus Käse.", "verdict": "false"})"
                        "\n"
                        R"({"id": "c", "claim": "La Lune est en fromage.", "language": "fr"})"
                        "\n"),
              IsOk());
  const auto r = Run({"ingest", "-q", "--language", "de-AT", file,
                      Data("claims-dev-excerpt/politifact-claims.jsonl"),
                      Data("claimreview/google-factcheck-api-claim_ur.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json info = Info();
  EXPECT_EQ(info["claims"], 9);
  EXPECT_EQ(info["by"]["language"], json::parse(R"([{"value": "en", "claims": 5},
      {"value": "de-AT", "claims": 2}, {"value": "fr", "claims": 1}, {"value": "ur", "claims": 1}])"));
  const auto bad = Run({"ingest", "--language", "german", file});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--language needs a BCP-47 language code"));
  EXPECT_THAT(bad.err, HasSubstr("\"german\""));
  EXPECT_EQ(Info()["by"]["language"][1]["value"], "de-AT");
}

TEST_F(DbCliTest, RejectionsAreReportedAndStrictWritesNothing) {
  const std::string bad = JoinPath(dir_, "claims.jsonl");
  ASSERT_THAT(WriteFileAtomically(bad,
                                  "{\"id\": \"a\", \"claim\": \"A good claim.\"}\n"
                                  "{\"id\": \"b\", \"claim\": \"\"}\n"
                                  "{not json\n"
                                  "{\"id\": \"d\", \"claim\": \"bad \xff utf8\"}\n"
                                  "{\"id\": \"e\", \"claim\": \"Another good claim.\"}\n"),
              IsOk());
  const std::string rejects = JoinPath(dir_, "rejects.jsonl");
  const auto strict = Run({"ingest", "--strict", bad});
  EXPECT_EQ(strict.exit_code, 3);
  EXPECT_THAT(strict.err, HasSubstr(bad + ":2: field \"claim\" is empty"));
  EXPECT_THAT(strict.err, HasSubstr(bad + ":3:"));
  EXPECT_THAT(strict.err, HasSubstr("nothing was written (--strict)"));
  EXPECT_FALSE(PathExists(JoinPath(db_, "claims.sqlite")));

  const auto lenient = Run({"ingest", "--json", "--rejects", rejects, bad});
  ASSERT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_EQ(json::parse(lenient.out)["added"], 2);
  EXPECT_EQ(json::parse(lenient.out)["rejected"], 3);
  auto lines = ReadFile(rejects);
  ASSERT_THAT(lines, IsOk());
  std::vector<json> rows;
  std::istringstream in(*lines);
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["line"], 2);
  EXPECT_EQ(rows[0]["field"], "claim");
  EXPECT_EQ(rows[1]["line"], 3);
  EXPECT_EQ(rows[2]["line"], 4);
  EXPECT_EQ(Info()["claims"], 2);
}

// A date ingest cannot read keeps its record: a warning names file, line and field, the JSON
// summary counts it, and info says how many claims have a date.
TEST_F(DbCliTest, DatesNotUnderstoodAreWarnings) {
  const std::string file = JoinPath(dir_, "dated.jsonl");
  ASSERT_THAT(WriteFileAtomically(file,
                                  "{\"id\": \"a\", \"claim\": \"A dated claim.\", \"date\": "
                                  "\"Oct 5, 2020\"}\n"
                                  "{\"id\": \"b\", \"claim\": \"An undated claim.\", \"date\": "
                                  "\"last week\"}\n"),
              IsOk());
  const auto r = Run({"ingest", "--json", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("claimmatch: warning: " + file +
                               ":2: field \"date\" is not a date claimmatch understands (\"last "
                               "week\"): kept in extra as claim_date_raw"));
  EXPECT_EQ(json::parse(r.out)["added"], 2);
  EXPECT_EQ(json::parse(r.out)["warnings"], 1);
  EXPECT_EQ(json::parse(r.out)["rejected"], 0);
  const json info = Info();
  EXPECT_EQ(info["claims"], 2);
  // info counts the claims date filters can read, and their range.
  EXPECT_EQ(info["dated_claims"], 1);
  EXPECT_EQ(info["claim_dates"]["first"], "2020-10-05");
  EXPECT_EQ(info["claim_dates"]["last"], "2020-10-05");
  const auto text = RunClaimmatch({"info", "--db", db_});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("claim date 1 of 2 claims, 2020-10-05 .. 2020-10-05 (--since / "
                                  "--until skip the others)\n"));
}

TEST_F(DbCliTest, DeleteAndReindexAndModelMismatch) {
  ASSERT_EQ(Run({"ingest", "-q", Data("claims-dev-excerpt/politifact-claims.jsonl")}).exit_code, 0);
  const auto del = Run({"delete", "vclaim-pol-00001", "vclaim-pol-99999"});
  EXPECT_EQ(del.exit_code, 1);  // one id did not exist
  EXPECT_THAT(del.err, HasSubstr("no claim with id 'vclaim-pol-99999'"));
  EXPECT_THAT(del.err, HasSubstr("1 deleted, 1 not found; 4 claims left"));
  EXPECT_EQ(Info()["claims"], 4);
  EXPECT_EQ(Run({"check"}).exit_code, 0);

  // Corrupt the vector index: check and lookups report it with the repair, reindex repairs it.
  const std::string vectors = JoinPath(db_, "vectors.cmvi");
  auto bytes = ReadFile(vectors);
  ASSERT_THAT(bytes, IsOk());
  ASSERT_THAT(WriteFileAtomically(vectors, bytes->substr(0, bytes->size() - 10)), IsOk());
  const auto broken = Run({"check"});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_THAT(broken.err, AllOf(HasSubstr("vectors.cmvi"), HasSubstr("claimmatch reindex --db")));
  const auto re = Run({"reindex", "-q"});
  EXPECT_EQ(re.exit_code, 0) << re.err;
  EXPECT_EQ(Run({"check"}).exit_code, 0);
  EXPECT_EQ(Info()["claims"], 4);
}

TEST_F(DbCliTest, UsageErrors) {
  EXPECT_EQ(Run({"ingest", "--format", "yaml", "x"}).exit_code, 2);
  EXPECT_EQ(Run({"ingest", "--map", "nosuchfield=x", "x"}).exit_code, 2);
  EXPECT_EQ(Run({"ingest", "--index", "lsh", "x"}).exit_code, 2);
  EXPECT_EQ(Run({"delete"}).exit_code, 2);
  const auto missing = Run({"ingest", "/no/such/file.jsonl"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/no/such/file.jsonl"));
  const auto info = RunClaimmatch({"info", "--db", JoinPath(dir_, "none")});
  EXPECT_EQ(info.exit_code, 1);
  EXPECT_THAT(info.err, HasSubstr("not a claim database"));
}

// A real crash: `claimmatch ingest` killed with SIGKILL while it writes. The database must open,
// pass `check`, and a re-run must complete with every record present exactly once.
TEST_F(DbCliTest, KilledIngestLeavesACheckableDatabaseAndReRunCompletes) {
  constexpr int kRecords = 20000;
  const std::string file = JoinPath(dir_, "many.jsonl");
  {
    std::ofstream out(file);
    for (int i = 0; i < kRecords; ++i) {
      out << json{{"id", "syn-" + std::to_string(i)},
                  {"claim", "Synthetic claim " + std::to_string(i) + " says topic " +
                                std::to_string(i % 97) + " causes effect " +
                                std::to_string(i % 13)},
                  {"verdict", i % 2 ? "false" : "true"}}
                 .dump()
          << "\n";
    }
  }
  const pid_t pid = StartIngest(db_, file, "500", "3");
  // Wait until some batches are committed (and a checkpoint may have been saved), then kill.
  int64_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PathExists(JoinPath(db_, "claims.sqlite"))) {
      auto store = ClaimStore::Open(db_, ClaimStore::Mode::kReadOnly);
      if (store.ok()) {
        auto n = (*store)->Count();
        if (n.ok()) seen = *n;
      }
    }
    if (seen >= 2500) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(seen, 2500) << "the ingest did not get going";
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the ingest finished before it could be killed";

  const auto check = Run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, HasSubstr("store, indexes and manifest agree"));

  const auto rerun = Run({"ingest", "--json", file});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  const json summary = json::parse(rerun.out);
  EXPECT_EQ(summary["added"].get<int64_t>() + summary["unchanged"].get<int64_t>(), kRecords);
  EXPECT_GE(summary["unchanged"].get<int64_t>(), 2500);
  EXPECT_EQ(summary["claims"], kRecords);
  const auto final_check = Run({"check", "--sample", "500"});
  EXPECT_EQ(final_check.exit_code, 0) << final_check.err;
  EXPECT_EQ(Info()["claims"], kRecords);
}

// Lookups from another process while `claimmatch ingest` runs: the ingest is frozen (SIGSTOP) in
// the middle, after some batches are committed and possibly inside a write transaction, and again
// after it finishes; every lookup must succeed and return only claims that exist, with their own
// text. The freeze makes the overlap certain without timing assumptions.
TEST_F(DbCliTest, LookupsFromAnotherProcessKeepWorkingDuringIngest) {
  constexpr int kInitial = 200;
  constexpr int kRecords = 3000;
  auto claim_text = [](int i) {
    // "n<i>" is a term of this claim only (one-character tokens would not be indexed).
    return "Synthetic claim n" + std::to_string(i) + " says topic t" + std::to_string(i % 97) +
           " causes effect e" + std::to_string(i % 13);
  };
  auto write_records = [&](const std::string& path, int n) {
    std::ofstream out(path);
    for (int i = 0; i < n; ++i) {
      out << json{{"id", "syn-" + std::to_string(i)},
                  {"claim", claim_text(i)},
                  {"verdict", "false"}}
                 .dump()
          << "\n";
    }
  };
  const std::string initial = JoinPath(dir_, "initial.jsonl");
  const std::string all = JoinPath(dir_, "all.jsonl");
  write_records(initial, kInitial);
  write_records(all, kRecords);
  ASSERT_EQ(Run({"ingest", "-q", initial}).exit_code, 0);

  // Queries for claims present from the start, one from the middle and the last one; in lexical
  // mode a claim present is the top hit (it alone holds every query term, all lengths are equal).
  const std::vector<int> probes = {0, 7, kInitial - 1, kRecords / 2, kRecords - 1};
  std::string queries;
  for (int i : probes) queries += claim_text(i) + "\n";
  int lookups = 0;
  auto lookup_all = [&](const std::string& when) {
    SCOPED_TRACE(when);
    for (const char* mode : {"hybrid", "lexical"}) {
      const auto r = Run({"lookup", "--json", "--mode", mode, "-k", "3"}, queries);
      ++lookups;
      ASSERT_EQ(r.exit_code, 0) << mode << ": " << r.err;
      std::istringstream lines(r.out);
      size_t q = 0;
      for (std::string line; std::getline(lines, line); ++q) {
        ASSERT_LT(q, probes.size()) << r.out;
        const json result = json::parse(line);
        const int probe = probes[q];
        ASSERT_FALSE(result["matches"].empty()) << mode << " query " << probe;
        for (const json& m : result["matches"]) {
          const std::string id = m["claim_id"].get<std::string>();
          ASSERT_EQ(id.rfind("syn-", 0), 0u) << id;
          const int n = std::stoi(id.substr(4));
          ASSERT_TRUE(n >= 0 && n < kRecords) << id;
          EXPECT_EQ(m["claim"], claim_text(n)) << id;
        }
        if (probe < kInitial && std::string(mode) == "lexical") {
          EXPECT_EQ(result["matches"][0]["claim_id"], "syn-" + std::to_string(probe));
        }
      }
      EXPECT_EQ(q, probes.size()) << r.out;
    }
  };
  lookup_all("before the ingest");

  const pid_t pid = StartIngest(db_, all, "50", "4");
  bool reaped = false;
  struct KillOnFailure {  // a failed assertion must not leave a frozen child behind
    pid_t pid;
    const bool& reaped;
    ~KillOnFailure() {
      if (!reaped) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } guard{pid, reaped};
  // Freeze the ingest as soon as it has committed a batch past the initial claims.
  int64_t seen = 0;
  bool exited = false;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto store = ClaimStore::Open(db_, ClaimStore::Mode::kReadOnly);
    if (store.ok()) {
      auto n = (*store)->Count();
      if (n.ok()) seen = *n;
    }
    if (seen > kInitial) break;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = reaped = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling pace only
  }
  ASSERT_FALSE(exited) << "the ingest ended before committing a batch, status " << status;
  ASSERT_GT(seen, kInitial) << "the ingest did not get going";
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  {
    auto store = ClaimStore::Open(db_, ClaimStore::Mode::kReadOnly);
    ASSERT_THAT(store, IsOk());
    auto n = (*store)->Count();
    ASSERT_THAT(n, IsOk());
    EXPECT_LT(*n, kRecords) << "frozen after the last batch: the overlap was not exercised";
  }
  lookup_all("ingest frozen mid-way");
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  // While it runs on (index saves included): lookups until it exits, at most a few.
  for (int i = 0; i < 3 && !reaped; ++i) {
    lookup_all("ingest running");
    reaped = ::waitpid(pid, &status, WNOHANG) == pid;
  }
  if (!reaped) {
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    reaped = true;
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "ingest status " << status;
  lookup_all("after the ingest");
  EXPECT_GE(lookups, 6);
  EXPECT_EQ(Info()["claims"], kRecords);
  EXPECT_EQ(Run({"check"}).exit_code, 0);
}

}  // namespace
}  // namespace claimmatch
