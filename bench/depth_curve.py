"""Depth against speed and quality: the served student cut to N of the full-depth student's layers, distilled from it.

    python bench/depth_curve.py --demo reports/demo --depths 15 6

Needs a finished demo run (`make demo`, which serves a cut student and keeps the full-depth one as `student_full`). For
each depth N a run folder `reports/depth-N/` starts as a hard-linked copy of the demo (files are replaced, never
written in place, so the demo is not touched) and reruns the prism and evaluation stages with `prism.keep_layers=N`:
the full-depth student and the ablations are reused, only the cut student is distilled again. The demo's own cut and
its full-depth student (30 layers) join the rows. All students are then timed one after another in this process's
children (`profiling.measure`: 32 forced tokens, batch 1 and 32, on transformers in `prism.dtype` and on each exported
runtime in `profiling.quantization`) on the same test pairs, so the latency ratios between depths come from one
machine in one run. Writes JSON to `--out` and the curve as a figure beside it (`--replot JSON` redraws a saved one).
"""

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from prism_nb.core import read_json, read_jsonl, write_json
from prism_nb.profiling import device_name, measure
from prism_nb.serving import export_student


def depth_run(demo: Path, depth: int, baselines: list) -> Path:
    "The run folder of one depth: a linked copy of the demo with the prism and evaluation stages rerun at `depth`."
    run = demo.parent / f"depth-{depth}"
    if not run.exists():
        shutil.copytree(demo, run, copy_function=lambda s, d: Path(d).hardlink_to(s))
    cmd = [
        str(Path(sys.executable).parent / "prism-nb"),
        "run",
        "--profile",
        "demo",
        "--run-dir",
        str(run),
        "--stages",
        "prism,evaluation",
        "--resume",
        f"prism.keep_layers={depth}",
        f"baselines.systems={json.dumps(baselines)}",
    ]
    subprocess.run(cmd, check=True)
    return run


def quality(run: Path, system: str) -> dict:
    "A system's figures against the teacher from the evaluation stage, with their 95% intervals."
    m = read_json(run / "evaluation" / "metrics.json")[system]
    return {k: m[k] for k in ("hallucination_rate", "claim_precision", "bleu4", "rougeL", "distinctiveness") if k in m}


def timings(folder: Path, pairs: list, settings: dict, runtimes: list, n_samples: int) -> dict:
    "Median ms per explanation at batch 1 and 32 of the student in `folder` on each runtime, and its parameters."
    out = {}
    for rt in runtimes:
        q = settings["prism"]["dtype"] if rt == "transformers" else settings["profiling"]["quantization"]
        with tempfile.TemporaryDirectory() as tmp:  # an export is hundreds of MB: gone once timed
            model = folder if rt == "transformers" else export_student(folder, Path(tmp) / f"{rt}-{q}", q, rt)
            r = measure(
                str(model),
                pairs,
                "cpu",
                q,
                new_tokens=32,
                batch_sizes=[1, 32],
                n_samples=n_samples,
                warmup=1,
                runtime=rt,
                decoding={"max_source_len": settings["prism"]["max_source_len"]},
            )
        out["params"] = r["params"] or out.get("params")
        for b in r["by_batch"]:
            out[f"{rt}_ms_batch{b['batch_size']}"] = b["latency_ms_p50"]
    return out


def plot(result: dict, path):
    "Plot latency, hallucination rate and BLEU-4 by depth: the full student's 95% CI shaded, the served depth marked."
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    rows = sorted(result["rows"], key=lambda r: r["depth"])
    depths = [r["depth"] for r in rows]
    full = rows[-1]
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
    for key, label in [
        ("ort_ms_batch1", "batch 1, ONNX Runtime GenAI int8"),
        ("transformers_ms_batch32", "batch 32, transformers bfloat16"),
    ]:
        if all(key in r for r in rows):
            axes[0].plot(depths, [r[key] for r in rows], marker="o", label=label)
    axes[0].set(title="latency (median)", ylabel="ms per explanation", ylim=(0, None))
    axes[0].legend(fontsize=8)
    for ax, key, title in [
        (axes[1], "hallucination_rate", "hallucination rate (claim judge)"),
        (axes[2], "bleu4", "BLEU-4 against the teacher"),
    ]:
        mean = [r[key]["mean"] for r in rows]
        err = [[m - r[key]["ci"][0] for m, r in zip(mean, rows)], [r[key]["ci"][1] - m for m, r in zip(mean, rows)]]
        ax.axhspan(
            *full[key]["ci"],
            color="tab:green",
            alpha=0.15,
            label=f"full student ({full['depth']} layers), 95% interval",
        )
        ax.errorbar(depths, mean, yerr=err, marker="o", capsize=3, color="tab:blue")
        ax.set(title=title)
        ax.legend(fontsize=8)
    for ax in axes:
        ax.set(xlabel="decoder layers", xticks=depths)
        if result.get("served"):
            ax.axvline(result["served"], color="grey", ls="--", lw=1)
    fig.suptitle(
        f"The served student by depth (dashed: the demo's {result.get('served')} layers), {result['machine']}",
        fontsize=10,
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", default="reports/demo")
    ap.add_argument("--depths", type=int, nargs="+", default=[15, 6], help="depths to cut besides the demo's own")
    ap.add_argument("--runtimes", nargs="+", default=["transformers", "ct2", "ort"])
    ap.add_argument("--n-samples", type=int, default=32)
    ap.add_argument("--out", default="bench/results/depth_curve.json")
    ap.add_argument("--replot", metavar="JSON", help="only redraw the figure of a saved result (beside it, .png)")
    a = ap.parse_args(argv)
    if a.replot:
        return print(plot(read_json(a.replot), Path(a.replot).with_suffix(".png")))
    demo = Path(a.demo).resolve()
    settings = read_json(demo / "settings.json")
    runs = {d: depth_run(demo, d, settings["baselines"]["systems"]) for d in a.depths}
    cuts = {settings["prism"]["keep_layers"]: (demo, "student"), **{d: (r, "student") for d, r in runs.items()}}
    full = read_json(demo / "student" / "full" / "config.json")["num_hidden_layers"]
    pairs = read_jsonl(demo / "oracle" / "explanations.jsonl")[: a.n_samples]
    rows = []
    for depth in sorted({full, *cuts}, reverse=True):
        run, system = (demo, "student_full") if depth == full else cuts[depth]
        folder = run / "student" / ("full" if system == "student_full" else "")
        rows.append(
            {"depth": depth, **timings(folder, pairs, settings, a.runtimes, a.n_samples), **quality(run, system)}
        )
        print(json.dumps(rows[-1]), flush=True)
    result = {
        "machine": device_name("cpu"),
        "platform": platform.platform(),
        "demo": str(demo),
        "new_tokens": 32,
        "n_samples": a.n_samples,
        "served": settings["prism"]["keep_layers"],
        "cut": {k: settings["prism"][k] for k in ("cut_epochs", "cut_lr", "kd_weight", "kd_temperature")},
        "rows": rows,
    }
    write_json(a.out, result)
    print(plot(result, Path(a.out).with_suffix(".png")))


if __name__ == "__main__":
    main()
