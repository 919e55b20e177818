// The interactive `lookup` prompt, driven through a real pseudo-terminal: queries are answered,
// the up arrow recalls the previous query (also from an earlier session, through the history
// file), and an empty line quits with exit code 0. (Ctrl-D is not typed here: when it arrives
// before libedit has put the terminal into raw mode, the terminal's line discipline takes it and
// the prompt waits; CI saw that race. Typed by hand it quits.)
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "embeddings/file_util.h"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::RunClaimmatch;
using ::testing::HasSubstr;

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// Runs `claimmatch lookup --json --db DB` on a pseudo-terminal. Each key string is typed once
// the prompt has appeared one more time; after the last one, reads until the process exits.
struct PromptRun {
  std::string screen;  // everything the terminal showed
  int exit_code = -1;
};

PromptRun RunPrompt(const std::string& db, const std::string& history,
                    const std::vector<std::string>& keys) {
  PromptRun run;
  int fd = -1;
  const pid_t pid = ::forkpty(&fd, nullptr, nullptr, nullptr);
  if (pid == 0) {
    ::setenv("CLAIMMATCH_HISTORY", history.c_str(), 1);
    ::setenv("TERM", "xterm", 1);
    ::unsetenv("NO_COLOR");
    const std::string bin = testing::ClaimmatchBinary();
    ::execl(bin.c_str(), bin.c_str(), "lookup", "--json", "--db", db.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid < 0) return run;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto last_key = std::chrono::steady_clock::now();
  size_t typed = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (typed < keys.size() && Count(run.screen, "claim> ") > static_cast<int>(typed)) {
      const std::string& k = keys[typed++];
      if (::write(fd, k.data(), k.size()) != static_cast<ssize_t>(k.size())) break;
      last_key = std::chrono::steady_clock::now();
    } else if (typed == keys.size() &&
               std::chrono::steady_clock::now() - last_key > std::chrono::seconds(3)) {
      // Still running after the last key: a key typed while the line editor was switching the
      // terminal mode can be lost; type it again, as a person would.
      const std::string& k = keys.back();
      if (::write(fd, k.data(), k.size()) != static_cast<ssize_t>(k.size())) break;
      last_key = std::chrono::steady_clock::now();
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;  // EIO once the child has exited
    run.screen.append(buf, n);
  }
  ::close(fd);
  int status = 0;
  if (::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

TEST(LookupPromptTest, AnswersRecallsWithTheUpArrowAndKeepsHistoryAcrossSessions) {
  const std::string root = testing::MakeTempDir("lookup_prompt");
  const std::string claims = JoinPath(root, "claims.jsonl");
  ASSERT_THAT(
      WriteFileAtomically(
          claims,
          R"({"id": "c03", "claim": "Drinking bleach cures the coronavirus.", "verdict": "False"}
{"id": "c06", "claim": "Wind turbines cause cancer in people who live nearby.", "verdict": "False"}
)"),
      IsOk());
  const std::string db = JoinPath(root, "db");
  const std::string model = JoinPath(testing::TestDataDir(), "../../models/default");
  const auto ingest = RunClaimmatch({"ingest", "-q", "--db", db, "--model", model, claims});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  const std::string history = JoinPath(root, "state/claimmatch/history");

  // Session 1: a query, then Up + Enter repeats it, then an empty line.
  const PromptRun first =
      RunPrompt(db, history, {"wind turbines cause cancer\r", "\x1b[A\r", "\r"});
  EXPECT_EQ(first.exit_code, 0) << first.screen;
  EXPECT_EQ(Count(first.screen, R"("query":"wind turbines cause cancer")"), 2) << first.screen;
  EXPECT_EQ(Count(first.screen, R"("claim_id":"c06")"), 2) << first.screen;
  // The history file was created (with its directories) and holds the query once.
  const auto saved = ReadFile(history);
  ASSERT_THAT(saved.status(), IsOk());
  EXPECT_EQ(Count(*saved, "wind\\040turbines\\040cause\\040cancer"), 1) << *saved;

  // Session 2: Up recalls the previous session's query; an empty line quits.
  const PromptRun second = RunPrompt(db, history, {"\x1b[A\r", "\r"});
  EXPECT_EQ(second.exit_code, 0) << second.screen;
  EXPECT_EQ(Count(second.screen, R"("query":"wind turbines cause cancer")"), 1) << second.screen;
  EXPECT_THAT(second.screen, HasSubstr("Type a claim"));
}

}  // namespace
}  // namespace claimmatch
