#include "tools/training_data.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"
#include "embeddings/text_clean.h"
#include "nlohmann/json.hpp"

namespace claimmatch::cli {
namespace {

using json = nlohmann::json;

absl::StatusOr<std::vector<std::string>> ReadLines(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (std::string& l : lines) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
  }
  return lines;
}

// id<TAB>text lines.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadQueries(
    absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& l : lines) {
    const size_t tab = l.find('\t');
    if (tab == std::string::npos) continue;
    out.emplace_back(l.substr(0, tab), l.substr(tab + 1));
  }
  return out;
}

// TREC qrels "qid 0 doc rel" -> qid -> docs with rel > 0.
absl::StatusOr<std::map<std::string, std::vector<std::string>>> ReadQrels(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& l : lines) {
    std::vector<std::string> f = absl::StrSplit(l, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    int rel = 0;
    if (f.size() < 4 || !absl::SimpleAtoi(f[3], &rel) || rel <= 0) continue;
    out[f[0]].push_back(f[2]);
  }
  return out;
}

// Builds the retrieval set of `queries_path` against `claims` (database texts `docs`).
absl::StatusOr<RetrievalEvalSet> MakeRetrievalSet(
    absl::string_view name, absl::string_view queries_path, absl::string_view qrels_path,
    const std::vector<FactCheck>& claims, const std::vector<std::string>& docs, bool clean) {
  CM_ASSIGN_OR_RETURN(auto queries, ReadQueries(queries_path));
  CM_ASSIGN_OR_RETURN(auto qrels, ReadQrels(qrels_path));
  std::unordered_map<std::string, int> by_id;
  for (size_t i = 0; i < claims.size(); ++i) by_id[claims[i].id] = static_cast<int>(i);
  RetrievalEvalSet set;
  set.name = std::string(name);
  set.corpus = docs;
  for (const auto& [qid, text] : queries) {
    auto it = qrels.find(qid);
    if (it == qrels.end()) continue;
    std::vector<int> rel;
    for (const std::string& d : it->second) {
      auto c = by_id.find(d);
      if (c != by_id.end()) rel.push_back(c->second);
    }
    if (rel.empty()) continue;
    set.queries.push_back(clean ? CleanSocialText(text) : text);
    set.relevant.push_back(std::move(rel));
  }
  return set;
}

// Splits one CSV line (double-quoted fields with "" escapes).
std::vector<std::string> SplitCsv(absl::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

// KorSTS TSV (genre, file, year, id, score, sentence1, sentence2) or JSTS JSON lines
// ({"sentence1", "sentence2", "label"}).
absl::StatusOr<ScoredPairs> ReadKorSts(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
  ScoredPairs out;
  for (const std::string& l : lines) {
    std::vector<std::string> f = absl::StrSplit(l, '\t');
    double score = 0;
    if (f.size() < 7 || !absl::SimpleAtod(f[4], &score)) continue;
    out.a.push_back(f[5]);
    out.b.push_back(f[6]);
    out.score.push_back(score);
  }
  return out;
}

absl::StatusOr<ScoredPairs> ReadJsts(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
  ScoredPairs out;
  for (const std::string& l : lines) {
    json j = json::parse(l, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("sentence1") ||
        !j.contains("sentence2") || !j.contains("label") || !j["sentence1"].is_string() ||
        !j["sentence2"].is_string() || !j["label"].is_number()) {
      continue;
    }
    out.a.push_back(j["sentence1"].get<std::string>());
    out.b.push_back(j["sentence2"].get<std::string>());
    out.score.push_back(j["label"].get<double>());
  }
  return out;
}

}  // namespace

bool IsHeldOutTranslation(absl::string_view english) {
  return Fingerprint64(absl::StrCat("claimmatch-heldout-v1|", english)) % 10 < 3;
}

std::string ClaimDocText(const FactCheck& c, bool with_subtitle) {
  std::string out = c.claim;
  if (!c.title.empty()) absl::StrAppend(&out, " ", c.title);
  if (with_subtitle && !c.subtitle.empty()) absl::StrAppend(&out, " ", c.subtitle);
  return out;
}

absl::StatusOr<std::vector<FactCheck>> ReadFactChecks(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
  std::vector<FactCheck> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    json j = json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("id") || !j["id"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", i + 1, ": not a JSON object with an \"id\""));
    }
    FactCheck c;
    c.id = j["id"].get<std::string>();
    auto field = [&](const char* key) {
      return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
    };
    c.claim = field("claim");
    c.title = field("title");
    c.subtitle = field("subtitle");
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::vector<TrainingPair>> ReadPairsFile(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
  std::vector<TrainingPair> out;
  const bool jsonl = absl::EndsWith(path, ".jsonl");
  for (size_t i = 0; i < lines.size(); ++i) {
    TrainingPair p;
    if (jsonl) {
      if (lines[i].empty()) continue;
      json j = json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":", i + 1, ": not a JSON object"));
      }
      auto field = [&](const char* key) {
        return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
      };
      p = {field("anchor"), field("positive"), field("negative")};
    } else {
      std::vector<std::string> f = absl::StrSplit(lines[i], '\t');
      if (f.size() < 2) continue;
      p = {f[0], f[1], f.size() > 2 ? f[2] : std::string()};
    }
    if (!p.anchor.empty() && !p.positive.empty()) out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<ScoredPairs> ReadStsb(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
  ScoredPairs out;
  for (const std::string& l : lines) {
    std::vector<std::string> f = SplitCsv(l);
    double score = 0;
    if (f.size() < 3 || !absl::SimpleAtod(f[2], &score)) continue;
    out.a.push_back(f[0]);
    out.b.push_back(f[1]);
    out.score.push_back(score);
  }
  return out;
}

double Spearman(const std::vector<double>& x, const std::vector<double>& y) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<int> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < order.size();) {
      size_t j = i;
      while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
      for (size_t k = i; k <= j; ++k) r[order[k]] = (i + j) / 2.0;
      i = j + 1;
    }
    return r;
  };
  const std::vector<double> rx = ranks(x), ry = ranks(y);
  const double n = static_cast<double>(x.size());
  if (n < 2) return 0;
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n;
  const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0;
}

absl::StatusOr<SharedData> LoadSharedData(absl::string_view data_dir,
                                          const SharedDataOptions& options) {
  SharedData out;
  const std::string dev = JoinPath(data_dir, "claims-dev");
  const std::string train = JoinPath(data_dir, "train");
  CM_ASSIGN_OR_RETURN(std::vector<FactCheck> snopes,
                      ReadFactChecks(JoinPath(dev, "snopes-claims.jsonl")));
  CM_ASSIGN_OR_RETURN(std::vector<FactCheck> politifact,
                      ReadFactChecks(JoinPath(dev, "politifact-claims.jsonl")));
  std::vector<std::string> snopes_docs, politifact_docs;
  for (const FactCheck& c : snopes) snopes_docs.push_back(ClaimDocText(c, options.with_subtitle));
  for (const FactCheck& c : politifact) {
    politifact_docs.push_back(ClaimDocText(c, options.with_subtitle));
  }
  for (const char* split : {"dev", "train"}) {
    CM_ASSIGN_OR_RETURN(RetrievalEvalSet tweets,
                        MakeRetrievalSet(absl::StrCat("tweets-", split),
                                         JoinPath(dev, absl::StrCat("tweets-", split, ".tsv")),
                                         JoinPath(dev, absl::StrCat("tweets-", split, ".qrels")),
                                         snopes, snopes_docs, /*clean=*/true));
    CM_ASSIGN_OR_RETURN(RetrievalEvalSet debates,
                        MakeRetrievalSet(absl::StrCat("debates-", split),
                                         JoinPath(dev, absl::StrCat("debates-", split, ".tsv")),
                                         JoinPath(dev, absl::StrCat("debates-", split, ".qrels")),
                                         politifact, politifact_docs, /*clean=*/false));
    auto& dst = std::string(split) == "dev" ? out.eval_sets : out.train_sets;
    dst.push_back(std::move(tweets));
    dst.push_back(std::move(debates));
  }
  if (!options.load_training) return out;

  // In-domain: train queries -> their gold claims.
  PairSource in_domain{
      "claims-train (tweets, debates -> gold claim)", {}, options.in_domain_weight};
  for (const RetrievalEvalSet& set : out.train_sets) {
    for (size_t q = 0; q < set.queries.size(); ++q) {
      for (int d : set.relevant[q]) in_domain.pairs.push_back({set.queries[q], set.corpus[d], ""});
      out.texts.push_back(set.queries[q]);
    }
  }
  out.sources.push_back(std::move(in_domain));

  // Every claim with its own title and subtitle.
  PairSource titles{"claim <-> title/subtitle", {}, options.claim_title_weight};
  for (const std::vector<FactCheck>* db : {&snopes, &politifact}) {
    for (const FactCheck& c : *db) {
      out.texts.push_back(ClaimDocText(c, true));
      if (c.claim.empty()) continue;
      if (!c.title.empty() && c.title != c.claim) titles.pairs.push_back({c.claim, c.title, ""});
      absl::string_view sub = c.subtitle;
      absl::ConsumePrefix(&sub, "Rumor: ");
      if (!sub.empty() && sub != c.claim) {
        titles.pairs.push_back({c.claim, std::string(sub), ""});
      }
    }
  }
  out.sources.push_back(std::move(titles));

  // Twitter URL corpus (train split): paraphrases, with a labelled non-paraphrase of the same
  // first sentence as the hard negative.
  {
    const std::string dir = JoinPath(train, "twitter_url_corpus/train");
    CM_ASSIGN_OR_RETURN(std::vector<std::string> a, ReadLines(JoinPath(dir, "a.toks")));
    CM_ASSIGN_OR_RETURN(std::vector<std::string> b, ReadLines(JoinPath(dir, "b.toks")));
    CM_ASSIGN_OR_RETURN(std::vector<std::string> sim, ReadLines(JoinPath(dir, "sim.txt")));
    const size_t n = std::min({a.size(), b.size(), sim.size()});
    std::unordered_map<std::string, std::vector<size_t>> negatives;
    for (size_t i = 0; i < n; ++i) {
      if (sim[i] == "0") negatives[a[i]].push_back(i);
    }
    PairSource twitter{"Twitter URL corpus", {}, options.twitter_weight};
    std::unordered_map<std::string, size_t> used;
    for (size_t i = 0; i < n; ++i) {
      if (sim[i] != "1") continue;
      std::string neg;
      auto it = negatives.find(a[i]);
      if (it != negatives.end()) neg = b[it->second[used[a[i]]++ % it->second.size()]];
      twitter.pairs.push_back({a[i], b[i], neg});
    }
    for (size_t i = 0; i < n; ++i) out.texts.push_back(b[i]);
    out.sources.push_back(std::move(twitter));
  }

  // STS-B English train pairs scored >= stsb_min_score (of 5).
  {
    CM_ASSIGN_OR_RETURN(ScoredPairs sts,
                        ReadStsb(JoinPath(train, "stsb_multi_mt/data/stsb-en-train.csv")));
    PairSource stsb{absl::StrCat("STS-B en train (score >= ", options.stsb_min_score, ")"),
                    {},
                    options.stsb_weight};
    for (size_t i = 0; i < sts.a.size(); ++i) {
      out.texts.push_back(sts.a[i]);
      if (sts.score[i] >= options.stsb_min_score) stsb.pairs.push_back({sts.a[i], sts.b[i], ""});
    }
    out.sources.push_back(std::move(stsb));
  }

  // WMT: two independent English references of the same source sentence.
  {
    PairSource wmt{"WMT21-23 English reference pairs", {}, options.wmt_weight};
    for (const char* year : {"wmt21-general-mt", "wmt22-general-mt", "wmt23-general-mt"}) {
      const std::string dir = JoinPath(train, absl::StrCat(year, "/txt/references"));
      if (!PathExists(dir)) continue;
      std::map<std::string, std::vector<std::string>> groups;  // "<test>.<xx>-en" -> ref files
      for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        const size_t ref = name.find(".ref.");
        if (ref == std::string::npos || !absl::EndsWith(name, ".en") ||
            !absl::EndsWith(name.substr(0, ref), "-en")) {
          continue;
        }
        groups[name.substr(0, ref)].push_back(e.path().string());
      }
      for (auto& [group, files] : groups) {
        std::sort(files.begin(), files.end());
        if (files.size() < 2) continue;
        CM_ASSIGN_OR_RETURN(std::vector<std::string> r0, ReadLines(files[0]));
        CM_ASSIGN_OR_RETURN(std::vector<std::string> r1, ReadLines(files[1]));
        for (size_t i = 0; i < std::min(r0.size(), r1.size()); ++i) {
          if (r0[i].size() > 400 || r1[i].size() > 400) continue;  // paragraph-level segments
          wmt.pairs.push_back({r0[i], r1[i], ""});
          out.texts.push_back(r0[i]);
        }
      }
    }
    out.sources.push_back(std::move(wmt));
  }

  // Multilingual sources; their non-English texts go to per-language buckets, sampled into the
  // tokenizer texts at the end.
  std::map<std::string, std::vector<std::string>> lang_texts;
  auto add_text = [&](const std::string& lang, const std::string& text) {
    if (lang != "en" && lang != "eng" && !text.empty()) lang_texts[lang].push_back(text);
  };
  if (options.wmt_xl_weight > 0) {
    PairSource wmt{"WMT21-23 source <-> reference translation", {}, options.wmt_xl_weight};
    for (const char* year : {"wmt21-general-mt", "wmt22-general-mt", "wmt23-general-mt"}) {
      const std::string src_dir = JoinPath(train, absl::StrCat(year, "/txt/sources"));
      const std::string ref_dir = JoinPath(train, absl::StrCat(year, "/txt/references"));
      if (!PathExists(src_dir) || !PathExists(ref_dir)) continue;
      std::vector<std::string> src_files, ref_files;
      for (const auto& e : std::filesystem::directory_iterator(src_dir)) {
        src_files.push_back(e.path().filename().string());
      }
      for (const auto& e : std::filesystem::directory_iterator(ref_dir)) {
        ref_files.push_back(e.path().filename().string());
      }
      std::sort(src_files.begin(), src_files.end());
      std::sort(ref_files.begin(), ref_files.end());
      for (const std::string& name : src_files) {
        // <test>.<a>-<b>.src.<a>  with references <test>.<a>-<b>.ref.<X>.<b>
        const size_t src = name.find(".src.");
        if (src == std::string::npos) continue;
        const std::string stem = name.substr(0, src);
        const size_t dash = stem.rfind('-'), dot = stem.rfind('.', dash);
        if (dash == std::string::npos || dot == std::string::npos) continue;
        const std::string la = stem.substr(dot + 1, dash - dot - 1), lb = stem.substr(dash + 1);
        CM_ASSIGN_OR_RETURN(std::vector<std::string> s0, ReadLines(JoinPath(src_dir, name)));
        for (const std::string& ref : ref_files) {
          if (!absl::StartsWith(ref, stem + ".ref.") || !absl::EndsWith(ref, "." + lb)) continue;
          CM_ASSIGN_OR_RETURN(std::vector<std::string> r, ReadLines(JoinPath(ref_dir, ref)));
          for (size_t i = 0; i < std::min(s0.size(), r.size()); ++i) {
            if (s0[i].empty() || r[i].empty() || s0[i].size() > 400 || r[i].size() > 400) {
              continue;
            }
            // English (if either side is) as the positive.
            if (la == "en") {
              wmt.pairs.push_back({r[i], s0[i], "", 0, options.fix_english});
            } else {
              wmt.pairs.push_back({s0[i], r[i], "", 0, options.fix_english && lb == "en"});
            }
            add_text(la, s0[i]);
            add_text(lb, r[i]);
          }
        }
      }
    }
    out.sources.push_back(std::move(wmt));
  }
  if (options.ntrex_weight > 0) {
    const std::string dir = JoinPath(train, "ntrex128/NTREX-128");
    CM_ASSIGN_OR_RETURN(std::vector<std::string> eng,
                        ReadLines(JoinPath(dir, "newstest2019-src.eng.txt")));
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      files.push_back(e.path().filename().string());
    }
    std::sort(files.begin(), files.end());
    PairSource ntrex{"NTREX-128 X <-> English (held-out lines excluded)", {}, options.ntrex_weight};
    for (const std::string& name : files) {
      if (!absl::StartsWith(name, "newstest2019-ref") || !absl::EndsWith(name, ".txt")) continue;
      const size_t dot = name.find('.');
      const std::string lang = name.substr(dot + 1, name.size() - dot - 1 - 4);
      if (lang == "eng" || absl::StartsWith(lang, "eng-")) continue;
      CM_ASSIGN_OR_RETURN(std::vector<std::string> x, ReadLines(JoinPath(dir, name)));
      if (x.size() != eng.size()) continue;
      for (size_t i = 0; i < x.size(); ++i) {
        if (x[i].empty() || eng[i].empty() || IsHeldOutTranslation(eng[i])) continue;
        ntrex.pairs.push_back({x[i], eng[i], "", 0, options.fix_english});
        add_text(lang, x[i]);
      }
    }
    out.sources.push_back(std::move(ntrex));
  }
  if (options.tatoeba_weight > 0) {
    const std::string dir = JoinPath(train, "laser_tatoeba");
    std::vector<std::string> langs;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (absl::StartsWith(name, "tatoeba.") && absl::EndsWith(name, "-eng.eng")) {
        langs.push_back(name.substr(8, name.size() - 8 - 8));
      }
    }
    std::sort(langs.begin(), langs.end());
    PairSource tatoeba{
        "Tatoeba X <-> English (held-out pairs excluded)", {}, options.tatoeba_weight};
    for (const std::string& lang : langs) {
      const std::string base = JoinPath(dir, absl::StrCat("tatoeba.", lang, "-eng."));
      CM_ASSIGN_OR_RETURN(std::vector<std::string> x, ReadLines(base + lang));
      CM_ASSIGN_OR_RETURN(std::vector<std::string> eng, ReadLines(base + "eng"));
      if (x.size() != eng.size()) continue;
      for (size_t i = 0; i < x.size(); ++i) {
        if (x[i].empty() || eng[i].empty() || IsHeldOutTranslation(eng[i])) continue;
        tatoeba.pairs.push_back({x[i], eng[i], "", 0, options.fix_english});
        add_text(lang, x[i]);
      }
    }
    out.sources.push_back(std::move(tatoeba));
  }
  if (options.stsb_xl_weight > 0 || options.stsb_multi_weight > 0 || options.cosent_weight > 0) {
    const std::string dir = JoinPath(train, "stsb_multi_mt/data");
    CM_ASSIGN_OR_RETURN(ScoredPairs en, ReadStsb(JoinPath(dir, "stsb-en-train.csv")));
    PairSource xl{"STS-B train English <-> translation", {}, options.stsb_xl_weight};
    PairSource multi{absl::StrCat("STS-B/KorSTS/JSTS train, other languages (score >= ",
                                  options.stsb_min_score, ")"),
                     {},
                     options.stsb_multi_weight};
    PairSource cosent{"STS train scored pairs (CoSENT)", {}, options.cosent_weight, true};
    for (size_t i = 0; i < en.a.size(); ++i) {
      cosent.pairs.push_back({en.a[i], en.b[i], "", static_cast<float>(en.score[i])});
    }
    for (const char* lang : {"de", "es", "fr", "it", "nl", "pl", "pt", "ru", "zh", "ja"}) {
      CM_ASSIGN_OR_RETURN(ScoredPairs x,
                          ReadStsb(JoinPath(dir, absl::StrCat("stsb-", lang, "-train.csv"))));
      const bool aligned = x.a.size() == en.a.size();
      for (size_t i = 0; i < x.a.size(); ++i) {
        add_text(lang, x.a[i]);
        add_text(lang, x.b[i]);
        const float score = static_cast<float>(x.score[i]);
        cosent.pairs.push_back({x.a[i], x.b[i], "", score});
        if (x.score[i] >= options.stsb_min_score) multi.pairs.push_back({x.a[i], x.b[i], ""});
        if (!aligned) continue;
        xl.pairs.push_back({x.a[i], en.a[i], "", 0, options.fix_english});
        xl.pairs.push_back({x.b[i], en.b[i], "", 0, options.fix_english});
        // Cross-lingual scored pairs: one side English, the other translated.
        cosent.pairs.push_back({en.a[i], x.b[i], "", score});
        cosent.pairs.push_back({x.a[i], en.b[i], "", score});
      }
    }
    std::vector<std::pair<std::string, ScoredPairs>> others;
    {
      CM_ASSIGN_OR_RETURN(ScoredPairs ko,
                          ReadKorSts(JoinPath(train, "korsts_kornli/KorSTS/sts-train.tsv")));
      others.emplace_back("ko", std::move(ko));
      CM_ASSIGN_OR_RETURN(
          ScoredPairs ja,
          ReadJsts(JoinPath(train, "jglue_jsts_jnli/datasets/jsts-v1.3/train-v1.3.json")));
      others.emplace_back("ja", std::move(ja));
    }
    for (const auto& [lang, x] : others) {
      for (size_t i = 0; i < x.a.size(); ++i) {
        add_text(lang, x.a[i]);
        add_text(lang, x.b[i]);
        cosent.pairs.push_back({x.a[i], x.b[i], "", static_cast<float>(x.score[i])});
        if (x.score[i] >= options.stsb_min_score) multi.pairs.push_back({x.a[i], x.b[i], ""});
      }
    }
    if (options.stsb_xl_weight > 0) out.sources.push_back(std::move(xl));
    if (options.stsb_multi_weight > 0) out.sources.push_back(std::move(multi));
    if (options.cosent_weight > 0) out.sources.push_back(std::move(cosent));
  }
  // A language-balanced sample of the non-English texts: up to texts_per_language distinct texts
  // per language, evenly spaced over the language's texts.
  if (options.texts_per_language > 0) {
    for (auto& [lang, texts] : lang_texts) {
      std::sort(texts.begin(), texts.end());
      texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
      const size_t n = texts.size(), cap = static_cast<size_t>(options.texts_per_language);
      for (size_t k = 0; k < std::min(n, cap); ++k)
        out.texts.push_back(texts[k * n / std::min(n, cap)]);
    }
  }

  // LIAR statements: PolitiFact-domain text for the vocabulary and IDF only.
  for (const char* split : {"train.tsv", "valid.tsv", "test.tsv"}) {
    absl::StatusOr<std::vector<std::string>> lines =
        ReadLines(JoinPath(train, absl::StrCat("liar_claims/", split)));
    if (!lines.ok()) continue;
    for (const std::string& l : *lines) {
      std::vector<absl::string_view> f = absl::StrSplit(l, '\t');
      if (f.size() > 2) out.texts.emplace_back(f[2]);
    }
  }
  return out;
}

}  // namespace claimmatch::cli
