"The baselines stage on a finished smoke run: PETER and the joint student rank and explain; the report compares them."

import json

import pandas as pd


def test_coupled_baselines_rank_explain_and_reach_the_report(smoke_run):
    "Smoke profile: both coupled systems (a tiny PETER) rank the rankers' test users, explain the Prism's test pairs."
    run = smoke_run
    base = json.loads((run / "baselines" / "summary.json").read_text())["systems"]
    ranking = json.loads((run / "ranking" / "metrics.json").read_text())
    test_pairs = {tuple(p) for p in json.loads((run / "student" / "split.json").read_text())["test_pairs"]}
    for system in ("peter", "joint_student"):
        m = base[system]["ranking"]
        assert (
            m["n_users"] == ranking["als"]["n_users"] and 0 <= m["ndcg@10"] <= m["hr@10"] <= 1
        )  # the rankers' test users
        recs = pd.read_parquet(run / "baselines" / system / "recommendations.parquet")
        assert recs.groupby("user").size().eq(10).all() and recs.user.nunique() == m["n_users"]
        preds = [
            json.loads(line) for line in (run / "baselines" / system / "predictions.jsonl").read_text().splitlines()
        ]
        assert {(p["user"], p["item"]) for p in preds} == test_pairs  # the Prism's test pairs, each once
        print(
            f"{system}: NDCG@10 {m['ndcg@10']:.4f} HR@10 {m['hr@10']:.4f} over {m['n_users']} users; "
            f"{len(preds)} explanations, e.g. {preds[0]['text'][:80]!r}"
        )
    assert (
        base["peter"]["epochs"] <= 3 and base["peter"]["hyperparameters"]["emsize"] == 32
    )  # the smoke profile's PETER

    ev = json.loads((run / "evaluation" / "metrics.json").read_text())
    assert ev["peter"]["n"] == ev["student"]["n"] == ev["joint_student"]["n"]
    assert "student_vs_peter:hallucination_rate" in ev["paired_tests"]
    s = json.loads((run / "summary.json").read_text())["baselines"]
    assert {"decoupled", "peter", "joint_student", "answer"} <= set(s)
    assert s["decoupled"]["ranker"] == "als" and s["peter"]["ndcg@10"]["ci"][0] <= s["peter"]["ndcg@10"]["mean"]
    assert s["answer"].startswith("peter: coupling costs") and "joint_student: coupling costs" in s["answer"]
    assert "Coupled vs decoupled" in (run / "report.html").read_text()
