"""Each system's unfaithful share by blind reading on a run's test pairs, next to the claim judge's.

    python bench/reading_rates.py --run-dir reports/demo --out bench/results/demo_reading.json

Readers' labels come from `tests/data/served_labels.jsonl` (texts read blind by two readers, a third settling the few
they split on; `round` says when), matched to the run's texts by (user, item, text). A system's rate counts only its
texts that have a label and says how many (the evaluation stage's `unfaithful_by_reading`); the served student's is
the one that matters, since serving selects by the judge and the judge's own rate of it is 0 by construction. Adds
McNemar's test of the served student against its first answers and the teacher, and with `--round N` the same rates
for that round's texts outside the run's test pairs (the served student on pairs the Oracle never explained).
"""

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prism_nb.claims import rate
from prism_nb.core import write_json
from prism_nb.data import run_items
from prism_nb.evaluation import load_readings, load_systems, mcnemar_exact, unfaithful_by_reading
from prism_nb.oracle import claim_judge


def reading_rates(frame, labels: list[dict], judge) -> dict:
    "Per system: unfaithful by reading (the evaluation stage's figure) and by the judge over all its texts."
    read = unfaithful_by_reading(frame, labels)
    return {
        system: {
            "by_reading": read.get(system),
            "by_judge": rate(
                sum(not judge(t, f, h)["faithful"] for t, f, h in zip(g.text, g.facts, g.history)), len(g)
            ),
        }
        for system, g in frame.groupby("system")
    }


def paired(frame, labels: dict, a: str, b: str) -> dict:
    "McNemar's exact test of two systems' unfaithful texts by reading, on the pairs both have labelled."
    by = {
        s: {(u, i): labels.get((u, i, t)) for u, i, t in zip(r.user, r.item, r.text)}
        for s, r in frame.groupby("system")
    }
    keys = [k for k in by[a] if by[a][k] is not None and by[b].get(k) is not None]
    return mcnemar_exact([not by[a][k] for k in keys], [not by[b][k] for k in keys])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", default="reports/demo")
    ap.add_argument("--labels", default=str(ROOT / "tests/data/served_labels.jsonl"))
    ap.add_argument("--round", type=int, help="also rate this round's texts outside the run's test pairs")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    rows = load_readings(a.labels)
    labels = {(str(r["user"]), str(r["item"]), r["text"]): r["faithful"] for r in rows}
    frame = load_systems(a.run_dir)
    judge = claim_judge(run_items(a.run_dir))
    out = {"run_dir": a.run_dir, "test_pairs": int(frame[["user", "item"]].drop_duplicates().shape[0])}
    out["systems"] = reading_rates(frame, rows, judge)
    out["served_vs"] = {b: paired(frame, labels, "student", b) for b in ("student_unverified", "teacher")}
    if a.round:
        test = set(zip(frame.user, frame.item))
        new = collections.defaultdict(list)
        for r in rows:
            if r["round"] == a.round and (r["user"], r["item"]) not in test:
                for s in r["systems"]:
                    new[s].append(not r["faithful"])
        out[f"round {a.round}, new pairs"] = {s: rate(sum(x), len(x)) for s, x in new.items()}
    for s, v in out["systems"].items():
        r, j = v["by_reading"], v["by_judge"]
        read = (
            f"{r['mean']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] ({r['n']} of {r['texts']} read)" if r else "unread"
        )
        print(f"{s:20s} reading {read}  judge {j['value']:.3f}")
    print({k: v for k, v in out.items() if k not in ("systems",)})
    if a.out:
        write_json(a.out, out)


if __name__ == "__main__":
    main()
