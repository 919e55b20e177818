#include "tests/test_util.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

namespace claimmatch::testing {
namespace {

// The directories MakeTempDir made in this process. They are removed after the last test when
// every test passed (and CLAIMMATCH_KEEP_TEST_DIRS is unset), and kept for inspection otherwise.
class TempDirs : public ::testing::Environment {
 public:
  static TempDirs& Get() {
    static TempDirs* const dirs = [] {
      auto* d = new TempDirs;
      ::testing::AddGlobalTestEnvironment(d);  // owned by gtest from here on
      return d;
    }();
    return *dirs;
  }

  void Add(const std::string& dir) {
    std::lock_guard<std::mutex> lock(mu_);
    dirs_.push_back(dir);
  }

  void TearDown() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (dirs_.empty()) return;
    if (!::testing::UnitTest::GetInstance()->Passed() ||
        std::getenv("CLAIMMATCH_KEEP_TEST_DIRS") != nullptr) {
      const std::filesystem::path pattern = std::filesystem::path(::testing::TempDir()) /
                                            ("claimmatch_" + std::to_string(::getpid()) + "_*");
      std::fprintf(stderr, "test directories kept: %s\n", pattern.c_str());
      return;
    }
    for (const std::string& dir : dirs_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
    dirs_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> dirs_;
};

// Registers the environment before main() runs the tests (an environment added while they run
// would never be torn down).
const bool kTempDirsRegistered = (TempDirs::Get(), true);

}  // namespace

std::string MakeTempDir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("claimmatch_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TempDirs::Get().Add(dir.string());
  return dir.string();
}

std::string ClaimmatchBinary() {
  const char* env = std::getenv("CLAIMMATCH_BIN");
  return env != nullptr ? env : CLAIMMATCH_BIN_DEFAULT;
}

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

CommandResult RunClaimmatch(const std::vector<std::string>& args, const std::string& stdin_text) {
  static std::atomic<int> counter{0};
  const std::string dir = MakeTempDir("run" + std::to_string(counter++));
  const std::string in_path = dir + "/stdin";
  const std::string out_path = dir + "/stdout";
  const std::string err_path = dir + "/stderr";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << stdin_text;
  }
  const std::string bin = ClaimmatchBinary();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  CommandResult result;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in = ::open(in_path.c_str(), O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = Slurp(out_path);
  result.err = Slurp(err_path);
  return result;
}

}  // namespace claimmatch::testing
