"""Does the user vector earn its place? Its variants against the student without one, on a finished run's split.

    python bench/user_variants.py --run-dir reports/study

Each variant sets some `[prism]` keys over the run's own (one prepended vector, rows started from the liked titles'
mean embedding): user dropout 0, 0.1 (the default until this study) and 0.3, rows started at random, the vector added
to every input position, four prepended vectors per user, and the user table at ten times the learning rate. Each
student is trained as the prism stage trains it (the run's split, seed, epochs and backbone, full depth), answers the
test pairs greedily as the stage's first answers are made (`prism.dtype` on transformers, titles constrained), and
each text is scored as the evaluation stage scores it: unfaithful by the claim judge, the user's history cited,
distinctiveness against the user's profile. Every variant is compared with the student without a user vector on the
same test pairs: the paired difference with a bootstrap 95% interval, McNemar's exact test for the two rates,
Wilcoxon's for distinctiveness. A variant's work goes to `--work/<name>/` and is reused when the script runs again (a
killed run resumes where it stopped; the run's own student stands for a variant whose settings are the run's).
Writes JSON to `--out` and the figure beside it.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prism_nb.core import PrismSettings, Settings, atomic_write, read_json, read_jsonl, write_json
from prism_nb.run_folder import load_run_settings

# name -> the [prism] keys it sets over the run's; `lr` in a value is scaled by the run's prism.lr
VARIANTS = {
    "no_user": {"user_embedding": False},
    "dropout_0.1": {"user_dropout": 0.1},
    "dropout_0": {"user_dropout": 0.0},
    "dropout_0.3": {"user_dropout": 0.3},
    "init_random": {"user_init": "random"},
    "add": {"user_mode": "add"},
    "tokens_4": {"user_tokens": 4},
    "user_lr_10x": {"user_lr": "10 lr"},
}


def variant_settings(settings: Settings, keys: dict) -> Settings:
    "The run's settings at full depth with `keys` set in `[prism]` (a value `'10 lr'` is ten times prism.lr)."
    scale = lambda v: float(v.split()[0]) * settings.prism.lr if isinstance(v, str) and v.endswith(" lr") else v
    return Settings(
        {
            **settings,
            "prism": PrismSettings({**settings.prism, "keep_layers": 0, **{k: scale(v) for k, v in keys.items()}}),
        }
    )


def student_folder(settings: Settings, run_dir: Path, work: Path, name: str, sets) -> tuple[Path, float]:
    "The trained student of a variant (the run's own when its settings are the run's) and its training seconds."
    from prism_nb.prism import train_system

    own, keys = run_dir / "student", VARIANTS[name]
    if (
        settings.prism.keep_layers == 0
        and all(settings.prism[k] == v for k, v in keys.items())
        and (own / "training.json").is_file()
    ):
        return own, read_json(own / "training.json")["train_seconds"]
    summary = train_system(variant_settings(settings, VARIANTS[name]), work / name, "student", sets, "cpu")
    return work / name / "student", summary["train_seconds"]


def answers(settings: Settings, folder: Path, test: list[dict], path: Path) -> tuple[list[str], float]:
    "The student's greedy answers to the test pairs (kept in `path`, reused when there) and the seconds they took."
    from prism_nb.student import decoding, generate, load_student

    if path.is_file():
        return [r["text"] for r in read_jsonl(path)], json.loads(path.with_suffix(".json").read_text())["seconds"]
    student, t0 = load_student(folder, "cpu", settings.prism.dtype), time.time()
    texts = generate(student, test, **decoding(settings.prism))
    secs = time.time() - t0
    with atomic_write(path) as f:
        f.writelines(
            json.dumps({"user": str(r["user"]), "item": str(r["item"]), "text": t}) + "\n" for r, t in zip(test, texts)
        )
    write_json(path.with_suffix(".json"), {"seconds": secs})
    return texts, secs


def scores(settings: Settings, run_dir: Path, test: list[dict], texts: dict):
    "Per test pair and variant: unfaithful by the judge, history cited, distinctiveness (as in the evaluation stage)."
    import pandas as pd

    from prism_nb.claims import Vocabulary
    from prism_nb.data import run_items
    from prism_nb.evaluation import embedding_columns, judge_columns

    df = pd.DataFrame(
        [
            {
                "user": str(r["user"]),
                "item": str(r["item"]),
                "system": name,
                "text": t,
                "facts": r["facts"],
                "history": r["history"],
                "teacher": None,
                "review": None,
            }
            for name, ts in texts.items()
            for r, t in zip(test, ts)
        ]
    )
    df = pd.concat(
        [
            df,
            judge_columns(df, Vocabulary.from_items(run_items(run_dir))),
            embedding_columns(df, settings.evaluation.embedder),
        ],
        axis=1,
    )
    return {k: df.pivot_table(index=["user", "item"], columns="system", values=k, aggfunc="first") for k in METRICS}


METRICS = ("hallucinated", "history_citation", "distinctiveness")


def compare(W: dict, name: str, seed: int) -> dict:
    "Per metric, a variant's paired difference from the no-user student (variant - no user), its 95% CI and p."
    from prism_nb.evaluation import boot_mean, mcnemar_exact, paired_diff, wilcoxon

    out = {}
    for k in METRICS:
        a, b = W[k]["no_user"].to_numpy(float), W[k][name].to_numpy(float)
        test = wilcoxon(a, b) if k == "distinctiveness" else mcnemar_exact(b == 1, a == 1)
        out[k] = {
            "mean": boot_mean(b, seed=seed)["mean"],
            "diff": paired_diff(a, b, seed=seed),
            "p": test["p"],
            "test": test["test"],
        }
    return out


def plot(result: dict, path):
    "Each variant's paired difference from the no-user student, one panel per metric, 95% intervals, zero marked."
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    names = [n for n in result["variants"] if n != "no_user"]
    titles = {
        "distinctiveness": "distinctiveness (higher: more personal)",
        "history_citation": "cites the user's history (share)",
        "hallucinated": "unfaithful by the judge (share; lower is better)",
    }
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), sharey=True, layout="constrained")
    for ax, k in zip(axes, ("distinctiveness", "history_citation", "hallucinated")):
        for y, n in enumerate(names):
            x = result["variants"][n]["vs_no_user"][k]
            m, (lo, hi) = x["diff"]["mean"], x["diff"]["ci"]
            ax.errorbar(
                [m],
                [y],
                xerr=[[m - lo], [hi - m]],
                fmt="o",
                capsize=3,
                color="tab:blue" if x["p"] < 0.05 else "tab:gray",
            )
        ax.axvline(0, color="black", lw=1)
        ax.set(title=titles[k], xlabel="variant - no user vector (paired, 95% CI)")
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    fig.suptitle(
        f"The user vector's variants against the student without one, paired on {result['n_test']} test pairs of "
        f"{result['run_dir']} (blue: p < 0.05)\n{result['cpu']}"
    )
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--run-dir",
        type=Path,
        default=ROOT / "reports" / "study",
        help="a finished run (its oracle, data and prism stages)",
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=ROOT / "reports" / "user-variants",
        help="where each variant's student and answers go",
    )
    ap.add_argument(
        "--variants",
        nargs="+",
        default=list(VARIANTS),
        choices=list(VARIANTS),
        help="the variants (no_user always runs)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "user_variants.json")
    args = ap.parse_args()
    # loaded once, before hours of work
    import prism_nb.claims
    import prism_nb.data
    import prism_nb.evaluation
    import prism_nb.models
    import prism_nb.oracle  # noqa: F401
    from prism_nb.prism import stage_records
    from prism_nb.profiling import device_name

    settings = load_run_settings(args.run_dir)
    split, sets = stage_records(settings, args.run_dir)
    test, t0 = sets["test"], time.time()
    if (args.run_dir / "student" / "split.json").is_file() and read_json(args.run_dir / "student" / "split.json")[
        "test_pairs"
    ] != split["test_pairs"]:
        sys.exit(
            f"the split differs from {args.run_dir}/student/split.json: "
            "the run's settings changed since its prism stage"
        )
    names = ["no_user", *[n for n in args.variants if n != "no_user"]]
    texts, made = {}, {}
    for name in names:
        folder, train_s = student_folder(settings, args.run_dir, args.work, name, sets)
        texts[name], gen_s = answers(settings, folder, test, args.work / name / "test.jsonl")
        prism_cfg = variant_settings(settings, VARIANTS[name]).prism
        made[name] = {
            "settings": {f"prism.{k}": prism_cfg[k] for k in VARIANTS[name]},
            "student": str(folder),
            "train_seconds": round(train_s, 1),
            "generate_seconds": round(gen_s, 1),
        }
        print(f"{name}: trained in {train_s:.0f} s, {len(test)} answers in {gen_s:.0f} s", flush=True)
    W = scores(settings, args.run_dir, test, texts)
    result = {
        "cpu": device_name("cpu"),
        "run_dir": str(args.run_dir.relative_to(ROOT) if args.run_dir.is_relative_to(ROOT) else args.run_dir),
        "n_test": len(test),
        "epochs": settings.prism.epochs,
        "backbone": settings.prism.backbone,
        "seconds_this_run": round(time.time() - t0, 1),
        "variants": {
            n: {
                **made[n],
                "means": {k: float(W[k][n].mean()) for k in METRICS},
                **({"vs_no_user": compare(W, n, settings.run.seed)} if n != "no_user" else {}),
            }
            for n in names
        },
    }
    write_json(args.out, result)
    plot(result, args.out.with_suffix(".png"))
    for n in names[1:]:
        c = result["variants"][n]["vs_no_user"]
        print(
            f"{n:12s} "
            + "  ".join(
                (
                    f"{k} {c[k]['diff']['mean']:+.3f} [{c[k]['diff']['ci'][0]:+.3f}, "
                    f"{c[k]['diff']['ci'][1]:+.3f}] p={c[k]['p']:.3g}"
                )
                for k in METRICS
            )
        )


if __name__ == "__main__":
    main()
