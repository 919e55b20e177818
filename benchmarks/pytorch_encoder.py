#!/usr/bin/env python3
"""PyTorch baseline for benchmarks/encode_benchmark.cc: the same MiniLM-L12 shape (hidden 384,
12 layers, 12 heads, FFN 1536, GELU, post-LayerNorm) as torch.nn.TransformerEncoder in eval mode
under torch.inference_mode() (PyTorch's fused "fast path"), random weights, a padded batch of
equal-length sequences (no padding work, as in claimmatch's packed batches). Prints one line per
case: `len batch threads sentences_per_s`.

usage: pytorch_encoder.py [--threads 1,2] [--seconds 2]
"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    torch.manual_seed(1)
    layer = torch.nn.TransformerEncoderLayer(d_model=384, nhead=12, dim_feedforward=1536,
                                             dropout=0.0, activation="gelu", batch_first=True,
                                             norm_first=False)
    model = torch.nn.TransformerEncoder(layer, num_layers=12, enable_nested_tensor=False).eval()
    emb = torch.nn.Embedding(32000, 384)
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        for length in (16, 32, 64, 128):
            for batch in (1, 32):
                ids = torch.randint(4, 32000, (batch, length))
                with torch.inference_mode():
                    x = emb(ids)
                    model(x)  # warm-up
                    n, start = 0, time.perf_counter()
                    while time.perf_counter() - start < args.seconds:
                        model(x).mean(dim=1)
                        n += batch
                    rate = n / (time.perf_counter() - start)
                print(f"{length} {batch} {threads} {rate:.1f}", flush=True)


if __name__ == "__main__":
    main()
