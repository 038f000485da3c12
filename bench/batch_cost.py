"""What explaining a whole ranking costs: the batch explainer's rate per worker here, Ray's overhead,
and the estimate at scale.

    python bench/batch_cost.py --run-dir reports/demo --n 96 --configs local ray:1 ray:2 local

Each configuration explains the same first `--n` rows of the run's ranking with its served student (verification on, as
`prism-nb explain --recommendations` serves) in its own process, into an empty output: `local` in this process, `ray:N`
with N actors on a private local cluster sharing the machine's cores. Reported per configuration: load time (model, or
Ray's start and the actors' loads), explaining time, explanations per second, per worker. Then the claim judge alone is
timed on the served rows' drafts (seconds per check, one core), and the served rows give the generations per served
explanation. From these and the GPU profile's student rate (`--gpu-profile`), the estimate for `--target` explanations
on N CPU workers and on N GPUs is written with the measurements to `--out`.
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RUN = (
    "import sys, json; from prism_nb.batch import explain_file; "
    "print('STATS ' + json.dumps(explain_file(sys.argv[1], sys.argv[2], sys.argv[3], progress=False, "
    "engine=sys.argv[4], workers=int(sys.argv[5]))))"
)


def run_config(run_dir: Path, recs: Path, out: Path, config: str) -> dict:
    "One configuration (`local` or `ray:N`) in its own process; its stats."
    engine, _, workers = config.partition(":")
    p = subprocess.run(
        [sys.executable, "-c", RUN, str(run_dir), str(recs), str(out), engine, workers or "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if p.returncode:
        sys.exit(f"{config} failed:\n{p.stderr[-3000:]}")
    st = json.loads(next(line[6:] for line in p.stdout.splitlines() if line.startswith("STATS ")))
    return {
        "config": config,
        **{k: st[k] for k in ("engine", "workers", "written", "load_seconds", "seconds", "explanations_per_s")},
        "explanations_per_s_per_worker": round(st["explanations_per_s"] / st["workers"], 3),
    }


def judge_seconds(run_dir: Path, rows: list[dict]) -> float:
    "Median seconds of one claim-judge check of a served row's first answer against its pair's facts, on one core."
    from prism_nb.data import load_run_data, run_items
    from prism_nb.oracle import claim_judge, prompt_facts
    from prism_nb.run_folder import load_run_settings

    settings, dataset, judge = load_run_settings(run_dir), load_run_data(run_dir), claim_judge(run_items(run_dir))
    times = []
    for r in rows:
        sel = prompt_facts(settings, dataset, r["user"], r["item"])
        t = time.perf_counter()
        judge(r["first"], sel["facts"], sel["history"])
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def gpu_rate(path: Path) -> dict:
    "The student's best generation rate at batch 32 in a GPU profile (explanations per second), with what ran it."
    runs = json.loads(path.read_text())["runs"]
    best = max(
        (r for r in runs if "t5" not in r["model"]), key=lambda r: max(b["explanations_per_s"] for b in r["by_batch"])
    )
    b = max(best["by_batch"], key=lambda b: b["explanations_per_s"])
    return {
        "model": best["model"],
        "runtime": best["runtime"],
        "device": best["device"],
        "batch_size": b["batch_size"],
        "explanations_per_s": round(b["explanations_per_s"], 1),
        "source": str(path.relative_to(ROOT)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="reports/demo", help="a finished run (its student trained)")
    ap.add_argument("--n", type=int, default=96, help="rows of the run's ranking explained by each configuration")
    ap.add_argument(
        "--configs",
        nargs="+",
        default=["local", "ray:1", "ray:2", "local"],
        help="local or ray:N, in the order they run",
    )
    ap.add_argument(
        "--target", type=float, default=1e8, help="explanations in the estimate (10 million users x top-10)"
    )
    ap.add_argument("--gpu-profile", default="bench/results/gpu_profile_h100_random_weights_rerun.json")
    ap.add_argument("--out", default="bench/results/batch_cost.json")
    a = ap.parse_args()
    import pandas as pd

    run_dir = Path(a.run_dir).resolve()
    info = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), platform.processor())
    cores = sum(line.startswith("processor") for line in info)
    flags = next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    cpu += " with " + ", ".join(f for f in ("avx2", "avx512_bf16", "amx_bf16") if f in flags)
    with tempfile.TemporaryDirectory() as tmp:
        recs = Path(tmp) / "recs.parquet"
        pd.read_parquet(run_dir / "ranking" / "recommendations.parquet").head(a.n).to_parquet(recs)
        rows, served = [], []
        for k, config in enumerate(a.configs):
            out = Path(tmp) / f"{k}.jsonl"
            rows.append(run_config(run_dir, recs, out, config))
            print(json.dumps(rows[-1]), flush=True)
            if not served:
                served = [json.loads(x) for x in out.read_text().splitlines()]
    local = statistics.median(r["explanations_per_s"] for r in rows if r["engine"] == "local")
    one_ray = [r["explanations_per_s"] for r in rows if r["config"] == "ray:1"]
    generations = statistics.mean(r["candidates"] for r in served)
    judge_s = judge_seconds(run_dir, served)
    checks = generations + statistics.mean(r["served_by"] in ("repaired", "template") for r in served)
    g = gpu_rate(ROOT / a.gpu_profile)
    gpu_served = 1 / (
        generations / g["explanations_per_s"] + checks * judge_s
    )  # generation and judging one after the other
    worker = (
        statistics.median(one_ray) if one_ray else local
    )  # one Ray worker holding the whole machine: the engine's cost included
    hours = lambda rate: round(a.target / rate / 3600, 1)
    result = {
        "cpu": cpu,
        "cores": cores,
        "run": str(run_dir),
        "n": a.n,
        "runs": rows,
        "local_explanations_per_s": local,
        "ray1_vs_local": round(statistics.median(one_ray) / local, 3) if one_ray else None,
        "generations_per_served": round(generations, 2),
        "judge_checks_per_served": round(checks, 2),
        "judge_seconds_per_check": round(judge_s, 5),
        "gpu_student": g,
        "gpu_served_explanations_per_s": round(gpu_served, 1),
        "target": a.target,
        "cpu_worker_explanations_per_s": worker,
        "cpu_worker_hours": hours(worker),
        "gpu_hours": hours(gpu_served),
        "estimate": {
            f"{n} {kind}": f"{hours(rate * n)} h"
            for kind, rate in ((f"Ray workers of {cores} cores", worker), ("GPUs", gpu_served))
            for n in (1, 8, 64, 512)
        },
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
