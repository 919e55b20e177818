#!/usr/bin/env python3
"""Writes N synthetic claims (JSONL) for scale benchmarks: words of real claim files recombined at
the real claims' lengths (fixed seed), each with a title, verdict, claimant and URL.

usage: make_synthetic_claims.py N OUT.jsonl CLAIMS.jsonl [CLAIMS.jsonl ...]
e.g.   make_synthetic_claims.py 1000000 claims-1m.jsonl \\
           ../shared/data/claims-dev/snopes-claims.jsonl ../shared/data/claims-dev/politifact-claims.jsonl
"""
import json
import random
import sys


def main():
    n, out_path, sources = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    random.seed(7)
    claims = [json.loads(line) for path in sources for line in open(path, encoding="utf-8")]
    words = [w for c in claims for w in c["claim"].split()]
    with open(out_path, "w", encoding="utf-8") as out:
        for i in range(n):
            src = claims[i % len(claims)]
            k = max(6, len(src["claim"].split()))
            out.write(json.dumps({
                "id": f"syn-{i:07d}",
                "claim": " ".join(random.choice(words) for _ in range(k)),
                "title": " ".join(random.choice(words) for _ in range(8)),
                "verdict": src.get("verdict", "false"),
                "claimant": src.get("claimant", ""),
                "url": f"https://example.org/check/{i}",
            }) + "\n")


if __name__ == "__main__":
    main()
