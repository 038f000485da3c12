"""Depth against speed and quality: the served student cut to N of the full-depth student's layers and distilled from it.

    python bench/depth_curve.py --demo reports/demo --depths 15 6

Needs a finished demo run (`make demo`, which serves a cut student and keeps the full-depth one as `student_full`). For
each depth N a run folder `reports/depth-N/` starts as a hard-linked copy of the demo (files are replaced, never
written in place, so the demo is not touched) and reruns the prism and evaluation stages with `prism.keep_layers=N`:
the full-depth student and the ablations are reused, only the cut student is distilled again. The demo's own cut and
its full-depth student (30 layers) join the rows. All students are then timed one after another in this process's
children (`profiling.measure`: 32 forced tokens, batch 1 and 32, on transformers in `prism.dtype` and on each exported
runtime in `profiling.quantization`) on the same test pairs, so the latency ratios between depths come from one
machine in one run. Writes JSON to `--out`.
"""
import argparse, json, platform, shutil, subprocess, sys, tempfile
from pathlib import Path

from prism_nb.core import read_json, read_jsonl, write_json
from prism_nb.profiling import device_name, measure
from prism_nb.serve import export_student


def depth_run(demo: Path, depth: int, baselines: list) -> Path:
    "The run folder of one depth: a linked copy of the demo with the prism and evaluation stages rerun at `depth`."
    run = demo.parent/f"depth-{depth}"
    if not run.exists(): shutil.copytree(demo, run, copy_function=lambda s, d: Path(d).hardlink_to(s))
    cmd = [str(Path(sys.executable).parent/"prism-nb"), "run", "--profile", "demo", "--run-dir", str(run), "--stages", "prism,evaluation",
           "--resume", f"prism.keep_layers={depth}", f"baselines.systems={json.dumps(baselines)}"]
    subprocess.run(cmd, check=True)
    return run


def quality(run: Path, system: str) -> dict:
    "A system's figures against the teacher from the evaluation stage, with their 95% intervals."
    m = read_json(run/"evaluation"/"metrics.json")[system]
    return {k: m[k] for k in ("hallucination_rate", "claim_precision", "bleu4", "rougeL", "distinctiveness") if k in m}


def timings(folder: Path, pairs: list, S: dict, runtimes: list, n_samples: int) -> dict:
    "Median ms per explanation at batch 1 and 32 of the student in `folder` on each runtime, and its parameters."
    out = {}
    for rt in runtimes:
        q = S["prism"]["dtype"] if rt == "transformers" else S["profiling"]["quantization"]
        model = folder if rt == "transformers" else export_student(folder, Path(tempfile.mkdtemp())/f"{rt}-{q}", q, rt)
        r = measure(str(model), pairs, "cpu", q, new_tokens=32, batch_sizes=[1, 32], n_samples=n_samples, warmup=1, runtime=rt,
                    decoding={"max_source_len": S["prism"]["max_source_len"]})
        out["params"] = r["params"] or out.get("params")
        for b in r["by_batch"]: out[f"{rt}_ms_batch{b['batch_size']}"] = b["latency_ms_p50"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", default="reports/demo")
    ap.add_argument("--depths", type=int, nargs="+", default=[15, 6], help="depths to cut besides the demo's own")
    ap.add_argument("--runtimes", nargs="+", default=["transformers", "ct2", "ort"])
    ap.add_argument("--n-samples", type=int, default=32)
    ap.add_argument("--out", default="bench/results/depth_curve.json")
    a = ap.parse_args(argv)
    demo = Path(a.demo).resolve()
    S = read_json(demo/"settings.json")
    runs = {d: depth_run(demo, d, S["baselines"]["systems"]) for d in a.depths}
    cuts = {S["prism"]["keep_layers"]: (demo, "student"), **{d: (r, "student") for d, r in runs.items()}}
    full = read_json(demo/"student"/"full"/"summary.json")["layers"]
    pairs = read_jsonl(demo/"oracle"/"explanations.jsonl")[: a.n_samples]
    rows = []
    for depth in sorted({full, *cuts}, reverse=True):
        run, system = (demo, "student_full") if depth == full else cuts[depth]
        folder = run/"student"/("full" if system == "student_full" else "")
        rows.append({"depth": depth, **timings(folder, pairs, S, a.runtimes, a.n_samples), **quality(run, system)})
        print(json.dumps(rows[-1]), flush=True)
    write_json(a.out, {"machine": device_name("cpu"), "platform": platform.platform(), "demo": str(demo), "new_tokens": 32,
                       "n_samples": a.n_samples, "cut": {k: S["prism"][k] for k in ("cut_epochs", "cut_lr", "kd_weight", "kd_temperature")},
                       "rows": rows})


if __name__ == "__main__":
    main()
