"""How many of the pairs that verified serving answers with the facts template would more candidates rescue?

    python bench/template_rescue.py --run-dir reports/study --configs 16:0.8 16:1.2

The pairs are the run's test pairs whose served explanation (`student/predictions.jsonl`) came from the facts
template: none of `prism.candidates` answers was faithful by the claim judge and no repair kept one. Each
configuration `N:T` serves them again with N candidates sampled at temperature T (the greedy first answer, then N - 1
seeded samples, as `prism.candidates` and `prism.sample_temperature` set), on the run's student in `prism.dtype` on
transformers, and counts how each is now served, how many candidates that took, and how many of the rescued texts end
as a sentence ends (a text cut at `prism.max_new_tokens` passes the judge but reads as broken). The judge chooses
here, so its verdict is no evidence of faithfulness: a configuration worth adopting is read blind first. Writes JSON
to `--out` (the served texts included).
"""

import argparse
import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prism_nb.core import read_jsonl, write_json
from prism_nb.run_folder import load_run_settings

ENDS = (".", "!", "?", '."', '"')


def template_pairs(run_dir: Path, test: list[dict]) -> list[dict]:
    "The test records whose served explanation came from the facts template."
    served = {
        (p["user"], p["item"]): p["served_by"]
        for p in read_jsonl(run_dir / "student" / "predictions.jsonl")
        if p.get("system", "student") == "student"
    }
    return [r for r in test if served.get((str(r["user"]), str(r["item"]))) == "template"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", type=Path, default=ROOT / "reports" / "study", help="a finished run with verification")
    ap.add_argument("--configs", nargs="+", default=["16:0.8", "16:1.2"], help="candidates:temperature")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "template_rescue.json")
    args = ap.parse_args()
    from prism_nb.data import run_items
    from prism_nb.oracle import claim_judge
    from prism_nb.prism import stage_records, system_dir
    from prism_nb.profiling import device_name
    from prism_nb.serving import served_student, verified
    from prism_nb.student import decoding

    settings = load_run_settings(args.run_dir)
    _, sets = stage_records(settings, args.run_dir)
    pairs = template_pairs(args.run_dir, sets["test"])
    student = served_student(system_dir(args.run_dir, "student"), "transformers", "int8", "cpu", settings.prism.dtype)
    judge, rows = claim_judge(run_items(args.run_dir)), []
    for config in args.configs:
        n, temperature = int(config.split(":")[0]), float(config.split(":")[1])
        t0 = time.time()
        out = verified(student, pairs, judge, decoding(settings.prism), n, temperature, settings.run.seed)
        rescued = [o for o in out if o["served_by"] != "template"]
        rows.append(
            {
                "candidates": n,
                "temperature": temperature,
                "seconds": round(time.time() - t0, 1),
                "served_by": dict(collections.Counter(o["served_by"] for o in out)),
                "candidates_per_pair": sum(o["candidates"] for o in out) / len(out),
                "rescued_ending_as_sentences": sum(o["text"].rstrip().endswith(ENDS) for o in rescued),
                "texts": [{"user": str(r["user"]), "item": str(r["item"]), **o} for r, o in zip(pairs, out)],
            }
        )
        print(
            f"{config}: {rows[-1]['served_by']} in {rows[-1]['seconds']} s, "
            f"{rows[-1]['rescued_ending_as_sentences']} of {len(rescued)} rescued texts end as sentences",
            flush=True,
        )
    write_json(
        args.out,
        {
            "cpu": device_name("cpu"),
            "run_dir": str(args.run_dir),
            "n_test": len(sets["test"]),
            "template_pairs": len(pairs),
            "run_candidates": settings.prism.candidates,
            "run_temperature": settings.prism.sample_temperature,
            "configs": rows,
        },
    )


if __name__ == "__main__":
    main()
