#!/usr/bin/env python3
"""PyTorch reference for GPU exact search: torch.topk(q @ db.T, k) on fp16, timed with CUDA events (median of
repeats, several query sets). These are the numbers the CUDA search kernel has to beat on the same card. Also
measures the card's device-to-device copy bandwidth, the ceiling for a batch-1 scan of the database."""
import argparse
import json
import statistics
import sys


def timed(torch, fn, repeats=20):
    """Median milliseconds of fn() between CUDA events, after two warm-up calls."""
    fn()
    fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end))
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="the small cases of aff_gpu_bench --quick")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed: no reference numbers", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("no CUDA device: no reference numbers", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    torch.manual_seed(0)

    big = torch.empty(2 << 30, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(big)
    copy_ms = timed(torch, lambda: dst.copy_(big), args.repeats)
    copy_gbs = 2 * big.numel() / copy_ms / 1e6  # read + write
    del big, dst

    cases = [(1_000_000, 512, 1024, 100), (1_000_000, 512, 1, 10), (1_000_000, 512, 1024, 1000),
             (1_000_000, 512, 16, 10), (1_000_000, 512, 4096, 100),
             (10_000_000, 128, 1024, 100), (10_000_000, 128, 1, 10), (10_000_000, 128, 1024, 1000)]
    if args.quick:
        cases = [(200_000, 512, 1024, 100), (200_000, 512, 1, 10)]
    rows = []
    print(f"# torch {torch.__version__}, {torch.cuda.get_device_name(0)}, copy bandwidth {copy_gbs:.0f} GB/s")
    print("| N | d | batch | k | torch ms | QPS | database read GB/s | fraction of copy bandwidth |")
    print("|---|---|---|---|---|---|---|---|")
    for n, d, batch, k in cases:
        db = torch.randn(n, d, device=dev, dtype=torch.float16)
        query_sets = [torch.randn(batch, d, device=dev, dtype=torch.float16) for _ in range(4)]
        turn = [0]

        def search():
            q = query_sets[turn[0] % 4]
            turn[0] += 1
            return torch.topk(q @ db.T, k, dim=1)

        ms = timed(torch, search, args.repeats)
        read_gbs = n * d * 2 / ms / 1e6
        row = dict(n=n, d=d, batch=batch, k=k, torch_ms=ms, qps=batch / ms * 1e3, read_gbs=read_gbs,
                   copy_fraction=read_gbs / copy_gbs)
        rows.append(row)
        print(f"| {n} | {d} | {batch} | {k} | {ms:.3f} | {row['qps']:.0f} | {read_gbs:.0f} | "
              f"{row['copy_fraction']:.2f} |", flush=True)
        del db, query_sets
        torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as out:
            json.dump(dict(device=torch.cuda.get_device_name(0), torch=torch.__version__, copy_gbs=copy_gbs,
                           rows=rows), out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
