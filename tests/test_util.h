// Test helpers: the status matchers Debian's Abseil lacks (IsOk, IsOkAndHolds, StatusIs), and where
// test data and the claimmatch binary live (CLAIMMATCH_TEST_DATA / CLAIMMATCH_BIN, set by CTest).
#ifndef CLAIMMATCH_TESTS_TEST_UTIL_H_
#define CLAIMMATCH_TESTS_TEST_UTIL_H_

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace claimmatch::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a value that matches") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

// The directory of tests/data (CLAIMMATCH_TEST_DATA), or the source tree's when unset.
inline std::string TestDataDir() {
  const char* env = std::getenv("CLAIMMATCH_TEST_DATA");
  return env != nullptr ? env : CLAIMMATCH_TEST_DATA_DEFAULT;
}

// Returns a fresh, empty directory under ::testing::TempDir() (emptied if it existed). It is
// removed after the last test if every test passed, unless CLAIMMATCH_KEEP_TEST_DIRS is set.
std::string MakeTempDir(const std::string& name);

// The path of the built `claimmatch` binary (CLAIMMATCH_BIN, else the build tree's).
std::string ClaimmatchBinary();

struct CommandResult {
  int exit_code = -1;  // the exit status, or 128 + signal number
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs `claimmatch args...` with `stdin_text` on its standard input (no shell involved).
CommandResult RunClaimmatch(const std::vector<std::string>& args,
                            const std::string& stdin_text = "");

}  // namespace claimmatch::testing

#endif  // CLAIMMATCH_TESTS_TEST_UTIL_H_
