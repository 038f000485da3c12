"""The Ray engine's overhead on one machine: the Oracle stage with `engine=local` and with `engine=ray, workers=1`,
side by side.

    python bench/ray_overhead.py --run-dir reports/demo --n 48 --order local ray local

Each configuration runs the whole Oracle stage (`run_oracle`) in its own process on its own copy of the run's data and
ranking (an empty cache), on the same first `--n` pairs, with `filter = flag` (no retries: generation only). Reports,
per configuration, the driver's set-up (model load, or tokenizer and Ray start), the generation time (for Ray: actor
start and model load included), the batches' own generation time (summed as the teacher measured it) and explanations
per minute of each. Writes JSON to `--out`.
"""

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RUN = (
    "import sys, json; from prism_nb.core import set_key, parse_value; from prism_nb.run_folder import open_run; "
    "from prism_nb.oracle import run_oracle; "
    "S, d = open_run(sys.argv[1]); "
    "[set_key(S, k, parse_value(v), 'bench') for k, v in (a.split('=', 1) for a in sys.argv[2:])]; "
    "print('STATS ' + json.dumps(run_oracle(S, d, progress=False)))"
)


def copy_upstream(run_dir: Path, dst: Path) -> Path:
    "The data and ranking of `run_dir` (with its settings and done markers) in a fresh folder, no Oracle output."
    dst.mkdir(parents=True)
    for name in ("data", "ranking"):
        shutil.copytree(run_dir / name, dst / name, ignore=shutil.ignore_patterns("*.ipynb"))
    from prism_nb.core import load_settings

    saved = json.loads((run_dir / "settings.json").read_text())
    S = load_settings(
        profile=saved.get("profile", "demo")
    ).to_dict()  # a run saved before a key existed gets its default
    (dst / "settings.json").write_text(
        json.dumps({k: ({**S[k], **v} if isinstance(v, dict) else v) for k, v in saved.items()})
    )
    (dst / "done").mkdir()
    for stage in ("data", "ranking"):
        shutil.copy(run_dir / "done" / f"{stage}.json", dst / "done" / f"{stage}.json")
    return dst


def run_engine(run_dir: Path, engine: str, n: int) -> dict:
    "One Oracle stage with `engine` on `n` pairs, in its own process; its stats with the rates."
    settings = [f"oracle.n_pairs={n}", "oracle.filter=flag", f"oracle.engine={engine}", "oracle.workers=1"]
    out = subprocess.run([sys.executable, "-c", RUN, str(run_dir), *settings], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"the {engine} run failed:\n{out.stderr[-3000:]}")
    stats = json.loads(next(line[6:] for line in out.stdout.splitlines() if line.startswith("STATS ")))
    stats["expl_per_min_generation"] = round(60 * stats["n"] / stats["run_seconds"], 2)
    stats["expl_per_min_stage"] = round(60 * stats["n"] / (stats["run_seconds"] + stats["load_seconds"]), 2)
    stats["expl_per_min_batches"] = round(60 * stats["n"] / stats["seconds"], 2)  # the batches' own generation time
    stats["other_seconds"] = round(
        stats["run_seconds"] - stats["seconds"], 1
    )  # ray: actor start, model load, scheduling
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="reports/demo", help="a run whose data and ranking stages are done")
    ap.add_argument("--n", type=int, default=48, help="pairs explained by each configuration")
    ap.add_argument("--order", nargs="+", default=["local", "ray", "local"], help="engines in the order they run")
    ap.add_argument("--out", default="bench/results/ray_overhead.json")
    a = ap.parse_args()
    info = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), platform.processor())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, engine in enumerate(a.order):
            st = run_engine(copy_upstream(Path(a.run_dir), Path(tmp) / f"{k}-{engine}"), engine, a.n)
            rows.append(
                {
                    "engine": engine,
                    **{
                        key: st[key]
                        for key in (
                            "n",
                            "load_seconds",
                            "run_seconds",
                            "seconds",
                            "other_seconds",
                            "expl_per_min_generation",
                            "expl_per_min_batches",
                            "expl_per_min_stage",
                            "mean_new_tokens",
                            "model",
                        )
                    },
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    rate = lambda engine, key: [r[key] for r in rows if r["engine"] == engine]
    ratio = lambda key: round(
        sum(rate("ray", key)) / len(rate("ray", key)) / (sum(rate("local", key)) / len(rate("local", key))), 3
    )
    result = {
        "cpu": cpu,
        "cores": sum(line.startswith("processor") for line in info),
        "runs": rows,
        **(
            {f"ray_vs_local_{k}": ratio(f"expl_per_min_{k}") for k in ("generation", "batches", "stage")}
            if {r["engine"] for r in rows} == {"local", "ray"}
            else {}
        ),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}))


if __name__ == "__main__":
    main()
