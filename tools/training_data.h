// The claim-matching glue of `claimmatch train` and `claimmatch evaluate`: reads the shared data
// directory (see ../shared/data/README.md) into training pairs, tokenizer texts and the dev
// retrieval sets, and reads generic pair files. Tweets are cleaned with CleanSocialText() (the
// same cleaning the engine applies to queries).
//
// Thread safety: plain functions and data.
#ifndef CLAIMMATCH_TOOLS_TRAINING_DATA_H_
#define CLAIMMATCH_TOOLS_TRAINING_DATA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "embeddings/static_trainer.h"

namespace claimmatch::cli {

struct FactCheck {
  std::string id, claim, title, subtitle;
};

// The text a claim is embedded as in the database: "claim title" (subtitle too when
// `with_subtitle`).
std::string ClaimDocText(const FactCheck& c, bool with_subtitle = false);

// Reads snopes-claims.jsonl / politifact-claims.jsonl. Fails with kNotFound, or
// kInvalidArgument naming the file and line.
absl::StatusOr<std::vector<FactCheck>> ReadFactChecks(absl::string_view path);

// Reads a pairs file: TSV lines "anchor<TAB>positive[<TAB>hard negative]", or, for a name ending
// in .jsonl, objects {"anchor": ..., "positive": ...[, "negative": ...]}; records without an
// anchor and a positive are skipped. Fails with kNotFound / kInternal, or kInvalidArgument
// naming the line of a JSONL record that is not a JSON object.
absl::StatusOr<std::vector<TrainingPair>> ReadPairsFile(absl::string_view path);

struct SharedData {
  std::vector<PairSource> sources;
  std::vector<std::string> texts;  // for the tokenizer and the IDF weights (no dev text)
  // claims-dev retrieval: queries of the `split` ("dev") against the whole claim database.
  std::vector<RetrievalEvalSet> eval_sets;
  // tweets-train / debates-train queries and gold claim indices, for hard-negative mining.
  std::vector<RetrievalEvalSet> train_sets;
};

struct SharedDataOptions {
  double in_domain_weight = 8;    // tweets-train / debates-train -> gold claim
  double claim_title_weight = 1;  // claim <-> title / subtitle (all claims)
  double twitter_weight = 1;      // Twitter URL corpus paraphrases (+ labelled negatives)
  double stsb_weight = 1;         // STS-B en train pairs scored >= stsb_min_score
  double stsb_min_score = 4;      // of 5
  double wmt_weight = 0.5;        // WMT English reference A <-> reference B
  // Multilingual sources (0 leaves a source out). Tatoeba and NTREX pairs whose English side is
  // held out (IsHeldOutTranslation) are never used, not even for the tokenizer.
  double wmt_xl_weight = 0;      // WMT source <-> reference translation (all language pairs)
  double ntrex_weight = 0;       // NTREX-128: each language's sentence <-> the English one
  double tatoeba_weight = 0;     // Tatoeba X <-> English
  double stsb_xl_weight = 0;     // STS-B train: English sentence <-> its translation (10 langs)
  double stsb_multi_weight = 0;  // STS-B pairs >= stsb_min_score in the 10 translated languages,
                                 // KorSTS and JSTS (train splits)
  double cosent_weight = 0;      // scored STS pairs (CoSENT loss): STS-B train in 11 languages
                                 // (+ English <-> translated cross-lingual), KorSTS, JSTS
  // Per-language cap on non-English texts added to the tokenizer / IDF texts (a
  // language-balanced sample; English comes from the claim-matching sources).
  int texts_per_language = 0;
  // Cross-lingual pairs hold their English side fixed (TrainingPair::fixed_positive): the other
  // language learns to map onto English without moving the English geometry.
  bool fix_english = false;
  bool with_subtitle = false;  // claim database text includes the subtitle
  bool load_training = true;   // false: only the eval sets (for `evaluate`)
};

// Reads `data_dir` (holding claims-dev/ and train/). Fails with kNotFound naming a missing file.
absl::StatusOr<SharedData> LoadSharedData(absl::string_view data_dir,
                                          const SharedDataOptions& options);

// The held-out split of the cross-lingual evaluation sets (Tatoeba, NTREX-128): a translation
// pair is held out iff Fingerprint64("claimmatch-heldout-v1|" + its English sentence) % 10 < 3
// (about 30%). Training never sees a held-out pair; `claimmatch evaluate` reports on exactly
// these. Returns whether `english` is held out.
bool IsHeldOutTranslation(absl::string_view english);

// Sentence pairs with gold similarity scores.
struct ScoredPairs {
  std::vector<std::string> a, b;
  std::vector<double> score;
};
// Reads an stsb_multi_mt CSV (sentence1,sentence2,score; quoted fields allowed). Fails with
// kNotFound / kInternal naming the file; lines without a numeric score are skipped.
absl::StatusOr<ScoredPairs> ReadStsb(absl::string_view path);

// Returns the Spearman rank correlation of x and y (average ranks for ties; 0 if undefined).
double Spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace claimmatch::cli

#endif  // CLAIMMATCH_TOOLS_TRAINING_DATA_H_
