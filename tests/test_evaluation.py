"Evaluation metrics: hand-computed cases, edge cases, bad input, the stage end to end on a synthetic PETER-style run."

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prism_nb import evaluation as ev
from prism_nb.core import PrismError, append_jsonl, load_settings
from prism_nb.run_folder import is_done


def test_peter_bleu_hand_computed():
    h, r = "the cat sat on the mat", "the cat is on the mat"
    assert ev.corpus_bleu([h], [r], 1) == pytest.approx(100 * 5 / 6)
    assert ev.corpus_bleu([h], [r], 4) == 0.0  # no matching 4-gram, no smoothing
    assert ev.corpus_bleu([h, "a b c d e"], [r, "a b c d e"], 4) == pytest.approx(
        100 * (10 / 11 * 7 / 9 * 4 / 7 * 2 / 5) ** 0.25
    )
    assert ev.corpus_bleu(["the cat"], ["the cat is here"], 2) == pytest.approx(100 * math.exp(-1))  # brevity penalty
    assert ev.corpus_bleu(["Great, really!"], ["great , really !"], 4) == pytest.approx(100.0)  # PETER tokenisation
    assert math.isnan(ev.corpus_bleu([], []))


def test_bleu_matches_nltk_corpus_bleu():
    nltk = pytest.importorskip("nltk.translate.bleu_score")
    hyps = ["the cat sat on the mat today", "a dog barks loudly at night", "we recommend fargo , a crime film"]
    refs = ["the cat is on the mat today", "the dog barks at night", "we recommend fargo , a crime drama"]
    ours = ev.corpus_bleu(hyps, refs, 4)
    theirs = 100 * nltk.corpus_bleu([[ev.peter_tokenize(r)] for r in refs], [ev.peter_tokenize(h) for h in hyps])
    assert ours == pytest.approx(theirs)


def test_bleu_bad_input():
    with pytest.raises(PrismError, match="one reference per text"):
        ev.corpus_bleu(["a", "b"], ["a"])


def test_sacrebleu_and_rouge():
    import sacrebleu

    hs, rs = ["the cat sat on the mat", "hello there"], ["the cat is on the mat", "hello there"]
    stats = ev.sacrebleu_stats(hs, rs)
    assert ev.sacrebleu_from_stats(stats.sum(0)) == pytest.approx(sacrebleu.corpus_bleu(hs, [rs]).score)
    rg = ev.rouge_f(hs, rs)
    assert rg["rouge2"][0] == pytest.approx(60.0) and rg["rougeL"][1] == pytest.approx(100.0)


def test_peter_explainability_metrics():
    assert ev.usr(["a b", "A b", "c", "d"]) == pytest.approx(3 / 4)
    assert ev.usr_values(["x", "x", "y"]).sum() == pytest.approx(2)  # sum of 1/c_i = distinct texts
    F = [{"x", "y"}, {"y", "z"}, {"y"}, set()]
    # pairs: (0,1)=1 (0,2)=1 (0,3)=0 (1,2)=1 (1,3)=0 (2,3)=0 -> 3 / 6
    assert ev.div(F) == pytest.approx(0.5)
    assert ev.fcr(F, {"x", "y", "z", "w"}) == pytest.approx(0.75)
    assert ev.fmr_values(F, [{"x"}, {"x"}, {"y"}, {"y"}]).mean() == pytest.approx(0.5)
    assert math.isnan(ev.usr([])) and math.isnan(ev.div([{"a"}]))


def test_bootstrap_and_paired_tests():
    r = ev.boot_mean(np.r_[np.zeros(50), np.ones(50)], B=500, seed=3)
    assert r["mean"] == 0.5 and r["ci"][0] < 0.5 < r["ci"][1] and 0.3 < r["ci"][0] and r["n"] == 100
    t = ev.mcnemar_exact([1] * 30 + [0] * 10, [0] * 20 + [1] * 20)  # 20 pairs only a true, 10 only b: two-sided exact p
    assert (t["a_only"], t["b_only"]) == (20, 10) and t["p"] == pytest.approx(
        2 * sum(math.comb(30, k) for k in range(11)) / 2**30
    )
    w = ev.wilcoxon([1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 4, 5, 6, 7, 8, 9.5])
    assert w["n"] == 8 and w["p"] < 0.05


def test_distinctiveness_prefers_own_user():
    E = np.array([[1, 0], [0, 1]], float)
    prism_cfg = np.array([[1, 0], [0, 1]], float)
    np.testing.assert_allclose(ev.distinctiveness(E, prism_cfg, ["a", "b"]), [1, 1])
    np.testing.assert_allclose(ev.distinctiveness(E[::-1], prism_cfg, ["a", "b"]), [-1, -1])


def _synthetic_run(tmp_path: Path, peter: bool = True) -> Path:
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    titles = ["Fargo", "Blood Simple", "Heat", "The Big Lebowski", "Raising Arizona", "Miller's Crossing"]
    items = pd.DataFrame(
        {
            "item": [str(i) for i in range(6)],
            "title": titles,
            "year": [1996, 1984, 1995, 1998, 1987, 1990],
            "genres": [["Crime"], ["Crime"], ["Action"], ["Comedy"], ["Comedy"], ["Crime"]],
            "features": [["plot"], ["acting"], ["score"], ["acting"], ["plot"], ["score"]],
        }
    )
    items.to_parquet(run / "data/items.parquet")
    users = [f"u{k}" for k in range(8)]
    inter = pd.DataFrame(
        {
            "user": users,
            "item": [str(k % 6) for k in range(8)],
            "rating": 5.0,
            "timestamp": range(8),
            "split": "test",
            "feature": ["plot"] * 8,
            "sentence": [f"the plot of this film is great {k}" for k in range(8)],
        }
    )
    if peter:
        inter.to_parquet(run / "data/interactions.parquet")
    ox, preds = [], []
    for k, u in enumerate(users):
        it = items.iloc[k % 6]
        h = items.iloc[(k + 1) % 6]
        facts = [
            {"kind": "title", "text": f"title: {it.title}", "value": it.title},
            {"kind": "year", "text": f"year: {it.year}", "value": int(it.year)},
            {"kind": "genre", "text": f"genres: {it.genres[0]}", "value": list(it.genres)},
            {"kind": "feature", "text": "feature: plot", "value": "plot"},
        ]
        hist = [{"item": h["item"], "title": h.title, "rating": 5.0}]
        ox.append(
            {
                "user": u,
                "item": it["item"],
                "history": hist,
                "facts": facts,
                "prompt": "p",
                "prompt_hash": "h",
                "text": f"{it.title} is a {it.genres[0].lower()} film with a great plot, and you liked {h.title}.",
                "model": "m",
                "faithful": True,
            }
        )
        preds.append(
            {
                "user": u,
                "item": it["item"],
                "system": "student",
                "text": f"{it.title} has a great plot, and you liked {h.title}.",
            }
        )
        preds.append(
            {
                "user": u,
                "item": it["item"],
                "system": "student_no_user",
                "text": f"{it.title} ({1950 + k}) is a film by a famous director.",
            }
        )
    append_jsonl(run / "oracle/explanations.jsonl", ox)
    append_jsonl(run / "student/predictions.jsonl", preds)
    return run


def test_run_evaluation_end_to_end(tmp_path):
    run = _synthetic_run(tmp_path)
    settings = load_settings(profile="smoke", overrides=["evaluation.bootstrap=50"])
    returned = ev.run_evaluation(settings, run)
    saved = json.loads((run / "evaluation/metrics.json").read_text())
    assert saved["counts"] == returned["counts"]  # what the stage returns is what it wrote
    assert set(saved) >= {
        "teacher",
        "student",
        "student_no_user",
        "template",
        "review",
        "paired_tests",
        "counts",
        "answers",
    }
    for s in ("teacher", "student", "student_no_user", "template", "review"):
        assert saved[s]["n"] == 8
        for k in (
            "usr",
            "fmr",
            "fcr",
            "div",
            "hallucination_rate",
            "claim_precision",
            "n_claims",
            "history_citation",
            "distinctiveness",
        ):
            v = saved[s][k]
            assert set(v) == {"mean", "ci", "n"}, (s, k)
    assert saved["teacher"]["hallucination_rate"]["mean"] == 0.0
    assert saved["student_no_user"]["hallucination_rate"]["mean"] == 1.0  # invented year, director and fame
    assert (
        saved["student_no_user"]["claim_precision"]["mean"] < 0.5 and saved["teacher"]["claim_precision"]["mean"] == 1.0
    )
    assert (
        saved["student"]["history_citation"]["mean"] == 1.0
        and saved["student_no_user"]["history_citation"]["mean"] == 0.0
    )
    assert saved["student"]["bleu4"]["mean"] > 0 and "bleu4" not in saved["teacher"]
    assert "bleu4_review" in saved["teacher"] and saved["teacher"]["fmr"]["mean"] == 1.0  # review feature "plot"
    ox = [json.loads(line) for line in (run / "oracle/explanations.jsonl").read_text().splitlines()]
    theirs = ev.peter_rouge(
        [r["text"] for r in ox], [f"the plot of this film is great {k}" for k in range(8)]
    )  # PETER's ROUGE, labelled
    assert abs(saved["teacher"]["peter_rougeL_review"]["mean"] - theirs["peter_rougeL"].mean()) < 1e-9
    assert (
        saved["teacher"]["peter_rouge1_review"]["mean"] != saved["teacher"]["rouge1_review"]["mean"]
    )  # sets vs counts ("a" twice)
    assert saved["paired_tests"]["student_vs_student_no_user:history_citation"]["p"] < 0.05
    assert (
        saved["student"]["distinctiveness"]["mean"] > 0
    )  # a text naming the user's own titles is closest to that user's profile
    assert "faithfulness" in saved["answers"] and "personalization" in saved["answers"]
    assert (run / "evaluation/metrics_bars.png").stat().st_size > 1000 and (run / "evaluation/per_user.png").is_file()
    assert len(pd.read_parquet(run / "evaluation/scores.parquet")) == 8 * 5
    assert is_done(settings, run, "evaluation")


def test_run_evaluation_bad_input(tmp_path):
    run = _synthetic_run(tmp_path, peter=False)
    settings = load_settings(profile="smoke", overrides=["evaluation.bootstrap=20", 'evaluation.embedder=""'])
    m = ev.run_evaluation(settings, run)
    assert "review" not in m and "semsim" not in m["student"]
    with open(run / "student/predictions.jsonl", "a") as f:
        f.write('{"user": "u0", "item": "0", "system": "oracle2", "text": "x"}\n')
    with pytest.raises(PrismError, match="unknown system"):
        ev.run_evaluation(settings, run)
    (run / "student/predictions.jsonl").write_text(
        '{"user": "u0", "item": "0", "text": "x"}\nnot json\n{"user": "u1"}\n'
    )
    with pytest.raises(PrismError, match="line 2 is not valid JSON"):
        ev.run_evaluation(settings, run)
    (run / "data/items.parquet").unlink()
    with pytest.raises(PrismError, match="run the data stage first"):
        ev.run_evaluation(settings, run)
