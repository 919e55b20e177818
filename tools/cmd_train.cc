// `claimmatch train`: trains a static embedding model (tokenizer, then embeddings) and writes it
// as a model directory; `claimmatch evaluate`: dense-retrieval metrics of any model directory on
// claims-dev (and STS-B).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "embeddings/file_util.h"
#include "embeddings/sentence_encoder.h"
#include "embeddings/static_trainer.h"
#include "embeddings/status_macros.h"
#include "tools/commands.h"
#include "tools/training_data.h"

namespace claimmatch::cli {
namespace {

// Sets each in-domain pair's hard negative to the best-scoring claim that is not gold for its
// query, under the trainer's current (initial) model.
void MineNegatives(const StaticTrainer& trainer, const std::vector<RetrievalEvalSet>& sets,
                   PairSource& in_domain) {
  size_t next = 0;
  for (const RetrievalEvalSet& set : sets) {
    const EmbeddingMatrix q = trainer.Encode(set.queries);
    const EmbeddingMatrix d = trainer.Encode(set.corpus);
    const EmbeddingMatrix scores = q * d.transpose();
    for (size_t i = 0; i < set.queries.size(); ++i) {
      int best = -1;
      for (int j = 0; j < scores.cols(); ++j) {
        bool gold = false;
        for (int r : set.relevant[i]) gold = gold || r == j || set.corpus[r] == set.corpus[j];
        if (!gold && (best < 0 || scores(i, j) > scores(i, best))) best = j;
      }
      for (size_t k = 0; k < set.relevant[i].size() && next < in_domain.pairs.size(); ++k) {
        if (best >= 0) in_domain.pairs[next].negative = set.corpus[best];
        ++next;
      }
    }
  }
}

absl::Status ParsePairsList(const std::string& list, std::vector<PairSource>* out) {
  if (list.empty()) return absl::OkStatus();
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    std::string path(item);
    double weight = 1;
    const size_t colon = path.rfind(':');
    if (colon != std::string::npos &&
        absl::SimpleAtod(absl::string_view(path).substr(colon + 1), &weight)) {
      path = path.substr(0, colon);
    }
    CM_ASSIGN_OR_RETURN(std::vector<TrainingPair> pairs, ReadPairsFile(path));
    out->push_back({path, std::move(pairs), weight});
  }
  return absl::OkStatus();
}

absl::Status RunTrainImpl(const ArgParser& p) {
  StaticTrainerOptions o;
  int vocab_size = 0;
  CM_RETURN_IF_ERROR(p.GetInt("dim", &o.dim));
  CM_RETURN_IF_ERROR(p.GetInt("vocab-size", &vocab_size));
  CM_RETURN_IF_ERROR(p.GetInt("epochs", &o.epochs));
  CM_RETURN_IF_ERROR(p.GetInt("batch-size", &o.batch_size));
  CM_RETURN_IF_ERROR(p.GetInt("threads", &o.threads));
  CM_RETURN_IF_ERROR(p.GetInt("max-tokens", &o.max_tokens));
  CM_RETURN_IF_ERROR(p.GetInt("eval-every", &o.eval_every_steps));
  CM_RETURN_IF_ERROR(p.GetInt("log-every", &o.log_every_steps));
  CM_RETURN_IF_ERROR(p.GetInt("checkpoint-every", &o.checkpoint_every_steps));
  CM_RETURN_IF_ERROR(p.GetDouble("lr", &o.learning_rate));
  CM_RETURN_IF_ERROR(p.GetDouble("weight-lr", &o.weight_learning_rate));
  CM_RETURN_IF_ERROR(p.GetDouble("scale", &o.scale));
  int seed = 0;
  CM_RETURN_IF_ERROR(p.GetInt("seed", &seed));
  o.seed = static_cast<uint64_t>(seed);
  o.keep_best = p.GetFlag("keep-best");
  const std::string out_dir = p.Get("out");
  if (out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  o.checkpoint_dir = p.IsSet("checkpoint-dir") ? p.Get("checkpoint-dir") : out_dir + ".checkpoint";

  // Data.
  SharedData data;
  const std::string data_dir = p.Get("data");
  if (!data_dir.empty()) {
    SharedDataOptions so;
    CM_RETURN_IF_ERROR(p.GetDouble("in-domain-weight", &so.in_domain_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("title-weight", &so.claim_title_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("twitter-weight", &so.twitter_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("stsb-weight", &so.stsb_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("stsb-min-score", &so.stsb_min_score));
    CM_RETURN_IF_ERROR(p.GetDouble("wmt-weight", &so.wmt_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("wmt-xl-weight", &so.wmt_xl_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("ntrex-weight", &so.ntrex_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("tatoeba-weight", &so.tatoeba_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("stsb-xl-weight", &so.stsb_xl_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("stsb-multi-weight", &so.stsb_multi_weight));
    CM_RETURN_IF_ERROR(p.GetDouble("cosent-weight", &so.cosent_weight));
    CM_RETURN_IF_ERROR(p.GetInt("texts-per-language", &so.texts_per_language));
    so.with_subtitle = p.GetFlag("subtitle");
    so.fix_english = p.GetFlag("fix-english");
    so.load_training = p.Get("preset") == "shared";
    CM_ASSIGN_OR_RETURN(data, LoadSharedData(data_dir, so));
  }
  CM_RETURN_IF_ERROR(ParsePairsList(p.Get("pairs"), &data.sources));
  for (const PairSource& s : data.sources) {
    for (const TrainingPair& pair : s.pairs) {
      if (data_dir.empty() || p.Get("preset") != "shared") {
        data.texts.push_back(pair.anchor);
        data.texts.push_back(pair.positive);
      }
    }
    std::fprintf(stderr, "source %-45s %7zu pairs  weight %g\n", s.name.c_str(), s.pairs.size(),
                 s.weight);
  }
  if (data.sources.empty()) {
    return absl::InvalidArgumentError(
        "no training pairs: give --pairs and/or --data --preset shared");
  }

  std::unique_ptr<StaticTrainer> trainer;
  if (p.GetFlag("resume") && p.GetFlag("mine-negatives")) {
    // The negatives would be mined with the resumed model, not the initial one.
    return absl::InvalidArgumentError("--mine-negatives cannot be combined with --resume");
  }
  if (p.GetFlag("resume")) {
    CM_ASSIGN_OR_RETURN(trainer, StaticTrainer::Resume(o));
    std::fprintf(stderr, "resumed from %s at step %lld\n", o.checkpoint_dir.c_str(),
                 static_cast<long long>(trainer->step()));
  } else {
    std::unique_ptr<Tokenizer> tokenizer;
    if (p.IsSet("tokenizer")) {
      CM_ASSIGN_OR_RETURN(tokenizer, Tokenizer::Load(p.Get("tokenizer")));
    } else {
      std::fprintf(stderr, "training a %d-piece sentencepiece model on %zu texts\n", vocab_size,
                   data.texts.size());
      CM_ASSIGN_OR_RETURN(tokenizer, TrainTokenizer(data.texts, vocab_size, p.GetFlag("lowercase"),
                                                    o.threads, o.checkpoint_dir + "/spm"));
    }
    CM_ASSIGN_OR_RETURN(trainer, StaticTrainer::Create(o, std::move(tokenizer), data.texts));
  }
  if (p.GetFlag("mine-negatives") && !data.train_sets.empty() && !data.sources.empty() &&
      p.Get("preset") == "shared") {
    MineNegatives(*trainer, data.train_sets, data.sources[0]);
  }
  CM_RETURN_IF_ERROR(trainer->Train(data.sources, data.eval_sets, stderr));
  double whiten = 0;
  int whiten_texts = 0;
  CM_RETURN_IF_ERROR(p.GetDouble("whiten", &whiten));
  CM_RETURN_IF_ERROR(p.GetInt("whiten-texts", &whiten_texts));
  if (whiten > 0 || p.GetFlag("remove-mean")) {
    // The sample: every k-th training text (the language-balanced tokenizer texts under the
    // shared preset), so the map is a pure function of the data.
    std::vector<std::string> sample;
    const size_t n = data.texts.size();
    const size_t stride = whiten_texts > 0 && n > static_cast<size_t>(whiten_texts)
                              ? (n + whiten_texts - 1) / whiten_texts
                              : 1;
    for (size_t i = 0; i < n; i += stride) sample.push_back(data.texts[i]);
    CM_ASSIGN_OR_RETURN(Eigen::MatrixXf map, PartialWhitening(trainer->EncodeSaved(sample), whiten,
                                                              p.GetFlag("remove-mean")));
    CM_RETURN_IF_ERROR(trainer->SetOutputTransform(map));
    std::fprintf(stderr, "whitening (alpha %g%s) estimated on %zu texts\n", whiten,
                 p.GetFlag("remove-mean") ? ", mean direction removed" : "", sample.size());
  }
  StaticModelSaveOptions so;
  so.fp16 = p.GetFlag("fp16");
  so.metadata = {{"trainer", "claimmatch train"}, {"seed", absl::StrCat(seed)}};
  if (whiten > 0 || p.GetFlag("remove-mean")) {
    so.metadata["whitening"] =
        absl::StrCat("alpha ", whiten, p.GetFlag("remove-mean") ? ", mean removed" : "");
  }
  CM_RETURN_IF_ERROR(trainer->Save(out_dir, so));
  std::fprintf(stderr, "wrote %s\n", out_dir.c_str());
  return absl::OkStatus();
}

absl::Status RunEvaluateImpl(const ArgParser& p) {
  EncoderOptions eo;
  CM_RETURN_IF_ERROR(p.GetInt("threads", &eo.threads));
  const std::string model = p.IsSet("model") ? p.Get("model") : DefaultModelDir();
  CM_ASSIGN_OR_RETURN(std::unique_ptr<SentenceEncoder> enc, LoadSentenceEncoder(model, eo));
  SharedDataOptions so;
  so.load_training = false;
  so.with_subtitle = p.GetFlag("subtitle");
  CM_ASSIGN_OR_RETURN(SharedData data, LoadSharedData(p.Get("data"), so));
  std::printf("model %s (%s, dim %d)\n", model.c_str(), enc->info().model_type.c_str(), enc->dim());
  std::printf("%-14s %8s %8s %8s %8s %8s\n", "set", "queries", "MAP@1", "MAP@5", "MRR", "R@5");
  for (const RetrievalEvalSet& set : data.eval_sets) {
    CM_ASSIGN_OR_RETURN(EmbeddingMatrix q, enc->Encode(set.queries, TextRole::kQuery));
    CM_ASSIGN_OR_RETURN(EmbeddingMatrix d, enc->Encode(set.corpus, TextRole::kDocument));
    CM_ASSIGN_OR_RETURN(RetrievalMetrics m, EvaluateRetrieval(q, d, set.relevant));
    std::printf("%-14s %8d %8.4f %8.4f %8.4f %8.4f\n", set.name.c_str(), m.queries, m.map_at_1,
                m.map_at_5, m.mrr, m.recall_at_5);
  }
  // STS-B: English dev and test, and the test split of the 10 machine-translated languages.
  std::vector<std::pair<std::string, std::string>> sts_sets = {{"en", "dev"}, {"en", "test"}};
  for (const char* lang : {"de", "es", "fr", "it", "nl", "pl", "pt", "ru", "zh", "ja"}) {
    sts_sets.push_back({lang, "test"});
  }
  double sts_sum = 0;
  int sts_n = 0;
  for (const auto& [lang, split] : sts_sets) {
    const std::string path = JoinPath(
        p.Get("data"), absl::StrCat("train/stsb_multi_mt/data/stsb-", lang, "-", split, ".csv"));
    if (!PathExists(path)) continue;
    CM_ASSIGN_OR_RETURN(ScoredPairs sts, ReadStsb(path));
    CM_ASSIGN_OR_RETURN(EmbeddingMatrix a, enc->Encode(sts.a));
    CM_ASSIGN_OR_RETURN(EmbeddingMatrix b, enc->Encode(sts.b));
    std::vector<double> cos(sts.a.size());
    for (size_t i = 0; i < cos.size(); ++i) cos[i] = a.row(i).dot(b.row(i));
    const double rho = Spearman(cos, sts.score);
    std::printf("STS-B %-2s %-5s %8zu  Spearman %.4f\n", lang.c_str(), split.c_str(), cos.size(),
                rho);
    if (lang != "en") {
      sts_sum += rho;
      ++sts_n;
    }
  }
  if (sts_n > 0) std::printf("STS-B mean of %d other languages %.4f\n", sts_n, sts_sum / sts_n);
  // Cross-lingual retrieval on the held-out split (IsHeldOutTranslation: about 30% of the pairs,
  // chosen by a hash of the English sentence; never trained on): for each sentence in language X,
  // is its translation the nearest of the held-out English sentences? Tatoeba (X-eng pairs) and
  // NTREX-128 (news).
  auto accuracy = [&](const std::vector<std::string>& x,
                      const std::vector<std::string>& eng) -> absl::StatusOr<double> {
    CM_ASSIGN_OR_RETURN(EmbeddingMatrix a, enc->Encode(x));
    CM_ASSIGN_OR_RETURN(EmbeddingMatrix b, enc->Encode(eng));
    const EmbeddingMatrix sim = a * b.transpose();
    int right = 0;
    for (Eigen::Index i = 0; i < sim.rows(); ++i) {
      Eigen::Index best = 0;
      sim.row(i).maxCoeff(&best);
      right += best == i ? 1 : 0;
    }
    return sim.rows() > 0 ? static_cast<double>(right) / sim.rows() : 0.0;
  };
  auto lines = [](const std::string& path) {
    std::vector<std::string> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  double tatoeba_sum = 0, ntrex_sum = 0;
  int tatoeba_n = 0, ntrex_n = 0;
  for (const char* lang : {"deu", "fra", "spa", "por", "ita", "nld", "rus", "pol", "tur", "ara",
                           "heb", "hin", "cmn", "jpn", "kor", "vie", "ind"}) {
    const std::string base =
        JoinPath(p.Get("data"), absl::StrCat("train/laser_tatoeba/tatoeba.", lang, "-eng."));
    const std::vector<std::string> all_x = lines(base + lang), all_eng = lines(base + "eng");
    if (all_x.empty() || all_x.size() != all_eng.size()) continue;
    std::vector<std::string> x, eng;
    for (size_t i = 0; i < all_x.size(); ++i) {
      if (!IsHeldOutTranslation(all_eng[i])) continue;
      x.push_back(all_x[i]);
      eng.push_back(all_eng[i]);
    }
    CM_ASSIGN_OR_RETURN(double acc, accuracy(x, eng));
    std::printf("Tatoeba %s->eng %6zu  accuracy@1 %.4f\n", lang, x.size(), acc);
    tatoeba_sum += acc;
    ++tatoeba_n;
  }
  const std::string ntrex = JoinPath(p.Get("data"), "train/ntrex128/NTREX-128/");
  const std::vector<std::string> all_ntrex_eng = lines(ntrex + "newstest2019-src.eng.txt");
  std::vector<size_t> held_out;  // line numbers
  std::vector<std::string> ntrex_eng;
  for (size_t i = 0; i < all_ntrex_eng.size(); ++i) {
    if (!IsHeldOutTranslation(all_ntrex_eng[i])) continue;
    held_out.push_back(i);
    ntrex_eng.push_back(all_ntrex_eng[i]);
  }
  for (const char* lang : {"deu", "fra", "spa", "por", "rus", "arb", "hin", "zho-CN"}) {
    const std::vector<std::string> all_x =
        lines(absl::StrCat(ntrex, "newstest2019-ref.", lang, ".txt"));
    if (all_x.empty() || all_x.size() != all_ntrex_eng.size()) continue;
    std::vector<std::string> x;
    for (size_t i : held_out) x.push_back(all_x[i]);
    CM_ASSIGN_OR_RETURN(double acc, accuracy(x, ntrex_eng));
    std::printf("NTREX %s->eng %6zu  accuracy@1 %.4f\n", lang, x.size(), acc);
    ntrex_sum += acc;
    ++ntrex_n;
  }
  if (tatoeba_n > 0)
    std::printf("Tatoeba mean (%d languages) %.4f\n", tatoeba_n, tatoeba_sum / tatoeba_n);
  if (ntrex_n > 0) std::printf("NTREX mean (%d languages) %.4f\n", ntrex_n, ntrex_sum / ntrex_n);
  return absl::OkStatus();
}

}  // namespace

int RunTrain(const Args& args) {
  if (!args.empty() && args[0] == "reranker") {
    return RunTrainReranker(Args(args.begin() + 1, args.end()));
  }
  ArgParser p("train",
              "claimmatch train --out DIR [--data DIR --preset shared] [--pairs FILE[:W],...]",
              "Trains a static sentence-embedding model (claimmatch-static): a sentencepiece\n"
              "tokenizer, then one vector per token with a symmetric multiple-negatives ranking\n"
              "loss over sentence pairs. Progress (loss, pairs/s, held-out MAP) goes to stderr;\n"
              "checkpoints go to --checkpoint-dir after each epoch. Same seed, same data: same\n"
              "model. Pair files are TSV (anchor<TAB>positive[<TAB>hard negative]) or .jsonl\n"
              "({\"anchor\", \"positive\"[, \"negative\"]}).");
  p.Option("out", "model directory to write")
      .Option("data", "shared data directory (claims-dev/ and train/): dev sets for evaluation")
      .Option("preset", "'shared': train on the pairs built from --data (see MODEL_CARD.md)", "")
      .Option("pairs", "comma-separated pair files, each optionally FILE:WEIGHT")
      .Option("tokenizer", "reuse this sentencepiece model instead of training one")
      .Option("vocab-size", "sentencepiece pieces", "32000")
      .Flag("lowercase", "case-folding tokenizer normalisation (nmt_nfkc_cf)")
      .Option("dim", "embedding dimension", "256")
      .Option("epochs", "passes over the (weighted) pairs", "1")
      .Option("batch-size", "pairs per step (in-batch negatives)", "256")
      .Option("lr", "Adam learning rate of the token vectors", "0.003")
      .Option("weight-lr", "Adam learning rate of the per-token weights (0 freezes)", "0.01")
      .Option("scale", "cosine scale of the loss (1 / temperature)", "20")
      .Option("max-tokens", "tokens per text", "128")
      .Option("seed", "random seed", "42")
      .Option("threads", "threads (tokenizer training, evaluation)", "1")
      .Option("in-domain-weight", "preset shared: copies of tweets/debates-train pairs", "8")
      .Option("title-weight", "preset shared: weight of claim <-> title pairs", "1")
      .Option("twitter-weight", "preset shared: weight of Twitter URL corpus pairs", "1")
      .Option("stsb-weight", "preset shared: weight of STS-B pairs", "1")
      .Option("stsb-min-score", "preset shared: lowest STS-B score (0-5) used as a pair", "4")
      .Option("wmt-weight", "preset shared: weight of WMT reference pairs", "0.5")
      .Option("wmt-xl-weight", "preset shared: WMT source <-> reference translations", "0")
      .Option("ntrex-weight", "preset shared: NTREX-128 X <-> English (minus held-out)", "0")
      .Option("tatoeba-weight", "preset shared: Tatoeba X <-> English (minus held-out)", "0")
      .Option("stsb-xl-weight", "preset shared: STS-B train English <-> its translations", "0")
      .Option("stsb-multi-weight",
              "preset shared: STS pairs >= --stsb-min-score in other languages", "0")
      .Option("cosent-weight", "preset shared: scored STS train pairs, CoSENT loss", "0")
      .Option("texts-per-language",
              "preset shared: non-English tokenizer/IDF texts per language (0: none)", "0")
      .Flag("subtitle", "claim database text includes the subtitle")
      .Flag("fix-english",
            "preset shared: cross-lingual pairs move only the non-English side (English fixed)")
      .Flag("mine-negatives",
            "preset shared: hard negatives for in-domain pairs (best wrong claim)")
      .Option("eval-every", "evaluate every N steps (0: each epoch)", "0")
      .Option("log-every", "progress line every N steps", "50")
      .Flag("keep-best", "keep the parameters with the best mean dev MAP@5")
      .Option("checkpoint-dir", "checkpoints (default: OUT.checkpoint)")
      .Option("checkpoint-every", "checkpoint every N steps (0: each epoch)", "0")
      .Flag("resume", "continue from the checkpoint")
      .Flag("fp16", "store the weights as F16")
      .Option("whiten",
              "after training, scale principal directions by eigenvalue^(-ALPHA/2) (0: off, 1: "
              "full whitening)",
              "0")
      .Flag("remove-mean", "after training, project out the mean sentence direction")
      .Option("whiten-texts", "training texts sampled to estimate the whitening", "100000")
      .Example(
          "claimmatch train --out models/default --data ../shared/data --preset shared "
          "--lowercase --fp16 --keep-best --mine-negatives")
      .Example("claimmatch train --out /tmp/m --pairs pairs.tsv:2,more.tsv --vocab-size 8000");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  if (absl::Status s = RunTrainImpl(p); !s.ok()) return Fail(s);
  return kExitOk;
}

int RunEvaluate(const Args& args) {
  ArgParser p("evaluate", "claimmatch evaluate --data DIR [--model DIR]",
              "Dense retrieval quality of a model on claims-dev: cosine ranking of all claims\n"
              "for each tweets-dev (vs Snopes) and debates-dev (vs PolitiFact) query; prints\n"
              "MAP@1, MAP@5, MRR, R@5; STS-B Spearman (en dev/test, 10 translated test sets);\n"
              "cross-lingual accuracy@1 (Tatoeba, NTREX-128) on the held-out split only.");
  p.Option("model", "model directory (default: the bundled model)")
      .Option("data", "shared data directory (claims-dev/ and train/)")
      .Option("threads", "encoder threads", "1")
      .Flag("subtitle", "claim database text includes the subtitle")
      .Example("claimmatch evaluate --data ../shared/data --model models/default");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  if (absl::Status s = RunEvaluateImpl(p); !s.ok()) return Fail(s);
  return kExitOk;
}

}  // namespace claimmatch::cli
