#!/usr/bin/env bash
# End-to-end batch scoring: `claimmatch score` over real texts against a claim database (default:
# the 19,250 PolitiFact claims of claims-dev with the bundled default model), process start
# included. Prints one table row per (binary, input): records, wall seconds, records/s (wall), CPU
# seconds (user + sys) and records per CPU-second. On a shared machine the CPU figures are the ones
# to compare; give two binaries to compare them in the same run (e.g. a build of main first).
#
# Usage: benchmarks/score_benchmark.sh [CLAIMMATCH_BINARY...]     (default: build/tools/claimmatch)
# Environment: CLAIMMATCH_BENCH_DB   database directory (default /tmp/claimmatch-bench-pol; built
#                                    from the PolitiFact claims when missing)
#              CLAIMMATCH_SHARED     the shared data directory (default ../shared, else /work/shared)
#              REPEAT                runs per (binary, input), best CPU time kept (default 1)
# Inputs: 10,370 real tweets (Twitter URL corpus, second column; plain lines), the 12,836 LIAR
# statements (PolitiFact claims as posts would repeat them; JSONL with id and text), and posts.txt:
# the 66,504 distinct texts of 20-300 characters among all of the Twitter URL corpus (both sides,
# train and test) and LIAR, shuffled with a fixed seed (plain lines; start-up amortised over 6x
# more records, closer to a nightly run).
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/script_setup.sh "$@"
db=${CLAIMMATCH_BENCH_DB:-/tmp/claimmatch-bench-pol}
repeat=${REPEAT:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -f $db/manifest.json ]]; then
  echo "building $db from the PolitiFact claims..." >&2
  "${binaries[0]}" ingest -q --model models/default --db "$db" \
    "$shared/data/claims-dev/politifact-claims.jsonl"
fi
cut -f2 "$shared/data/train/twitter_url_corpus/Twitter_URL_Corpus_testNew.larger.txt" |
  sed 's/ *$//' >"$work/tweets.txt"
python3 - "$shared/data/train/liar_claims" "$work/liar.jsonl" <<'EOF'
import json, sys
with open(sys.argv[2], "w") as out:
    for part in ("train", "valid", "test"):
        for line in open(f"{sys.argv[1]}/{part}.tsv", encoding="utf-8"):
            cells = line.rstrip("\n").split("\t")
            if len(cells) > 2:
                out.write(json.dumps({"id": cells[0], "text": cells[2]}) + "\n")
EOF
python3 - "$shared/data/train" "$work/posts.txt" <<'EOF'
import glob, random, sys
root, out = sys.argv[1], sys.argv[2]
texts = set()
def add(t):
    t = t.strip()
    if 20 <= len(t) <= 300 and "\t" not in t:
        texts.add(t)
for f in sorted(glob.glob(f"{root}/twitter_url_corpus/*/*.toks")):
    for line in open(f, encoding="utf-8", errors="replace"):
        add(line.rstrip("\n"))
for line in open(f"{root}/twitter_url_corpus/Twitter_URL_Corpus_testNew.larger.txt",
                 encoding="utf-8", errors="replace"):
    for t in line.rstrip("\n").split("\t")[:2]:
        add(t)
for part in ("train", "valid", "test"):
    for line in open(f"{root}/liar_claims/{part}.tsv", encoding="utf-8"):
        cells = line.rstrip("\n").split("\t")
        if len(cells) > 2:
            add(cells[2])
texts = sorted(texts)
random.Random(1).shuffle(texts)
with open(out, "w", encoding="utf-8") as f:
    f.write("\n".join(texts) + "\n")
EOF

printf '| binary | input | records | wall s | records/s | CPU s | records/CPU-s |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: |\n'
for input in tweets.txt liar.jsonl posts.txt; do
  for bin in "${binaries[@]}"; do
    best=""
    for ((r = 0; r < repeat; r++)); do
      /usr/bin/time -f "%e %U %S" -o "$work/time" "$bin" score -q --db "$db" \
        --input "$work/$input" --output "$work/out.jsonl" --summary "$work/summary.json"
      read -r wall user sys <"$work/time"
      cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
      if [[ -z $best ]] || python3 -c "import sys; sys.exit(0 if $cpu < ${best%% *} else 1)"; then
        best="$cpu $wall"
      fi
    done
    read -r cpu wall <<<"$best"
    records=$(python3 -c "import json; print(json.load(open('$work/summary.json'))['records'])")
    python3 -c "print(f'| $bin | $input | {$records:,} | {$wall:.1f} | {$records / $wall:,.0f} | {$cpu:.2f} | {$records / $cpu:,.0f} |')"
  done
done
