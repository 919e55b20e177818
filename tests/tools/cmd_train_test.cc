// `claimmatch train` end to end: a pairs TSV in, a loadable claimmatch-static model out; usage
// errors exit with 2.
#include <sys/wait.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "embeddings/file_util.h"
#include "embeddings/sentence_encoder.h"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;

int RunClaimmatch(const std::string& args) {
  const int rc = std::system((testing::ClaimmatchBinary() + " " + args + " 2>/dev/null").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(CmdTrainTest, TrainsFromPairsFileIntoLoadableModel) {
  const std::string dir = testing::MakeTempDir("cmd_train");
  std::mt19937 rng(3);
  const char* kWords[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
                          "hotel", "india", "juliet",  "kilo",  "lima", "mike",    "november"};
  std::string tsv;
  for (int i = 0; i < 300; ++i) {
    std::string a, b;
    for (int k = 0; k < 3; ++k) {
      const int w = rng() % 7;
      a += std::string(kWords[w]) + " ";
      b += std::string(kWords[w + 7]) + " ";  // each word has a fixed "synonym"
    }
    tsv += a + "\t" + b + "\n";
  }
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir, "pairs.tsv"), tsv), IsOk());
  const std::string out = JoinPath(dir, "model");
  ASSERT_EQ(RunClaimmatch("train --out " + out + " --pairs " + JoinPath(dir, "pairs.tsv") +
                          ":2 --vocab-size 36 --dim 16 --batch-size 8 --epochs 2 --lowercase"),
            0);
  auto enc = LoadSentenceEncoder(out);
  ASSERT_THAT(enc, IsOk());
  EXPECT_EQ((*enc)->dim(), 16);
  EXPECT_EQ((*enc)->info().model_type, "claimmatch-static");
  EXPECT_TRUE(PathExists(out + ".checkpoint/checkpoint.safetensors"));

  // The same pairs as JSON lines.
  std::string jsonl;
  for (absl::string_view line : absl::StrSplit(tsv, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    jsonl += "{\"anchor\": \"" + f[0] + "\", \"positive\": \"" + f[1] + "\"}\n";
  }
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir, "pairs.jsonl"), jsonl), IsOk());
  const std::string out2 = JoinPath(dir, "model2");
  ASSERT_EQ(RunClaimmatch("train --out " + out2 + " --pairs " + JoinPath(dir, "pairs.jsonl") +
                          ":2 --vocab-size 36 --dim 16 --batch-size 8 --epochs 2 --lowercase"),
            0);
  ASSERT_THAT(LoadSentenceEncoder(out2), IsOk());
  // Same pairs, same seed, same options: the same weights.
  EXPECT_EQ(*ReadFile(JoinPath(out, "model.safetensors")),
            *ReadFile(JoinPath(out2, "model.safetensors")));
}

TEST(CmdTrainTest, UsageErrors) {
  EXPECT_EQ(RunClaimmatch("train --help >/dev/null"), 0);
  EXPECT_EQ(RunClaimmatch("train --no-such-option 1"), 2);
  EXPECT_EQ(RunClaimmatch("train --out /nonexistent/x"), 1);  // no pairs
}

}  // namespace
}  // namespace claimmatch
