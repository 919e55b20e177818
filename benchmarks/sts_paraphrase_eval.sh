#!/usr/bin/env bash
# Same-language paraphrase retrieval in Chinese, Japanese, Korean and English (the control): the
# dev splits of STS-B's machine translations (stsb_multi_mt zh, ja, en) and of KorSTS. Each split's
# distinct second sentences become claims; each pair scored >= 4 (of 5) whose sentences differ is
# a query (the first sentence) with the second as its gold claim. Prints MAP@5 and R@5 per
# (binary, language, mode): compare binaries in one run (e.g. a build of main first).
# A proxy for claim matching in those languages (no CheckThat! data exists there); the default
# model was trained on the train splits of these sets, never on their dev splits.
#
# Usage: benchmarks/sts_paraphrase_eval.sh [CLAIMMATCH_BINARY...]   (default: build/tools/claimmatch)
# Environment: CLAIMMATCH_SHARED   the shared data directory (default ../shared, else /work/shared)
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/script_setup.sh "$@"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$shared/data/train" "$work" <<'PY'
import csv, json, sys
root, out = sys.argv[1], sys.argv[2]
def stsb(lang):
    with open(f"{root}/stsb_multi_mt/data/stsb-{lang}-dev.csv", encoding="utf-8") as f:
        return [(r[0], r[1], float(r[2])) for r in csv.reader(f) if len(r) >= 3]
def korsts():
    rows = []
    with open(f"{root}/korsts_kornli/KorSTS/sts-dev.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 7:
                rows.append((p[5], p[6], float(p[4])))
    return rows
for name, rows in (("zh", stsb("zh")), ("ja", stsb("ja")), ("ko", korsts()), ("en", stsb("en"))):
    claims = {}
    for _, s2, _ in rows:
        claims.setdefault(s2, f"{name}-c{len(claims)}")
    with open(f"{out}/{name}-claims.jsonl", "w", encoding="utf-8") as f:
        for text, cid in claims.items():
            f.write(json.dumps({"id": cid, "claim": text, "verdict": "false",
                                "url": f"https://example.org/{cid}"}, ensure_ascii=False) + "\n")
    with open(f"{out}/{name}.tsv", "w", encoding="utf-8") as q, open(f"{out}/{name}.qrels", "w") as r:
        for k, (s1, s2, score) in enumerate(rows):
            if score >= 4 and s1 != s2:
                q.write(f"{name}-q{k}\t{s1}\n")
                r.write(f"{name}-q{k}\t0\t{claims[s2]}\t1\n")
PY

printf '| binary | language | claims | queries | mode | MAP@5 | R@5 |\n'
printf '| --- | --- | ---: | ---: | --- | ---: | ---: |\n'
for lang in zh ja ko en; do
  claims=$(wc -l <"$work/$lang-claims.jsonl")
  queries=$(wc -l <"$work/$lang.tsv")
  for bin in "${binaries[@]}"; do
    db="$work/db-$lang"
    rm -rf "$db"
    "$bin" ingest -q --db "$db" "$work/$lang-claims.jsonl"
    for mode in lexical hybrid; do
      line=$("$bin" eval --db "$db" --queries "$work/$lang.tsv" --qrels "$work/$lang.qrels" \
        --mode "$mode" 2>/dev/null | tail -1)
      map5=$(sed -n 's/.*MAP@5=\([0-9.]*\).*/\1/p' <<<"$line")
      r5=$(sed -n 's/.*R@5=\([0-9.]*\).*/\1/p' <<<"$line")
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$bin" "$lang" "$claims" "$queries" "$mode" \
        "$map5" "$r5"
    done
  done
done
