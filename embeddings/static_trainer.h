// Trains a static sentence-embedding model (static_model.h) from sentence pairs, on the CPU.
//
// Model: v(text) = mean over pooled tokens t of w[t] * E[t], then L2-normalised; E is vocab x dim
// (random unit rows at start), w one weight per token, initialised to the token's IDF over the
// training texts (so an untrained model is a random projection of TF-IDF, a lexical matcher).
// Loss: symmetric multiple-negatives ranking loss (InfoNCE with in-batch negatives, scaled
// cosine): each anchor against every positive and labelled hard negative of its batch, and each
// positive against every anchor. A batch never holds the same text twice (so a repeated sentence
// is never its own negative). Scored sources (STS) get batches of their own with the CoSENT loss
// log(1 + sum over pairs i, j with score_i > score_j of exp(scale * (cos_j - cos_i))). Optimiser:
// lazy (sparse) Adam over the rows a batch touches.
//
// Data: pairs come in named sources with a sampling weight (copies per epoch; fractions are
// sampled). The epoch's order is a pure function of (seed, epoch), and the update is computed in
// a fixed order on one thread, so a run is reproducible bit for bit, and a run resumed from a
// checkpoint continues exactly as the uninterrupted run would have.
//
// Thread safety: a StaticTrainer is used from one thread; its const methods may run concurrently.
#ifndef CLAIMMATCH_EMBEDDINGS_STATIC_TRAINER_H_
#define CLAIMMATCH_EMBEDDINGS_STATIC_TRAINER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "embeddings/static_model.h"
#include "embeddings/tokenizer.h"
#include "embeddings/types.h"
#include "embeddings/whitening.h"

namespace claimmatch {

struct TrainingPair {
  std::string anchor;
  std::string positive;
  std::string negative;  // a labelled hard negative for the anchor, or empty
  float score = 0;       // gold similarity (any scale), used by scored sources only
  // The positive is a fixed target (e.g. the English side of a translation pair): no gradient
  // flows into its tokens from this pair, so the anchor's language learns to map into the
  // positive's space without moving it (the teacher/student idea of multilingual distillation).
  bool fixed_positive = false;
};

struct PairSource {
  std::string name;
  std::vector<TrainingPair> pairs;
  double weight = 1.0;  // expected copies of each pair per epoch (0.25: a quarter of the pairs)
  // Scored pairs (STS): trained in batches of their own with the CoSENT ranking loss over the
  // pairs' scores instead of in-batch negatives; `negative` is ignored.
  bool scored = false;
};

// Retrieval evaluation: rank all of `corpus` for each query by cosine.
struct RetrievalEvalSet {
  std::string name;
  std::vector<std::string> queries;
  std::vector<std::vector<int>> relevant;  // per query: indices into corpus (non-empty)
  std::vector<std::string> corpus;
};

struct RetrievalMetrics {
  int queries = 0;
  double map_at_1 = 0, map_at_5 = 0, mrr = 0, recall_at_5 = 0;
};

// Returns the CheckThat! metrics (MAP@k = mean over queries of sum of precision@i at relevant
// ranks i <= k, divided by the number of relevant documents; MRR over the full ranking) for unit
// rows `queries` (one per query of `relevant`) against unit rows `corpus`. Fails with
// kInvalidArgument on mismatched sizes or an out-of-range index.
absl::StatusOr<RetrievalMetrics> EvaluateRetrieval(const EmbeddingMatrix& queries,
                                                   const EmbeddingMatrix& corpus,
                                                   const std::vector<std::vector<int>>& relevant);

struct StaticTrainerOptions {
  int dim = 256;
  int batch_size = 256;  // pairs per step
  int epochs = 1;
  double learning_rate = 0.003;        // Adam, embedding rows
  double weight_learning_rate = 0.01;  // Adam, per-token weights (0 freezes them)
  double scale = 20.0;                 // cosine -> logit
  uint64_t seed = 42;
  int max_tokens = 128;            // per text, incl. <s> and </s>
  int threads = 1;                 // evaluation only (training is single-threaded)
  int log_every_steps = 100;       // progress line on `log`
  int eval_every_steps = 0;        // 0: after each epoch only
  bool keep_best = true;           // with eval sets: the model kept is the best by the mean
                                   // MAP@5 of all evaluations
  std::string checkpoint_dir;      // empty: no checkpoints
  int checkpoint_every_steps = 0;  // 0: after each epoch only
  int64_t stop_after_steps = 0;    // > 0: stop there (checkpointed), as if interrupted
};

class StaticTrainer {
 public:
  // A fresh model for `tokenizer` (owned), with IDF weights over `idf_texts` (may be empty: all
  // weights 1). Fails with kInvalidArgument on bad options.
  static absl::StatusOr<std::unique_ptr<StaticTrainer>> Create(
      const StaticTrainerOptions& options, std::unique_ptr<Tokenizer> tokenizer,
      absl::Span<const std::string> idf_texts);
  // Continues from options.checkpoint_dir (its tokenizer and parameters, optimiser state and
  // position). Fails with kNotFound if there is no checkpoint, kFailedPrecondition if it was
  // written with another dim, kDataLoss if it is corrupt.
  static absl::StatusOr<std::unique_ptr<StaticTrainer>> Resume(const StaticTrainerOptions& options);

  StaticTrainer(const StaticTrainer&) = delete;
  StaticTrainer& operator=(const StaticTrainer&) = delete;
  ~StaticTrainer();

  // Trains up to options.epochs epochs in total (a resumed trainer continues where it stopped),
  // evaluating on `eval_sets` and writing progress lines to `log` (may be nullptr). Returns OK;
  // fails with kInvalidArgument if there are no usable pairs, kInternal if a checkpoint cannot be
  // written.
  absl::Status Train(absl::Span<const PairSource> sources,
                     absl::Span<const RetrievalEvalSet> eval_sets, std::FILE* log);

  // Returns unit rows for `texts` under the current parameters (the saved model gives the same
  // vectors up to float rounding; exactly the same in F32).
  EmbeddingMatrix Encode(absl::Span<const std::string> texts) const;
  // Returns the metrics of the current parameters on `set`.
  RetrievalMetrics Evaluate(const RetrievalEvalSet& set) const;
  // Mean training loss over the last logging window (or the last epoch); NaN before training.
  double recent_loss() const { return recent_loss_; }

  // Sets a dim x dim linear map applied to every saved row (E -> E * transform), e.g.
  // PartialWhitening(); mean pooling makes it act on sentence vectors exactly. An empty matrix
  // clears it. Returns OK; fails with kInvalidArgument unless the matrix is empty or dim x dim.
  absl::Status SetOutputTransform(const Eigen::MatrixXf& transform);
  // Returns unit rows for `texts` as the saved model encodes them (the kept snapshot, the output
  // transform), up to F16 rounding.
  EmbeddingMatrix EncodeSaved(absl::Span<const std::string> texts) const;
  // Writes the model directory (token weights folded into the rows, which gives the same
  // vectors). Failures as SaveStaticModel().
  absl::Status Save(absl::string_view dir, const StaticModelSaveOptions& options = {}) const;

  // The folded (and transformed) vocab x dim embedding matrix that Save() writes.
  EmbeddingMatrix FoldedEmbeddings() const;
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  int64_t step() const { return step_; }

 private:
  struct State;
  explicit StaticTrainer(const StaticTrainerOptions& options);
  absl::Status SaveCheckpoint() const;
  // Unit rows for `texts`: the mean over their pooled tokens of `table` rows, each scaled by
  // `weight` when it is not null.
  EmbeddingMatrix Pool(absl::Span<const std::string> texts, const EmbeddingMatrix& table,
                       const Eigen::VectorXf* weight) const;

  StaticTrainerOptions options_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<State> state_;
  int64_t step_ = 0;           // Adam steps taken
  int epoch_ = 0;              // current epoch (0-based)
  int64_t step_in_epoch_ = 0;  // batches of epoch_ already done
  double recent_loss_;
};

// Trains a sentencepiece model on `texts` (vocab_size pieces, unigram, byte fallback off,
// case-folding NFKC normalisation when `lowercase`) in `work_dir` and returns it. Fails as
// TrainSentencePiece() or with kInternal on I/O.
absl::StatusOr<std::unique_ptr<Tokenizer>> TrainTokenizer(absl::Span<const std::string> texts,
                                                          int vocab_size, bool lowercase,
                                                          int threads, absl::string_view work_dir);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_STATIC_TRAINER_H_
