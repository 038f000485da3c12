"""Depth against speed and quality: the demo's student distilled from N of the backbone's decoder layers.

    python bench/depth_curve.py --demo reports/demo --depths 30 15 10 6

Needs a finished demo run (`make demo`). For each depth N a run folder `reports/depth-N/` shares the demo's data,
ranking and Oracle outputs (hard links, nothing regenerated) and runs the prism and evaluation stages with
`prism.keep_layers=N` and the student system only. The students are then timed one after another in this process's
children (`profiling.measure`: bfloat16 where the CPU has it, 32 forced tokens, batch 1 and 32) on the same test pairs,
so the latency ratios between depths come from one machine in one run. Writes JSON to `--out`.
"""
import argparse, json, os, platform, shutil, subprocess, sys
from pathlib import Path

from prism_nb.core import read_json, read_jsonl, write_json
from prism_nb.profiling import device_name, measure

SHARED = ["data", "ranking", "oracle", "done/data.json", "done/ranking.json", "done/oracle.json"]


def depth_run(demo: Path, depth: int) -> Path:
    "The run folder of one depth: the demo's upstream outputs linked in, the prism and evaluation stages run on them."
    run = demo.parent/f"depth-{depth}"
    for rel in SHARED:
        if (run/rel).exists() or not (demo/rel).exists(): continue
        (run/rel).parent.mkdir(parents=True, exist_ok=True)
        if (demo/rel).is_dir(): shutil.copytree(demo/rel, run/rel, copy_function=os.link)
        else: os.link(demo/rel, run/rel)
    cmd = [str(Path(sys.executable).parent/"prism-nb"), "run", "--profile", "demo", "--run-dir", str(run), "--stages", "prism,evaluation",
           "--resume", f"prism.keep_layers={depth}", 'prism.systems=["student"]']
    subprocess.run(cmd, check=True)
    return run


def quality(run: Path) -> dict:
    "The student's figures against the teacher from the evaluation stage, with their 95% intervals."
    m = read_json(run/"evaluation"/"metrics.json")["student"]
    return {k: m[k] for k in ("hallucination_rate", "claim_precision", "bleu4", "rougeL", "distinctiveness") if k in m}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", default="reports/demo")
    ap.add_argument("--depths", type=int, nargs="+", default=[30, 15, 10, 6])
    ap.add_argument("--n-samples", type=int, default=32)
    ap.add_argument("--out", default="bench/results/depth_curve.json")
    a = ap.parse_args(argv)
    demo = Path(a.demo).resolve()
    runs = {d: depth_run(demo, d) for d in a.depths}
    S = read_json(demo/"settings.json")
    pairs = read_jsonl(demo/"oracle"/"explanations.jsonl")[: a.n_samples]
    rows = []
    for d, run in runs.items():
        student = measure(str(run/"student"), pairs, "cpu", S["prism"]["dtype"], new_tokens=32, batch_sizes=[1, 32],
                          n_samples=a.n_samples, warmup=1, decoding={"max_source_len": S["prism"]["max_source_len"]})
        by = {r["batch_size"]: r for r in student["by_batch"]}
        rows.append({"depth": d, "params": student["params"], "latency_ms_p50_batch1": by[1]["latency_ms_p50"],
                     "latency_ms_p50_batch32": by[32]["latency_ms_p50"], "peak_mem_mb": by[32]["peak_mem_mb"], **quality(run)})
        print(json.dumps(rows[-1]))
    write_json(a.out, {"machine": device_name("cpu"), "platform": platform.platform(), "demo": str(demo),
                       "new_tokens": 32, "n_samples": a.n_samples, "rows": rows})


if __name__ == "__main__":
    main()
