// The static trainer on a small synthetic paraphrase task: each "concept" has two unrelated
// surface words, and a pair says the same concepts with different words, so only training can
// match them. Checks that the loss falls, that pairs end up scoring above non-pairs, that a seed
// reproduces a run bit for bit (also across a checkpoint + resume), and that the saved model
// encodes as the trainer does.
#include "embeddings/static_trainer.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "Eigen/Eigenvalues"
#include "embeddings/file_util.h"
#include "embeddings/sentence_encoder.h"
#include "embeddings/status_macros.h"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::StatusIs;

constexpr int kConcepts = 60;

struct Task {
  std::vector<std::string> word_a, word_b;  // two names per concept
  std::vector<TrainingPair> train, test;
  std::vector<std::string> texts;
};

std::string RandomWord(std::mt19937& rng) {
  static const char* kSyllables[] = {"ka", "lo", "mi", "ne", "pu", "ra", "si", "to",
                                     "vu", "ze", "bo", "da", "fe", "gi", "ju", "hy"};
  std::string w;
  for (int i = 0; i < 3; ++i) w += kSyllables[rng() % 16];
  return w;
}

const Task& GetTask() {
  static const Task* task = [] {
    auto* t = new Task;
    std::mt19937 rng(1);
    for (int c = 0; c < kConcepts; ++c) {
      t->word_a.push_back(RandomWord(rng));
      t->word_b.push_back(RandomWord(rng));
    }
    auto make = [&](int n, std::vector<TrainingPair>* out) {
      for (int i = 0; i < n; ++i) {
        std::string a, b;
        for (int k = 0; k < 3; ++k) {
          const int c = rng() % kConcepts;
          a += t->word_a[c] + " ";
          b += t->word_b[c] + " ";
        }
        out->push_back({a, b, ""});
        t->texts.push_back(a);
        t->texts.push_back(b);
      }
    };
    make(1500, &t->train);
    make(100, &t->test);
    return t;
  }();
  return *task;
}

std::unique_ptr<Tokenizer> TaskTokenizer() {
  static const std::string* bytes = [] {
    auto tok = TrainTokenizer(GetTask().texts, 100, true, 1, testing::MakeTempDir("static_spm"));
    EXPECT_THAT(tok, IsOk());
    return new std::string(tok.ok() ? (*tok)->serialized() : "");
  }();
  auto tok = Tokenizer::FromBytes(*bytes, "task");
  EXPECT_THAT(tok, IsOk());
  return tok.ok() ? *std::move(tok) : nullptr;
}

StaticTrainerOptions Options() {
  StaticTrainerOptions o;
  o.dim = 32;
  o.batch_size = 32;
  o.epochs = 3;
  o.learning_rate = 0.02;
  o.seed = 5;
  o.log_every_steps = 10;
  o.keep_best = false;
  return o;
}

// Mean cosine of the test pairs minus the mean cosine of mismatched test pairs.
double PairMargin(const StaticTrainer& t) {
  std::vector<std::string> a, b;
  for (const TrainingPair& p : GetTask().test) {
    a.push_back(p.anchor);
    b.push_back(p.positive);
  }
  const EmbeddingMatrix ea = t.Encode(a), eb = t.Encode(b);
  double pos = 0, neg = 0;
  const int n = static_cast<int>(a.size());
  for (int i = 0; i < n; ++i) {
    pos += ea.row(i).dot(eb.row(i));
    neg += ea.row(i).dot(eb.row((i + 1) % n));
  }
  return (pos - neg) / n;
}

RetrievalEvalSet TestRetrieval() {
  RetrievalEvalSet set;
  set.name = "test";
  for (size_t i = 0; i < GetTask().test.size(); ++i) {
    set.queries.push_back(GetTask().test[i].anchor);
    set.corpus.push_back(GetTask().test[i].positive);
    set.relevant.push_back({static_cast<int>(i)});
  }
  return set;
}

TEST(StaticTrainerTest, LearnsParaphrasesAndLowersLoss) {
  StaticTrainerOptions o = Options();
  o.epochs = 1;
  auto t = StaticTrainer::Create(o, TaskTokenizer(), GetTask().texts);
  ASSERT_THAT(t, IsOk());
  const double margin_before = PairMargin(**t);
  const double map_before = (*t)->Evaluate(TestRetrieval()).map_at_5;
  std::vector<PairSource> sources = {{"task", GetTask().train, 1.0}};
  ASSERT_THAT((*t)->Train(sources, {}, nullptr), IsOk());
  const double loss_after_one = (*t)->recent_loss();

  o.epochs = 4;
  auto t4 = StaticTrainer::Create(o, TaskTokenizer(), GetTask().texts);
  ASSERT_THAT(t4, IsOk());
  ASSERT_THAT((*t4)->Train(sources, {}, nullptr), IsOk());
  EXPECT_LT((*t4)->recent_loss(), loss_after_one);
  EXPECT_LT((*t4)->recent_loss(), 0.5 * std::log(32.0));  // well under chance

  const double margin_after = PairMargin(**t4);
  const RetrievalMetrics after = (*t4)->Evaluate(TestRetrieval());
  EXPECT_LT(margin_before, 0.1);
  EXPECT_GT(margin_after, 0.3);
  EXPECT_GT(after.map_at_5, map_before + 0.3);
  EXPECT_GT(after.map_at_1, 0.5);
}

TEST(StaticTrainerTest, SameSeedSameModel) {
  std::vector<PairSource> sources = {{"task", GetTask().train, 1.0},
                                     {"again", GetTask().test, 0.5}};
  auto a = StaticTrainer::Create(Options(), TaskTokenizer(), GetTask().texts);
  auto b = StaticTrainer::Create(Options(), TaskTokenizer(), GetTask().texts);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT((*a)->Train(sources, {}, nullptr), IsOk());
  ASSERT_THAT((*b)->Train(sources, {}, nullptr), IsOk());
  EXPECT_EQ((*a)->FoldedEmbeddings(), (*b)->FoldedEmbeddings());

  StaticTrainerOptions other = Options();
  other.seed = 6;
  auto c = StaticTrainer::Create(other, TaskTokenizer(), GetTask().texts);
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->Train(sources, {}, nullptr), IsOk());
  EXPECT_NE((*a)->FoldedEmbeddings(), (*c)->FoldedEmbeddings());
}

TEST(StaticTrainerTest, ResumeContinuesExactly) {
  std::vector<PairSource> sources = {{"task", GetTask().train, 1.0}};
  auto straight = StaticTrainer::Create(Options(), TaskTokenizer(), GetTask().texts);
  ASSERT_THAT(straight, IsOk());
  ASSERT_THAT((*straight)->Train(sources, {}, nullptr), IsOk());

  StaticTrainerOptions o = Options();
  o.checkpoint_dir = testing::MakeTempDir("static_ckpt");
  o.checkpoint_every_steps = 30;
  o.stop_after_steps = 70;  // interrupted mid-epoch, after the checkpoint at step 60
  auto first = StaticTrainer::Create(o, TaskTokenizer(), GetTask().texts);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT((*first)->Train(sources, {}, nullptr), IsOk());
  EXPECT_EQ((*first)->step(), 70);
  o.stop_after_steps = 0;
  auto resumed = StaticTrainer::Resume(o);
  ASSERT_THAT(resumed, IsOk());
  EXPECT_EQ((*resumed)->step(), 70);
  ASSERT_THAT((*resumed)->Train(sources, {}, nullptr), IsOk());
  EXPECT_EQ((*resumed)->step(), (*straight)->step());
  EXPECT_EQ((*resumed)->FoldedEmbeddings(), (*straight)->FoldedEmbeddings());

  // Other pairs than the checkpoint's are refused.
  std::vector<PairSource> other = {{"test", GetTask().test, 1.0}};
  o.epochs = 5;
  auto more = StaticTrainer::Resume(o);
  ASSERT_THAT(more, IsOk());
  EXPECT_THAT((*more)->Train(other, {}, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
}

// A trainer after one epoch on the task (Options(), one epoch).
absl::StatusOr<std::unique_ptr<StaticTrainer>> TrainedOneEpoch() {
  StaticTrainerOptions o = Options();
  o.epochs = 1;
  CM_ASSIGN_OR_RETURN(std::unique_ptr<StaticTrainer> t,
                      StaticTrainer::Create(o, TaskTokenizer(), GetTask().texts));
  std::vector<PairSource> sources = {{"task", GetTask().train, 1.0}};
  CM_RETURN_IF_ERROR(t->Train(sources, {}, nullptr));
  return t;
}

// Saves `t` (F32) in a fresh directory named after `name`, reloads it and encodes `texts`.
absl::StatusOr<EmbeddingMatrix> EncodeWithSavedModel(const StaticTrainer& t, const char* name,
                                                     const std::vector<std::string>& texts) {
  const std::string dir = testing::MakeTempDir(name);
  StaticModelSaveOptions so;
  so.fp16 = false;
  CM_RETURN_IF_ERROR(t.Save(dir, so));
  CM_ASSIGN_OR_RETURN(std::unique_ptr<SentenceEncoder> enc, LoadSentenceEncoder(dir));
  return enc->Encode(texts);
}

TEST(StaticTrainerTest, SavedModelEncodesLikeTrainer) {
  auto t = TrainedOneEpoch();
  ASSERT_THAT(t, IsOk());
  const std::vector<std::string> texts = {GetTask().test[0].anchor, GetTask().test[1].positive,
                                          "unknown words entirely"};
  auto got = EncodeWithSavedModel(**t, "static_trained", texts);
  ASSERT_THAT(got, IsOk());
  EXPECT_LT((*got - (*t)->Encode(texts)).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(StaticTrainerTest, OutputTransformIsWhatTheSavedModelEncodes) {
  auto t = TrainedOneEpoch();
  ASSERT_THAT(t, IsOk());
  const int dim = Options().dim;
  EXPECT_THAT((*t)->SetOutputTransform(Eigen::MatrixXf::Identity(dim + 1, dim)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("is 33 x 32, expected 32 x 32")));
  const std::vector<std::string> texts = {GetTask().test[0].anchor, GetTask().test[1].positive,
                                          GetTask().test[2].anchor};
  const EmbeddingMatrix plain = (*t)->EncodeSaved(texts);
  EXPECT_LT((plain - (*t)->Encode(texts)).cwiseAbs().maxCoeff(), 1e-5);
  auto map = PartialWhitening((*t)->EncodeSaved(GetTask().texts), 0.5, true);
  ASSERT_THAT(map, IsOk());
  ASSERT_THAT((*t)->SetOutputTransform(*map), IsOk());
  const EmbeddingMatrix mapped = (*t)->EncodeSaved(texts);
  // Mean pooling commutes with the map: the saved sentence vector is the normalised image of
  // the untransformed one.
  for (int i = 0; i < mapped.rows(); ++i) {
    const EmbeddingRow expected = (plain.row(i) * *map).normalized();
    EXPECT_LT((mapped.row(i) - expected).cwiseAbs().maxCoeff(), 1e-5) << i;
  }
  EXPECT_GT((mapped - plain).cwiseAbs().maxCoeff(), 1e-3);  // the map does something
  auto got = EncodeWithSavedModel(**t, "static_whitened", texts);
  ASSERT_THAT(got, IsOk());
  EXPECT_LT((*got - mapped).cwiseAbs().maxCoeff(), 1e-5);
}

// Anisotropic Gaussian vectors (standard deviations 4, 2, 1, 0.5, 0.25, 0.1) around a mean.
EmbeddingMatrix AnisotropicVectors() {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  const float sd[] = {4, 2, 1, 0.5f, 0.25f, 0.1f};
  EmbeddingMatrix x(4000, 6);
  for (int i = 0; i < x.rows(); ++i) {
    for (int j = 0; j < 6; ++j) x(i, j) = 3.0f + sd[j] * normal(rng);
  }
  return x;
}

Eigen::VectorXd CovarianceEigenvalues(const EmbeddingMatrix& x) {
  const Eigen::MatrixXd xd = x.cast<double>();
  const Eigen::MatrixXd c = xd.rowwise() - xd.colwise().mean();
  return Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(c.transpose() * c / xd.rows())
      .eigenvalues();
}

TEST(PartialWhiteningTest, FullWhiteningEqualisesTheVariances) {
  const EmbeddingMatrix x = AnisotropicVectors();
  const Eigen::VectorXd before = CovarianceEigenvalues(x);
  EXPECT_GT(before.maxCoeff() / before.minCoeff(), 1000);
  auto map = PartialWhitening(x, 1.0, false);
  ASSERT_THAT(map, IsOk());
  const Eigen::VectorXd after = CovarianceEigenvalues(x * *map);
  EXPECT_LT(after.maxCoeff() / after.minCoeff(), 1.0001);
  // Half whitening takes the square root of the spread: 1600 / 0.01 -> about 400.
  auto half = PartialWhitening(x, 0.5, false);
  ASSERT_THAT(half, IsOk());
  const Eigen::VectorXd mid = CovarianceEigenvalues(x * *half);
  const double ratio = before.maxCoeff() / before.minCoeff();
  EXPECT_NEAR(mid.maxCoeff() / mid.minCoeff(), std::sqrt(ratio), 0.01 * std::sqrt(ratio));
}

TEST(PartialWhiteningTest, IdentityAndMeanRemoval) {
  const EmbeddingMatrix x = AnisotropicVectors();
  auto identity = PartialWhitening(x, 0.0, false);
  ASSERT_THAT(identity, IsOk());
  EXPECT_EQ(*identity, Eigen::MatrixXf::Identity(6, 6));
  auto projection = PartialWhitening(x, 0.0, true);
  ASSERT_THAT(projection, IsOk());
  const EmbeddingRow mean = x.colwise().mean();
  EXPECT_LT((mean * *projection).norm(), 1e-4 * mean.norm());
  EXPECT_LT((*projection * *projection - *projection).cwiseAbs().maxCoeff(), 1e-5);
  EXPECT_LT((projection->transpose() - *projection).cwiseAbs().maxCoeff(), 1e-6);
  // A vector orthogonal to the mean passes unchanged.
  EmbeddingRow orthogonal = EmbeddingRow::Zero(6);
  orthogonal(0) = 1;
  orthogonal(1) = -1;
  orthogonal -= orthogonal.dot(mean) / mean.squaredNorm() * mean;
  EXPECT_LT((orthogonal * *projection - orthogonal).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(PartialWhiteningTest, RejectsBadArguments) {
  EXPECT_THAT(
      PartialWhitening(EmbeddingMatrix::Ones(1, 4), 0.5, true),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("at least 2 vectors")));
  EXPECT_THAT(PartialWhitening(AnisotropicVectors(), 2.5, false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("alpha 2.5 is not in [0, 2]")));
  EXPECT_THAT(PartialWhitening(AnisotropicVectors(), -0.1, false),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("not in [0, 2]")));
}

TEST(StaticTrainerTest, RefusesDataWithNoTwoDistinctPairs) {
  auto t = StaticTrainer::Create(Options(), TaskTokenizer(), {});
  ASSERT_THAT(t, IsOk());
  // Every pair shares its anchor: no batch can hold two of them.
  const std::string anchor = GetTask().train[0].anchor;
  std::vector<PairSource> sources = {
      {"same",
       {{anchor, GetTask().train[1].positive, ""}, {anchor, GetTask().train[2].positive, ""}},
       1.0}};
  EXPECT_THAT((*t)->Train(sources, {}, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

// Scored pairs: `a` says 3 concepts with word_a, `b` says k of them (k = 0..3, the score) plus
// 3 - k other concepts, with word_b. Only CoSENT training can order them by k.
std::vector<TrainingPair> ScoredPairsOf(int n, unsigned seed) {
  const Task& t = GetTask();
  std::mt19937 rng(seed);
  std::vector<TrainingPair> out;
  for (int i = 0; i < n; ++i) {
    const int k = i % 4;
    std::string a, b;
    for (int j = 0; j < 3; ++j) {
      const int c = rng() % kConcepts;
      a += t.word_a[c] + " ";
      b += t.word_b[j < k ? c : (c + 1 + rng() % (kConcepts - 1)) % kConcepts] + " ";
    }
    out.push_back({a, b, "", static_cast<float>(k)});
  }
  return out;
}

// Mean cosine of the test pairs scored 3 minus that of those scored 0.
double ScoreGap(const StaticTrainer& t, const std::vector<TrainingPair>& test) {
  std::vector<std::string> a, b;
  for (const TrainingPair& p : test) {
    a.push_back(p.anchor);
    b.push_back(p.positive);
  }
  const EmbeddingMatrix ea = t.Encode(a), eb = t.Encode(b);
  double top = 0, bottom = 0;
  int n_top = 0, n_bottom = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    const double c = ea.row(i).dot(eb.row(i));
    if (test[i].score == 3) top += c, ++n_top;
    if (test[i].score == 0) bottom += c, ++n_bottom;
  }
  return top / n_top - bottom / n_bottom;
}

TEST(StaticTrainerTest, CosentOrdersScoredPairs) {
  StaticTrainerOptions o = Options();
  o.epochs = 4;
  auto t = StaticTrainer::Create(o, TaskTokenizer(), GetTask().texts);
  ASSERT_THAT(t, IsOk());
  const std::vector<TrainingPair> test = ScoredPairsOf(200, 9);
  const double gap_before = ScoreGap(**t, test);
  PairSource scored{"scored", ScoredPairsOf(2000, 8), 1.0, /*scored=*/true};
  ASSERT_THAT((*t)->Train({scored}, {}, nullptr), IsOk());
  EXPECT_LT(gap_before, 0.1);
  EXPECT_GT(ScoreGap(**t, test), 0.3);
}

TEST(StaticTrainerTest, ScoredAndContrastiveSourcesTrainTogetherReproducibly) {
  std::vector<PairSource> sources = {{"task", GetTask().train, 1.0},
                                     {"scored", ScoredPairsOf(600, 8), 1.0, /*scored=*/true}};
  auto a = StaticTrainer::Create(Options(), TaskTokenizer(), GetTask().texts);
  auto b = StaticTrainer::Create(Options(), TaskTokenizer(), GetTask().texts);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT((*a)->Train(sources, {}, nullptr), IsOk());
  ASSERT_THAT((*b)->Train(sources, {}, nullptr), IsOk());
  EXPECT_EQ((*a)->FoldedEmbeddings(), (*b)->FoldedEmbeddings());
  EXPECT_GT(PairMargin(**a), 0.3);
  EXPECT_GT(ScoreGap(**a, ScoredPairsOf(200, 9)), 0.2);
}

TEST(StaticTrainerTest, FixedPositivesTakeNoGradient) {
  std::vector<TrainingPair> pairs = GetTask().train;
  for (TrainingPair& p : pairs) p.fixed_positive = true;
  auto t = StaticTrainer::Create(Options(), TaskTokenizer(), GetTask().texts);
  ASSERT_THAT(t, IsOk());
  const EmbeddingMatrix before = (*t)->FoldedEmbeddings();
  ASSERT_THAT((*t)->Train({{"fixed", pairs, 1.0}}, {}, nullptr), IsOk());
  const EmbeddingMatrix after = (*t)->FoldedEmbeddings();
  // Tokens that occur only in positives keep their rows; the anchors' tokens moved to match.
  std::vector<bool> in_anchor(before.rows(), false), in_positive(before.rows(), false);
  for (const TrainingPair& p : pairs) {
    for (TokenId id : (*t)->tokenizer().Encode(p.anchor, 128)) in_anchor[id] = true;
    for (TokenId id : (*t)->tokenizer().Encode(p.positive, 128)) in_positive[id] = true;
  }
  int only_positive = 0, anchor_moved = 0;
  for (int r = kFirstPooledId; r < before.rows(); ++r) {
    if (in_positive[r] && !in_anchor[r]) {
      ++only_positive;
      EXPECT_EQ(before.row(r), after.row(r)) << "token " << r;
    }
    if (in_anchor[r] && (before.row(r) - after.row(r)).norm() > 1e-3) ++anchor_moved;
  }
  EXPECT_GT(only_positive, 0);
  EXPECT_GT(anchor_moved, 0);
  EXPECT_GT(PairMargin(**t), 0.3);
}

TEST(EvaluateRetrievalTest, CheckThatMetrics) {
  // Corpus on the unit circle; query 0 ranks docs 0,1,2,3; query 1 ranks 3,2,1,0.
  EmbeddingMatrix corpus(4, 2), queries(2, 2);
  for (int i = 0; i < 4; ++i) {
    corpus(i, 0) = std::cos(0.3 * i);
    corpus(i, 1) = std::sin(0.3 * i);
  }
  queries.row(0) = corpus.row(0);
  queries.row(1) = corpus.row(3);
  auto m = EvaluateRetrieval(queries, corpus, {{1}, {3, 0}});
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->queries, 2);
  // q0: relevant at rank 2 -> AP@5 0.5, RR 0.5, AP@1 0. q1: ranks 1 and 4 -> AP@5 (1 + 2/4)/2.
  EXPECT_NEAR(m->map_at_5, (0.5 + 0.75) / 2, 1e-9);
  EXPECT_NEAR(m->map_at_1, (0 + 0.5) / 2, 1e-9);
  EXPECT_NEAR(m->mrr, (0.5 + 1) / 2, 1e-9);
  EXPECT_NEAR(m->recall_at_5, 1.0, 1e-9);
}

}  // namespace
}  // namespace claimmatch
