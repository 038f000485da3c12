"""Latency of verified answers one request at a time (`Prism.serve` of one pair), by how each answer was served.

    python bench/verified_latency.py --run-dir reports/demo --runtime transformers --threads 2
    python bench/verified_latency.py --run-dir reports/demo --runtime ct2 --out bench/results/verified_latency_ct2.json

Loads the run's served student as `prism-nb explain` does, answers one warm-up pair, then serves each test pair of the
run alone and times it. Reports the median, p90 and largest seconds per answer over all pairs and per `served_by` path,
with the candidates each path drew, and the CPU. Writes JSON to `--out`.
"""

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from prism_nb.core import read_jsonl, write_json
from prism_nb.prism import Prism
from prism_nb.profiling import device_name
from prism_nb.run_folder import STUDENT_PREDICTIONS


def summary(rows: list[dict]) -> dict:
    "Median, p90 and largest seconds of `rows`, their count and mean candidates drawn."
    secs = sorted(r["seconds"] for r in rows)
    return {
        "n": len(secs),
        "median_s": round(statistics.median(secs), 3),
        "p90_s": round(secs[min(len(secs) - 1, int(0.9 * len(secs)))], 3),
        "max_s": round(secs[-1], 3),
        "mean_s": round(sum(secs) / len(secs), 3),
        "candidates": round(sum(r["candidates"] for r in rows) / len(rows), 2),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="reports/demo")
    ap.add_argument("--runtime", default="transformers", help="transformers | ct2 | ort")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="bench/results/verified_latency.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    pairs = [
        (p["user"], p["item"])
        for p in read_jsonl(Path(a.run_dir) / STUDENT_PREDICTIONS)
        if p.get("system", "student") == "student"
    ]
    p = Prism.load(a.run_dir, runtime=a.runtime)
    p.serve([pairs[0]])  # warm-up: the judge, the catalogue and the first batch's kernels
    rows = []
    for pair in pairs:
        t0 = time.perf_counter()
        (o,) = p.serve([pair])
        rows.append(
            {"pair": pair, "seconds": time.perf_counter() - t0, **{k: o[k] for k in ("served_by", "candidates")}}
        )
    out = {
        "run_dir": a.run_dir,
        "runtime": a.runtime,
        "threads": a.threads,
        "cpu": device_name("cpu"),
        "machine": platform.machine(),
        "candidates_setting": p.settings.prism.candidates,
        "all": summary(rows),
        "by_served_by": {
            k: summary([r for r in rows if r["served_by"] == k]) for k in dict.fromkeys(r["served_by"] for r in rows)
        },
        "answers": rows,
    }
    write_json(a.out, out)
    print(json.dumps({k: v for k, v in out.items() if k != "answers"}, indent=1))


if __name__ == "__main__":
    main()
