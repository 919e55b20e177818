#include "tests/test_util.h"

#include <unistd.h>

#include <filesystem>

namespace claimmatch::testing {

std::string MakeTempDir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("claimmatch_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string ClaimmatchBinary() {
  const char* env = std::getenv("CLAIMMATCH_BIN");
  return env != nullptr ? env : CLAIMMATCH_BIN_DEFAULT;
}

}  // namespace claimmatch::testing
