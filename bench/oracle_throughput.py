r"""Teacher (Oracle) throughput on this machine, configurations side by side in one run.

    python bench/oracle_throughput.py --run-dir reports/demo --configs float32:8 bfloat16:8 bfloat16:16 --n 16
    python bench/oracle_throughput.py --run-dir reports/demo --model tiny:qwen2 \
        --configs float32:1 float32:8  # quick check

A configuration is `dtype:batch_size[:options]` for the transformers backend; options (comma-separated): `int8`
(per-channel dynamic int8 of every Linear layer but the output head), `prefix` (the shared prompt prefix run once and
its key/value cache reused, as the Oracle stage does; its time counts as prefill). Each runs in its own process (so peak
RSS is its own) on the same `--n` real Oracle prompts of the run (built from its data and recommendations exactly as the
Oracle stage builds them), sorted by length and batched as the stage batches them. Prefill time is the time to the first
generated token of each batch; decode time is the rest. Reports explanations/min, new tokens/s, prefill tokens/s (and
their GFLOP/s against this CPU's measured matmul rate in the same dtype), decode tokens/s, peak RSS and the first
outputs, so speed can be weighed against quality. Writes JSON to `--out`.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def prompts_for(run_dir, model, n):
    "The first `n` Oracle prompts of the run, for `model`'s prompt template."
    import pandas as pd

    from prism_nb.data import load_run_data
    from prism_nb.oracle import select_pairs
    from prism_nb.run_folder import open_run

    settings, run_dir = open_run(run_dir)
    dataset = load_run_data(run_dir)
    recs = pd.read_parquet(Path(run_dir) / "ranking" / "recommendations.parquet")
    return settings, dataset, select_pairs(recs, n, settings.oracle.pairs_per_user, settings.run.seed)


def quantize_int8(model):
    "Per-channel dynamic int8 quantization of every Linear layer except the output head (in place)."
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    head = model.get_output_embeddings()
    spec = {
        name: per_channel_dynamic_qconfig
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and m is not head
    }
    return quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)


def matmul_gflops(dtype, n=2048, reps=5) -> float:
    "This CPU's measured matrix-product rate in `dtype` (GFLOP/s, median of `reps` n x n x n products)."
    import torch

    x, y = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    x @ y
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        x @ y
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / sorted(times)[reps // 2] / 1e9


def worker(a):
    "Measure one configuration; print one JSON line."
    import torch

    torch.set_num_threads(a.threads)
    from prism_nb.models import generate_batch, length_batches, load_lm, prefix_cache, resolve_dtype
    from prism_nb.oracle import build_prompt, item_noun, prompt_facts

    dtype, bs, *opts = a.config.split(":")
    bs, opts = int(bs), set(",".join(opts).split(",")) - {"", "none"}
    quant = "int8" if "int8" in opts else "none"
    from prism_nb.profiling import PeakMemory

    mem = PeakMemory("cpu", every=0.05)
    mem.__enter__()  # peak RSS from loading to the last batch
    t0 = time.time()
    model, tok = load_lm(a.model, dtype=dtype)
    if quant == "int8":
        model = quantize_int8(model)
    load_s = time.time() - t0
    settings, dataset, pairs = prompts_for(a.run_dir, a.model, a.n)
    seq2seq, noun = model.config.is_encoder_decoder, item_noun(dataset.name)
    prompts = [
        build_prompt(prompt_facts(settings, dataset, u, i), tok, seq2seq, noun)
        for u, i in pairs[["user", "item"]].itertuples(index=False)
    ]
    generate_batch(model, tok, prompts[:1], 2)  # warm-up
    t0 = time.perf_counter()
    prefix = prefix_cache(model, tok, prompts) if "prefix" in opts else None
    prefix_s = time.perf_counter() - t0
    lens = [len(tok(p, add_special_tokens=seq2seq).input_ids) for p in prompts]
    res = dict(prompt_tokens=0, new_tokens=0, prefill_s=prefix_s, total_s=prefix_s, texts=[])
    for b in length_batches(lens, bs):
        out = generate_batch(model, tok, [prompts[i] for i in b], a.max_new_tokens, a.num_beams, prefix=prefix)
        res["prompt_tokens"] += sum(out["prompt_tokens"])
        res["new_tokens"] += sum(out["new_tokens"])
        res["prefill_s"] += out["prefill_seconds"]
        res["total_s"] += out["seconds"]
        res["texts"] += [(i, t) for i, t in zip(b, out["texts"])]
    mem.__exit__(None, None, None)
    decode_s = res["total_s"] - res["prefill_s"]
    flop_per_token = 2 * sum(p.numel() for p in model.parameters())  # a forward pass costs about 2 FLOPs per parameter
    peak = matmul_gflops(next(model.parameters()).dtype)
    texts = [t for _, t in sorted(res["texts"])]
    print(
        json.dumps(
            {
                "config": a.config,
                "model": a.model,
                "backend": "transformers",
                "dtype": resolve_dtype(dtype),
                "batch_size": bs,
                "quant": quant,
                "prefix_cache": prefix is not None,
                "prefix_tokens": len(prefix["ids"]) if prefix else 0,
                "threads": a.threads,
                "n": len(prompts),
                "load_s": round(load_s, 1),
                "seconds": round(res["total_s"], 1),
                "explanations_per_min": round(60 * len(prompts) / res["total_s"], 2),
                "new_tokens_per_s": round(res["new_tokens"] / res["total_s"], 2),
                "prefill_s": round(res["prefill_s"], 1),
                "prefill_tokens_per_s": round(res["prompt_tokens"] / res["prefill_s"], 1),
                "prefill_gflops": round(flop_per_token * res["prompt_tokens"] / res["prefill_s"] / 1e9, 1),
                "matmul_peak_gflops": round(peak, 1),
                "decode_s": round(decode_s, 1),
                "decode_tokens_per_s": round(res["new_tokens"] / max(decode_s, 1e-9), 2),
                "mean_prompt_tokens": round(res["prompt_tokens"] / len(prompts), 1),
                "mean_new_tokens": round(res["new_tokens"] / len(prompts), 1),
                "peak_rss_mb": round(mem.peak_mb),
                "texts": texts[: a.show],
            }
        )
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--run-dir", default=str(ROOT / "reports" / "demo"), help="a run whose data and ranking stages are done"
    )
    ap.add_argument("--model", default="packaged:qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--configs", nargs="+", default=["float32:8", "bfloat16:8"], help="dtype:batch_size[:int8,prefix]")
    ap.add_argument("--n", type=int, default=16, help="prompts per configuration")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--num-beams", type=int, default=1)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    ap.add_argument("--show", type=int, default=4, help="outputs kept per configuration, to judge quality")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "oracle_throughput.json"))
    ap.add_argument("--config", help=argparse.SUPPRESS)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a)
    rows = []
    for c in a.configs:
        cmd = [sys.executable, __file__, "--worker", "--config", c] + [
            x
            for k, v in vars(a).items()
            if k not in ("configs", "config", "worker")
            for x in (f"--{k.replace('_', '-')}", str(v))
        ]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        line = next((l for l in reversed(p.stdout.splitlines()) if l.startswith("{")), None)
        if p.returncode or not line:
            print(f"{c}: failed\n{p.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(line))
        r = rows[-1]
        print(
            f"{c:>18}: {r['explanations_per_min']:6.2f} expl/min  {r['new_tokens_per_s']:6.2f} tok/s  "
            f"prefill {r['prefill_s']:6.1f}s ({r['prefill_tokens_per_s']:.0f} tok/s)  decode {r['decode_s']:6.1f}s "
            f"({r['decode_tokens_per_s']:.2f} tok/s)  peak {r['peak_rss_mb']} MB  "
            f"prefill at {r['prefill_gflops']:.0f} GFLOP/s "
            f"= {100 * r['prefill_gflops'] / r['matmul_peak_gflops']:.0f}% of this CPU's "
            f"{r['matmul_peak_gflops']:.0f} GFLOP/s matmul",
            flush=True,
        )
        for t in r["texts"][:2]:
            print("      |", t[:200], flush=True)
    from prism_nb.core import write_json

    write_json(
        a.out,
        {
            "machine": {
                "cpu": platform.processor() or platform.machine(),
                "cores": os.cpu_count(),
                "load_avg": os.getloadavg(),
            },
            "results": rows,
        },
    )
    print("wrote", a.out)


if __name__ == "__main__":
    main()
