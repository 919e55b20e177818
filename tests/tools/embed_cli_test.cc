// `claimmatch embed` end to end: the real binary, its output format, errors and exit codes.
#include <sstream>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "embeddings/sentence_encoder.h"
#include "engine/dense_scan.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::RunClaimmatch;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Model() { return JoinPath(testing::TestDataDir(), "xlmr-tiny/model"); }

std::vector<nlohmann::json> Lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(EmbedCliTest, OneJsonObjectPerStdinLineMatchingTheLibrary) {
  const auto r = RunClaimmatch({"embed", "--model", Model()},
                               "Vaccines cause autism.\n\nДер Präsident 🙂\r\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["text"], "Vaccines cause autism.");
  EXPECT_EQ(lines[1]["text"], "");
  EXPECT_EQ(lines[2]["text"], "Дер Präsident 🙂");  // CRLF stripped
  auto enc = LoadSentenceEncoder(Model());
  ASSERT_THAT(enc, IsOk());
  auto want = (*enc)->Encode({"Vaccines cause autism.", "", "Дер Präsident 🙂"});
  ASSERT_THAT(want, IsOk());
  for (int i = 0; i < 3; ++i) {
    const std::vector<float> got = lines[i]["vector"].get<std::vector<float>>();
    ASSERT_EQ(got.size(), 64u);
    for (int j = 0; j < 64; ++j) EXPECT_NEAR(got[j], (*want)(i, j), 1e-6) << i << "," << j;
  }
}

TEST(EmbedCliTest, TextArgumentsAndInputFile) {
  const auto a = RunClaimmatch({"embed", "--model", Model(), "one", "two"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(Lines(a.out).size(), 2u);
  const std::string dir = testing::MakeTempDir("embed_input");
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir, "in.txt"), "one\ntwo\nthree"), IsOk());
  const auto b = RunClaimmatch({"embed", "--model", Model(), "--input", JoinPath(dir, "in.txt")});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto lines = Lines(b.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2]["text"], "three");
  EXPECT_EQ(lines[0]["vector"], Lines(a.out)[0]["vector"]);
}

TEST(EmbedCliTest, InvalidUtf8NamesFileAndLineAndFails) {
  const std::string dir = testing::MakeTempDir("embed_bad");
  const std::string path = JoinPath(dir, "bad.txt");
  ASSERT_THAT(WriteFileAtomically(path, "fine\nalso fine\nbro\xc3\x28ken\n"), IsOk());
  const auto r = RunClaimmatch({"embed", "--model", Model(), "--input", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "claimmatch: error: " + path + ":3: invalid UTF-8 at byte 4 of the line\n");
  EXPECT_EQ(Lines(r.out).size(), 2u);  // the good lines before it were written
}

TEST(EmbedCliTest, MissingModelAndInputAreErrors) {
  const auto r = RunClaimmatch({"embed", "--model", "/no/such/dir", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot load model: model directory /no/such/dir does not exist"));
  const auto f = RunClaimmatch({"embed", "--model", Model(), "--input", "/no/such/file"});
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_THAT(f.err, HasSubstr("cannot open /no/such/file"));
}

TEST(EmbedCliTest, UsageErrorsExitTwo) {
  const auto r = RunClaimmatch({"embed", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              StartsWith("claimmatch: error: unknown option '--bogus'\nusage: claimmatch embed"));
  EXPECT_EQ(RunClaimmatch({"embed", "--threads", "0", "x"}).exit_code, 2);
  EXPECT_EQ(RunClaimmatch({"embed", "--role", "boss", "x"}).exit_code, 2);
  EXPECT_EQ(RunClaimmatch({"nosuchcommand"}).exit_code, 2);
  const auto h = RunClaimmatch({"embed", "--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_THAT(h.out, HasSubstr("examples:"));
}

TEST(EmbedCliTest, VersionNamesLibraries) {
  const auto r = RunClaimmatch({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("faiss 1.7.3"));
  EXPECT_THAT(r.out, HasSubstr("eigen 3.4.0"));
  EXPECT_THAT(r.out, HasSubstr("sentencepiece"));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("dense prefilter kernel: ",
                                            DenseScan::KernelName(DenseScan::BestKernel()))));
  // The build links tcmalloc unless it was not found or the sanitizers are on (CMakeLists.txt);
  // the line reports what the process really runs with.
  EXPECT_THAT(r.out, HasSubstr(CLAIMMATCH_EXPECT_TCMALLOC ? "allocator: tcmalloc (gperftools)"
                                                          : "allocator: the C library's malloc"));
  // OpenBLAS (Debian's FAISS links it) starts a spinning worker thread per extra core when it is
  // loaded; main() stops them, so the process runs on its one thread until it needs more.
  EXPECT_THAT(r.out, HasSubstr("BLAS: OpenBLAS, idle worker threads stopped (threads running: 1)"));
}

}  // namespace
}  // namespace claimmatch
