#!/usr/bin/env python3
"""Writes distinct real tweet-length texts (20-300 characters, one per line, shuffled with a fixed
seed) for static_benchmark's BM_StaticNightly* (CLAIMMATCH_BENCH_NIGHTLY).

  benchmarks/make_nightly_texts.py SHARED_DATA_DIR en.txt            # English: tweets, claims
  benchmarks/make_nightly_texts.py --mixed SHARED_DATA_DIR mixed.txt # + STS, STSb-multi-mt, WMT

English: the Twitter URL corpus (both sides of every pair), LIAR statements, the claim, title and
subtitle of the claims-dev claim files, the texts of the claims-dev query files (used here only to
time the tokenizer). --mixed adds the multilingual STS and WMT sentences; at most 300,000 texts.
"""
import glob
import json
import os
import random
import sys


def main():
    args = sys.argv[1:]
    mixed = args and args[0] == '--mixed'
    if mixed:
        args = args[1:]
    root, out = args
    texts = set()

    def add(t):
        t = t.strip()
        if 20 <= len(t) <= 300 and '\t' not in t and '\n' not in t and '\r' not in t:
            texts.add(t)

    def lines(path):
        with open(path, encoding='utf-8', errors='replace', newline='\n') as f:
            for line in f:
                yield line.rstrip('\n')

    tw = os.path.join(root, 'train', 'twitter_url_corpus')
    for f in glob.glob(os.path.join(tw, '*', '*.toks')):
        for line in lines(f):
            add(line)
    for line in lines(os.path.join(tw, 'Twitter_URL_Corpus_testNew.larger.txt')):
        for t in line.split('\t')[:2]:
            add(t)
    for f in glob.glob(os.path.join(root, 'train', 'liar_claims', '*.tsv')):
        for line in lines(f):
            p = line.split('\t')
            if len(p) > 2:
                add(p[2])
    for f in glob.glob(os.path.join(root, 'claims-dev', '*.jsonl')):
        for line in lines(f):
            record = json.loads(line)
            for key in ('claim', 'title', 'subtitle'):
                if isinstance(record.get(key), str):
                    add(record[key])
    for f in glob.glob(os.path.join(root, 'claims-dev', '*.tsv')):
        for line in lines(f):
            p = line.split('\t')
            if len(p) > 1:
                add(p[1])
    if mixed:
        for pattern in ('stsb_multi_mt/**/*', 'semeval_sts_2012_2016/**/*', 'wmt2*-general-mt/**/*'):
            for f in glob.glob(os.path.join(root, 'train', pattern), recursive=True):
                if not os.path.isfile(f) or f.endswith(('.md', 'SOURCE.txt', 'LICENSE')):
                    continue
                try:
                    for line in lines(f):
                        for t in line.split('\t'):
                            add(t)
                except UnicodeDecodeError:
                    pass
    texts = sorted(texts)
    random.Random(1).shuffle(texts)
    texts = texts[:300000]
    with open(out, 'w', encoding='utf-8', newline='\n') as f:
        f.write('\n'.join(texts) + '\n')
    print(f'{out}: {len(texts)} texts, {sum(map(len, texts)) / len(texts):.0f} characters on average')


if __name__ == '__main__':
    main()
