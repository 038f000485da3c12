"""Ranking speed benchmark on ML-100k (leave-last-out, full ranking), a benchmark, not a test.

    .venv/bin/python bench/ranking_speed.py [--repeats 5] [--threads 2] [--sasrec-repeats 1] [--skip-sasrec]

Prints the median over repeats of: ALS fit seconds, full-ranking evaluation seconds (943 test users x 1,682 items, seen
items masked, HR/NDCG/Recall/MRR), and SASRec training seconds (with early stopping on valid) with its test NDCG@10.
"""

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from prism_nb.core import load_settings, seed_everything
from prism_nb.data import load_ml100k
from prism_nb.ranking import Catalog, make_ranker, rank_users, split_targets


def timed(name, settings, ia, repeats):
    "Fit and evaluate ranker `name` `repeats` times: lists of fit seconds, eval seconds and the last metrics."
    cat = Catalog.from_interactions(ia)
    train, valid, test = (ia[ia.split == s] for s in ("train", "valid", "test"))
    seen = cat.matrix(pd.concat([train, valid]))
    targets = split_targets(cat, test, seen)
    fit, ev, m = [], [], None
    for _ in range(repeats):
        seed_everything(settings.run.seed)
        r = make_ranker(name, settings)
        t0 = time.perf_counter()
        r.fit(train, cat, valid)
        fit.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _, m = rank_users(r, cat, seen, sorted(targets), settings.ranking.k, targets, settings.ranking.ks)
        ev.append(time.perf_counter() - t0)
    return fit, ev, m, r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sasrec-repeats", type=int, default=1)
    ap.add_argument("--skip-sasrec", action="store_true")
    a = ap.parse_args()
    settings = load_settings(profile="demo", overrides=[f"ranking.threads={a.threads}"])
    ia = load_ml100k().interactions
    print(f"ML-100k: {ia.user.nunique()} users, {ia.item.nunique()} items, {len(ia)} interactions; threads={a.threads}")
    fit, ev, m, _ = timed("als", settings, ia, a.repeats)
    print(
        f"als    fit {statistics.median(fit):6.2f} s  eval {statistics.median(ev):5.2f} s  "
        f"total {statistics.median(np.add(fit, ev)):6.2f} s"
        f"  (median of {a.repeats})  ndcg@10 {m['ndcg@10']:.4f} hr@10 {m['hr@10']:.4f}"
    )
    if not a.skip_sasrec:
        fit, ev, m, r = timed("sasrec", settings, ia, a.sasrec_repeats)
        print(
            f"sasrec fit {statistics.median(fit):6.1f} s  eval {statistics.median(ev):5.2f} s  epochs {r.epochs} "
            f"({statistics.median(fit) / r.epochs:.2f} s/epoch)  (median of {a.sasrec_repeats})  "
            f"ndcg@10 {m['ndcg@10']:.4f} hr@10 {m['hr@10']:.4f}"
        )


if __name__ == "__main__":
    main()
