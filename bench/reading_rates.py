"""Each system's unfaithful share by blind reading on a run's test pairs, next to the claim judge's.

    python bench/reading_rates.py --run-dir reports/demo --out bench/results/demo_reading.json

Readers' labels come from `tests/data/served_labels.jsonl` (texts read blind by two readers, a third settling the few
they split on; `round` says when), matched to the run's texts by (user, item, text). A system's rate counts only its
texts that have a label and says how many that is; the served student's is the one that matters, since serving
selects by the judge and the judge's own rate of it is 0 by construction. With `--round N`, the same for the texts of
that round outside the run's test pairs (the served student on pairs the Oracle never explained, from `explain`).
"""

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prism_nb.claims import rate
from prism_nb.core import read_jsonl, write_json
from prism_nb.data import run_items
from prism_nb.evaluation import load_systems, mcnemar_exact
from prism_nb.oracle import claim_judge


def reading_rates(frame, labels: dict, judge) -> dict:
    "Per system: unfaithful by reading (Wilson 95%) over its labelled texts, and by the judge over all its texts."
    out = {}
    for system, rows in frame.groupby("system"):
        read = [labels[k] for k in zip(rows.user, rows.item, rows.text) if k in labels]
        judged = [not judge(t, f, h)["faithful"] for t, f, h in zip(rows.text, rows.facts, rows.history)]
        out[system] = {
            "by_reading": rate(sum(not x for x in read), len(read)),
            "by_judge": rate(sum(judged), len(judged)),
            "labelled": f"{len(read)}/{len(rows)}",
        }
    return out


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
    rows = read_jsonl(a.labels)
    labels = {(r["user"], r["item"], r["text"]): r["faithful"] for r in rows}
    frame = load_systems(a.run_dir)
    judge = claim_judge(run_items(a.run_dir))
    out = {"run_dir": a.run_dir, "test_pairs": int(frame[["user", "item"]].drop_duplicates().shape[0])}
    out["systems"] = reading_rates(frame, labels, judge)
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
        print(
            f"{s:20s} reading {r['value']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] ({v['labelled']} read)"
            f"  judge {j['value']:.3f}"
        )
    print({k: v for k, v in out.items() if k not in ("systems",)})
    if a.out:
        write_json(a.out, out)


if __name__ == "__main__":
    main()
