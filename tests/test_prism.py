"Tests of the Prism student: resuming a killed training, save/load, and the unseen-user fallback."

import json
import signal
import textwrap
import time
from pathlib import Path

import pytest
import torch
from conftest import python_child

# seed_everything, Student, encode: used by the TINY code below
from prism_nb.core import read_jsonl, seed_everything  # noqa: F401
from prism_nb.student import Student, encode, eval_loss, generate, load_student, save_student, train_student  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

TINY = """
def tiny(name="tiny:smollm2"):
    from prism_nb.models import load_lm
    return load_lm(name)

def records(n):
    hist = [{"item": "1", "title": "Toy Story (1995)", "rating": 5.0}]
    facts = [{"kind": "title", "text": "title: Star Wars (1977)", "value": "Star Wars (1977)"},
             {"kind": "shared_genre", "text": "Adventure, like Toy Story (1995)", "value": "Adventure"}]
    return [{"user": str(i % 6), "item": str(50 + i), "history": hist, "facts": facts,
             "text": f"An adventure like Toy Story, number {i}."} for i in range(n)]

class P:
    batch_size, epochs, lr, warmup, max_grad_norm, user_dropout = 2, 8, 1e-3, 0.1, 1.0, 0.1
    patience, checkpoint_every = 1000, 5

def build():
    seed_everything(0)
    lm, tok = tiny()
    st = Student(lm, tok, users=[str(i) for i in range(6)])
    recs = records(12)
    return st, encode(st, recs, 64, 16)
"""
exec(TINY)

SCRIPT = (
    textwrap.dedent("""
    import sys
    from prism_nb.core import seed_everything
    from prism_nb.prism import Student, encode, train_student
    """)
    + TINY
    + textwrap.dedent("""
    st, ex = build()
    res = train_student(st, ex, ex[:2], P, sys.argv[1], seed=3)
    print("FINISHED", res["step"], res["resumed_from"], flush=True)
    """)
)


def _run(script, out, **kw):
    return python_child(script, out, **kw)


@pytest.mark.slow  # trains twice, killed once (make test-slow)
def test_killed_training_resumes_to_same_step(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = tmp_path / "run"
    proc = _run(script, out)
    deadline = time.time() + 240
    while not (out / "checkpoint.pt").exists():  # SIGKILL right after the first checkpoint lands
        assert proc.poll() is None, f"training ended before its first checkpoint: {proc.stdout.read()}"
        assert time.time() < deadline, "no checkpoint within 4 minutes"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = max(r["step"] for r in read_jsonl(out / "train_log.jsonl"))
    total = P.epochs * 6  # 12 examples, batch 2
    assert killed_at < total
    proc = _run(script, out)
    text, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, text
    line = [l for l in text.splitlines() if l.startswith("FINISHED")][0].split()
    final, resumed_from = int(line[1]), int(line[2])
    assert final == total and resumed_from >= P.checkpoint_every and resumed_from % P.checkpoint_every == 0
    steps = [r["step"] for r in read_jsonl(out / "train_log.jsonl")]
    assert steps == list(range(1, total + 1))  # no gap and no duplicate across the kill
    # the same final step count (and losses) as an uninterrupted run
    ref = tmp_path / "ref"
    proc = _run(script, ref)
    text, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, text
    a = [r["train_loss"] for r in read_jsonl(ref / "train_log.jsonl")]
    b = [r["train_loss"] for r in read_jsonl(out / "train_log.jsonl")]
    assert len(a) == len(b) == total
    assert max(abs(x - y) for x, y in zip(a, b)) < 1e-3


def test_save_load_round_trip(tmp_path):
    st, ex = build()

    class Q(P):
        epochs = 1

    train_student(st, ex, ex[:2], Q, tmp_path / "t", seed=1)
    save_student(st, tmp_path / "s", backbone="tiny")
    st2 = load_student(tmp_path / "s")
    assert st2.users.users == st.users.users and st2.user_mode == "prepend"
    assert torch.equal(st2.users.emb.weight, st.users.emb.weight)
    assert abs(eval_loss(st2, ex, 4) - eval_loss(st, ex, 4)) < 1e-5
    recs = records(3)
    assert generate(st2, recs, 64, 8) == generate(st, recs, 64, 8)
    assert json.loads((tmp_path / "s" / "prism.json").read_text())["backbone"] == "tiny"


def test_unseen_user_falls_back_to_shared_embedding():
    st, _ = build()
    with torch.no_grad():
        st.users.emb.weight[0] = 7.0  # a recognisable shared row
    v = st.users(["0", "never-seen", "5"])
    assert torch.all(v[1] == 7.0) and not torch.all(v[0] == 7.0) and not torch.all(v[2] == 7.0)
    # the whole model runs for unseen users, and their output equals that of any other unseen user
    recs = records(2)
    recs[0]["user"], recs[1]["user"] = "stranger-a", "stranger-b"
    st.eval()
    a, b = generate(st, recs, 64, 6)
    assert a == b


def _explanations(run_dir, n_users=8):
    "Teacher records of `n_users` users, 3 pairs each, every other one judged faithful, and the catalogue they name."
    import pandas as pd

    from prism_nb.core import append_jsonl

    recs = []
    for k, r in enumerate(records(3 * n_users)):
        recs.append({**r, "user": f"u{k // 3}", "rank": k % 3 + 1, "faithful": k % 2 == 0})
    append_jsonl(run_dir / "oracle" / "explanations.jsonl", recs)
    (run_dir / "data").mkdir(exist_ok=True)  # the item table the serving judge reads
    pd.DataFrame(
        {
            "item": ["1", *(r["item"] for r in recs)],
            "title": ["Toy Story (1995)"] + ["Star Wars (1977)"] * len(recs),
            "genres": [["Adventure"]] * (len(recs) + 1),
            "features": [[]] * (len(recs) + 1),
        }
    ).to_parquet(run_dir / "data" / "items.parquet")
    return recs


def test_faithful_student_learns_only_from_judged_faithful_texts(tmp_path):
    from prism_nb.core import load_settings
    from prism_nb.prism import run_prism, stage_records, system_dir

    _explanations(tmp_path)
    settings = load_settings(
        profile="smoke",
        overrides=['prism.systems=["student", "student_faithful"]', "prism.epochs=1", "prism.keep_layers=0"],
    )
    info = run_prism(settings, tmp_path)
    _, sets = stage_records(settings, tmp_path)
    faithful_train = [r for r in sets["train"] if r["faithful"]]
    assert 0 < len(faithful_train) < len(sets["train"])
    assert info["systems"]["student_faithful"]["n_train"] == len(faithful_train)
    assert info["systems"]["student"]["n_train"] == len(sets["train"])
    assert (system_dir(tmp_path, "student_faithful") / "model.safetensors").is_file()
    preds = read_jsonl(tmp_path / "student" / "predictions.jsonl")
    assert {p["system"] for p in preds} == {"student", "student_faithful"}  # both explain the same test pairs
    assert len(preds) == 2 * len(sets["test"])


def test_unjudged_teacher_texts_cannot_train_the_faithful_student(tmp_path):
    from prism_nb.core import PrismError, load_settings
    from prism_nb.prism import run_prism

    _explanations(tmp_path)
    lines = [json.loads(l) for l in (tmp_path / "oracle" / "explanations.jsonl").read_text().splitlines()]
    (tmp_path / "oracle" / "explanations.jsonl").write_text(
        "".join(json.dumps({**l, "faithful": None}) + "\n" for l in lines)
    )
    settings = load_settings(profile="smoke", overrides=['prism.systems=["student", "student_faithful"]'])
    with pytest.raises(PrismError, match="not judged"):
        run_prism(settings, tmp_path)


def test_explaining_a_new_pair_uses_the_oracles_facts(tmp_path):
    "A pair the teacher never explained gets the input the student trained on: the Oracle's history and fact window."
    from prism_nb.core import load_settings
    from prism_nb.data import pair_facts, run_data
    from prism_nb.oracle import linked_titles
    from prism_nb.prism import Prism

    settings = load_settings(profile="smoke")
    dataset = run_data(settings, tmp_path)
    (tmp_path / "oracle").mkdir()
    (tmp_path / "oracle" / "explanations.jsonl").write_text("")
    user = dataset.interactions.user.iloc[0]
    seen = set(dataset.interactions[dataset.interactions.user == user].item)
    kg_items = set(dataset.kg.item)
    item = next(i for i in dataset.items.item if i not in seen and i in kg_items)
    rec = Prism(None, settings, tmp_path).record(user, item)
    pf = pair_facts(dataset, user, item, settings.data.history_len, settings.data.min_rating, settings.data.kg_window)
    assert rec["facts"] == pf["facts"][: settings.oracle.max_facts]
    latest, extra = rec["history"][: settings.oracle.prompt_history], rec["history"][settings.oracle.prompt_history :]
    assert latest == pf["history"][: settings.oracle.prompt_history]
    assert [h["title"] for h in extra] == [
        t for t in linked_titles(rec["facts"]) if t not in {h["title"] for h in latest}
    ]
    assert all(h in pf["window"] for h in extra)


def test_smoke_run_serves_a_student_cut_from_the_full_one(smoke_run):
    "prism.keep_layers = 1: full-depth student trained, served one cut to 1 layer and distilled from it, both scored."
    from prism_nb.core import read_json

    summ = read_json(smoke_run / "student" / "summary.json")["systems"]
    assert (summ["student_full"]["layers"], summ["student"]["layers"]) == (2, 1)
    assert summ["student"]["cut_from"] == "student_full" and "cut_from" not in summ["student_full"]
    assert summ["student"]["params"] < summ["student_full"]["params"]
    assert load_student(smoke_run / "student").lm.config.num_hidden_layers == 1
    assert load_student(smoke_run / "student" / "full").lm.config.num_hidden_layers == 2
    preds = read_jsonl(smoke_run / "student" / "predictions.jsonl")
    pairs = lambda s: {(p["user"], p["item"]) for p in preds if p["system"] == s}
    assert pairs("student_full") == pairs("student") and pairs("student")
    m = read_json(smoke_run / "evaluation" / "metrics.json")
    assert "student_full" in m and "student_vs_student_full:hallucination_rate" in m["paired_tests"]
    assert "depth" in m["answers"]


@pytest.mark.slow  # trains a cut student twice (make test-slow)
def test_changing_the_cut_retrains_only_the_cut_student(smoke_run, tmp_path):
    "A new prism.cut_epochs keeps the full-depth student and the ablation, and distils the cut student again."
    from conftest import copy_run

    from prism_nb.core import Settings, read_json
    from prism_nb.prism import run_prism
    from prism_nb.run_folder import stage_transaction

    run = copy_run(smoke_run, tmp_path / "run")
    settings = Settings.from_dict(read_json(run / "settings.json"))
    kept = {d: (run / "student" / d / "model.safetensors").read_bytes() for d in ("full", "no_user")}
    first = read_json(run / "student" / "summary.json")["systems"]["student"]
    steps = first["total_steps"]
    cut = (run / "student" / "model.safetensors").read_bytes()
    settings.prism.cut_epochs = 2
    with (
        pytest.raises(RuntimeError, match="after the cut"),
        stage_transaction(run, "prism"),
    ):  # a stage failing after the new cut
        failed = run_prism(settings, run)["systems"]["student"]
        raise RuntimeError("a cell after the cut failed")
    assert (run / "student" / "model.safetensors").read_bytes() == cut and len(
        list((run / ".set_aside" / "student").iterdir())
    ) == 1
    info = run_prism(
        settings, run
    )  # the new cut was set aside, not rolled back with the rest: it comes back, distilled once
    assert (
        info["systems"]["student"]["train_seconds"] == failed["train_seconds"]
        and info["systems"]["student"]["total_steps"] == 2 * steps
    )
    assert info["systems"]["student"]["resumed_from"] == 0
    assert all((run / "student" / d / "model.safetensors").read_bytes() == b for d, b in kept.items())
    assert json.loads((run / "student" / ".cut").read_text())["prism.cut_epochs"] == 2
    settings.prism.keep_layers = 0  # back to a full-depth student: trained again, not the cut one reused
    info = run_prism(settings, run)
    assert info["systems"]["student"]["layers"] == 2 and "student_full" not in info["systems"]
    settings.prism.update(
        keep_layers=first["layers"], cut_epochs=1
    )  # back to the first cut: set aside, not deleted, so nothing trains
    info = run_prism(settings, run)
    assert (run / "student" / "model.safetensors").read_bytes() == cut and info["systems"]["student"][
        "train_seconds"
    ] == first["train_seconds"]
    assert json.loads((run / "student" / ".cut").read_text())["prism.cut_epochs"] == 1
    assert (
        len(list((run / ".set_aside" / "student").iterdir())) == 2
    )  # what was set aside meanwhile: the 2-epoch cut, the full-depth student
    from prism_nb.run_folder import set_aside_state

    assert sorted(r["settings"] for r in set_aside_state(settings, run)) == [
        "made with prism.cut_epochs=2 (now 1)",
        f"made with prism.keep_layers=0 (now {first['layers']})",
    ]  # each with what made it


def test_a_run_folder_from_before_training_json_trains_nothing_again(smoke_run, tmp_path):
    "Students saved when the training summary was summary.json (the student's: the stage summary's entry) are reused."
    from conftest import copy_run

    from prism_nb.core import Settings, read_json, write_json
    from prism_nb.prism import run_prism, system_dir

    run = copy_run(smoke_run, tmp_path / "run")
    settings = Settings.from_dict(read_json(run / "settings.json"))
    systems = ["student_full", *settings.prism.systems]
    trained = {s: read_json(system_dir(run, s) / "training.json") for s in systems}
    for s in systems:  # the layout of before: each system's summary.json, the student's only in the stage summary
        if s != "student":
            write_json(system_dir(run, s) / "summary.json", trained[s])
        (system_dir(run, s) / "training.json").unlink()
    info = run_prism(settings, run)
    assert {s: info["systems"][s]["train_seconds"] for s in systems} == {
        s: trained[s]["train_seconds"] for s in systems
    }
    assert all(read_json(system_dir(run, s) / "training.json")["steps"] == trained[s]["steps"] for s in systems)


@pytest.mark.slow  # exports and reruns the stage (make test-slow)
def test_prism_runtime_drives_the_test_predictions_and_trains_nothing_again(smoke_run, tmp_path):
    "prism.runtime = ct2, float32: each system's test predictions match transformers float32; no weight changes."
    from conftest import copy_run

    from prism_nb.core import Settings, read_json
    from prism_nb.prism import run_prism, stage_records, system_dir
    from prism_nb.student import decoding

    run = copy_run(smoke_run, tmp_path / "run")
    settings = Settings.from_dict(read_json(run / "settings.json"))
    systems = ["student_full", *settings.prism.systems]
    weights = {s: (system_dir(run, s) / "model.safetensors").read_bytes() for s in systems}
    trained = {
        s: read_json(system_dir(run, s) / "training.json")["train_seconds"] for s in systems
    }  # a second training would differ
    first = read_json(run / "student" / "summary.json")["systems"]
    before = read_jsonl(run / "student" / "predictions.jsonl")
    settings.prism.update(
        runtime="ct2", quantization="float32", no_repeat_ngram=0
    )  # CTranslate2's guard also counts the input
    info = run_prism(settings, run)
    assert all((system_dir(run, s) / "model.safetensors").read_bytes() == w for s, w in weights.items())
    assert {s: info["systems"][s]["train_seconds"] for s in systems} == trained
    made = lambda summary: {
        k: v
        for k, v in summary.items()
        if k
        not in ("runtime", "precision", "predict_seconds", "explanations_per_s", "served_by", "candidates_per_pair")
    }
    assert {s: made(info["systems"][s]) for s in systems} == {
        s: made(first[s]) for s in systems
    }  # each one's own training summary
    assert all(
        info["systems"][s]["runtime"] == "ct2"
        and info["systems"][s]["precision"] == "float32"
        and (system_dir(run, s) / "ct2-float32" / "model.bin").is_file()
        for s in systems
    )
    test = stage_records(settings, run)[1]["test"]
    preds = read_jsonl(run / "student" / "predictions.jsonl")
    same = [
        p.get("first", p["text"]) == t
        for s in systems  # the served student's own first answer, before verification
        for p, t in zip(
            [p for p in preds if p["system"] == s],
            generate(load_student(system_dir(run, s)), test, **decoding(settings.prism)),
        )
    ]
    assert len(same) == len(systems) * len(test) and sum(same) >= 0.98 * len(same), f"{sum(same)} of {len(same)} equal"
    info = run_prism(
        Settings.from_dict(read_json(run / "settings.json")), run
    )  # back to the run's settings: its first predictions again
    assert (
        info["systems"]["student"]["runtime"] == "transformers" and info["systems"]["student"]["precision"] != "auto"
    )  # resolved
    assert read_jsonl(run / "student" / "predictions.jsonl") == before


def test_every_served_explanation_is_verified_and_says_how_it_was_made(smoke_run, tmp_path):
    "Test predictions and batch explanations are served through the judge: each faithful by it, with served_by."
    from conftest import copy_run

    from prism_nb.batch import explain_file
    from prism_nb.claims import Vocabulary, judge
    from prism_nb.core import read_json
    from prism_nb.data import run_items
    from prism_nb.serving import SERVED_BY

    run = copy_run(smoke_run, tmp_path / "run")
    ox = {(r["user"], r["item"]): r for r in read_jsonl(run / "oracle" / "explanations.jsonl")}
    vocab = Vocabulary.from_items(run_items(run))
    served = [p for p in read_jsonl(run / "student" / "predictions.jsonl") if p["system"] == "student"]
    assert served and all(p["served_by"] in SERVED_BY and p["faithful"] for p in served)
    for p in served:  # what is recorded is the judge's verdict on the served text, and the first answer is kept apart
        rec = ox[(p["user"], p["item"])]
        assert judge(p["text"], rec["facts"], rec["history"], vocab)["faithful"]
        assert (p["first"] == p["text"]) == (p["served_by"] == "first")
    assert all(
        "served_by" not in p for p in read_jsonl(run / "student" / "predictions.jsonl") if p["system"] != "student"
    )
    summary = read_json(run / "student" / "summary.json")["systems"]["student"]
    assert sum(summary["served_by"].values()) == len(served) and summary["verified"]
    m = read_json(run / "evaluation" / "metrics.json")
    assert (
        "student_unverified" in m
        and "serving" in m["answers"]
        and abs(sum(m["student"]["served_by"].values()) - 1) < 1e-9
    )
    import pandas as pd

    pd.DataFrame([{"user": p["user"], "item": p["item"]} for p in served]).to_csv(tmp_path / "recs.csv", index=False)
    explain_file(run, tmp_path / "recs.csv", tmp_path / "out.jsonl", progress=False)
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [(o["user"], o["item"], o["text"], o["served_by"]) for o in out] == [
        (p["user"], p["item"], p["text"], p["served_by"]) for p in served
    ]
