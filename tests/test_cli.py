"`prism-nb` from the shell: bad input is one line and exit 2; a smoke run writes the data artifacts and resumes."

import json
import shlex

import pytest
from conftest import copy_run, prism_nb

from prism_nb.run_folder import snapshot_stage


def assert_one_line_error(r, *words):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("prism-nb: error:"), r.stderr
    for w in words:
        assert w in lines[0]


def test_unknown_profile():
    assert_one_line_error(prism_nb("run", "--profile", "nope"), "unknown profile 'nope'", "smoke")


def test_unknown_stage():
    assert_one_line_error(prism_nb("run", "--profile", "smoke", "--stages", "data,oracel"), "unknown stage(s) oracel")


def test_bad_override():
    assert_one_line_error(
        prism_nb("run", "--profile", "smoke", "oracle.batch_size=many"), "oracle.batch_size must be int"
    )
    assert_one_line_error(prism_nb("run", "--profile", "smoke", "data.nope=1"), "unknown settings key 'data.nope'")
    assert_one_line_error(prism_nb("run", "--profile", "smoke", "justtext"), "must look like section.key=value")


def test_missing_settings_file(tmp_path):
    assert_one_line_error(prism_nb("run", "--settings", tmp_path / "none.ini"), "not found")


def test_malformed_settings_file(tmp_path):
    (tmp_path / "s.ini").write_text("[data]\nthis is not ini\n")
    assert_one_line_error(prism_nb("run", "--settings", tmp_path / "s.ini"), "not a valid INI file")


def test_explain_without_run(tmp_path):
    r = prism_nb("explain", "--run-dir", tmp_path, "--user", "1", "--item", "2")
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith("prism-nb: error:"), r.stderr
    (tmp_path / "recs.csv").write_text("user,item\n1,2\n")
    assert_one_line_error(
        prism_nb(
            "explain", "--run-dir", tmp_path, "--recommendations", tmp_path / "recs.csv", "--out", tmp_path / "o.jsonl"
        ),
        "is not a run folder",
    )


@pytest.mark.slow  # the data stage twice through papermill (make test-slow)
def test_smoke_data_stage_and_resume(tmp_path):
    run = tmp_path / "smoke"
    r = prism_nb("run", "--profile", "smoke", "--stages", "data", "--run-dir", run)
    assert r.returncode == 0, r.stderr
    assert json.loads((run / "settings.json").read_text())["profile"] == "smoke"
    for t in ["interactions", "items", "kg", "users"]:
        assert (run / "data" / f"{t}.parquet").is_file()
    assert (run / "01_data.ipynb").is_file()
    stats = json.loads((run / "data" / "stats.json").read_text())
    assert stats["n_users"] == 60 and stats["splits"]["test"] == 60
    snapshot_stage(run, "data")  # what a kill of a rerun leaves before the stage changes a file
    assert prism_nb("status", "--run-dir", run).stdout.split("\n")[1].split()[:2] == ["data", "interrupted"]
    r = prism_nb("run", "--profile", "smoke", "--stages", "data", "--run-dir", run, "--resume")
    assert r.returncode == 0 and "up to date, skipped" in r.stdout
    assert not (run / ".backup").exists() and prism_nb("status", "--run-dir", run).stdout.split("\n")[1].split()[
        :2
    ] == ["data", "done"]


@pytest.mark.slow  # reruns smoke stages (make test-slow)
def test_keep_settings_reruns_a_folder_with_its_own_overrides(tmp_path):
    "--keep-settings starts from the folder's settings.json: an earlier override stays without being repeated."
    run = tmp_path / "smoke"
    assert prism_nb("run", "--profile", "smoke", "--stages", "data", "--run-dir", run, "prism.lr=0.002").returncode == 0
    r = prism_nb("run", "--stages", "data", "--run-dir", run, "--resume", "--keep-settings", "prism.epochs=7")
    assert r.returncode == 0 and "data: up to date, skipped" in r.stdout, r.stderr
    assert "prism.epochs: 1 -> 7" in r.stdout and "prism.lr" not in r.stdout, r.stdout  # only the new override changed
    saved = json.loads((run / "settings.json").read_text())
    assert (saved["prism"]["lr"], saved["prism"]["epochs"], saved["profile"]) == (0.002, 7, "smoke")
    r = prism_nb(
        "run", "--profile", "smoke", "--stages", "data", "--run-dir", run, "--resume"
    )  # without it: settings.ini's
    assert r.returncode == 0 and "prism.lr: 0.002 -> 0.0002" in r.stdout, r.stdout
    assert_one_line_error(
        prism_nb("run", "--run-dir", tmp_path / "new", "--keep-settings"), "holds no settings.json to keep"
    )
    assert_one_line_error(
        prism_nb("run", "--run-dir", run, "--keep-settings", "--settings", tmp_path / "s.ini"), "leave out --settings"
    )


def test_smoke_pipeline_end_to_end(smoke_run, tmp_path):
    "Every stage through papermill on the smoke profile; the artifact contract; --resume skips it all; explain answers."
    run = copy_run(smoke_run, tmp_path / "smoke")
    for p in [
        "settings.json",
        "data/interactions.parquet",
        "ranking/recommendations.parquet",
        "ranking/metrics.json",
        "oracle/explanations.jsonl",
        "student/predictions.jsonl",
        "evaluation/metrics.json",
        "profile/profile.json",
        "summary.json",
        "report.html",
        "07_report.ipynb",
    ]:
        assert (run / p).is_file(), p
    s = json.loads((run / "summary.json").read_text())
    assert {"dataset", "n_users", "n_items", "ranking", "oracle", "student", "evaluation", "profile"} <= set(s)
    assert {"ndcg@10", "hr@10"} <= set(s["ranking"]["als"]) and {"model", "n", "seconds"} <= set(s["oracle"])
    assert {"model", "params", "train_seconds"} <= set(s["student"]) and {"teacher", "student"} <= set(s["evaluation"])
    assert {"speedup", "memory_ratio"} <= set(s["profile"]) and {"latency_ms_p50", "peak_mem_mb"} <= set(
        s["profile"]["teacher"]
    )
    assert "Ranking" in (run / "report.html").read_text()
    r = prism_nb("run", "--profile", "smoke", "--run-dir", run, "--resume")
    assert r.returncode == 0 and r.stdout.count("up to date, skipped") == 8 and "settings changed" not in r.stdout, (
        r.stdout
    )
    assert "nothing to do: every stage asked for is up to date" in r.stdout, r.stdout
    r = prism_nb(
        "status", "--run-dir", run, "--json", "prism.epochs=3"
    )  # what a rerun with another number of epochs redoes
    stages = json.loads(r.stdout)["stages"]
    assert [s["state"] for s in stages] == ["done"] * 3 + ["settings changed"] * 5 and stages[3][
        "why"
    ] == "prism.epochs 1 -> 3", r.stdout
    before = (run / "student" / "predictions.jsonl").read_text()
    (run / "student" / "predictions.jsonl").unlink()  # resume trusts the outputs, not only the done marker
    assert "outputs changed" in prism_nb("status", "--run-dir", run).stdout.splitlines()[4]
    r = prism_nb("run", "--profile", "smoke", "--run-dir", run, "--resume", "--stages", "oracle,prism")
    assert r.returncode == 0 and "oracle: up to date, skipped" in r.stdout and "prism: done" in r.stdout, r.stdout
    assert (run / "student" / "predictions.jsonl").read_text() == before
    pair = json.loads((run / "student" / "predictions.jsonl").read_text().splitlines()[0])
    r = prism_nb("explain", "--run-dir", run, "--user", pair["user"], "--item", pair["item"])
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
    r = prism_nb("explain", "--run-dir", run, "--user", "nobody-like-this", "--item", pair["item"])
    assert r.returncode == 0 and r.stdout.strip() and "has no learned vector" in r.stderr, r.stderr
    explain_a_whole_ranking(run)
    r = prism_nb("export", "--run-dir", run, "--quantization", "int8")
    assert (
        r.returncode == 0
        and (run / "student" / "ct2-int8" / "model.bin").is_file()
        and (run / "student" / "ct2-int8" / "serve.json").is_file()
    ), r.stderr
    assert_one_line_error(
        prism_nb("export", "--run-dir", run, "--quantization", "int3"), "--quantization must be one of"
    )
    other = next(
        json.loads(l)["user"]
        for l in (run / "student" / "predictions.jsonl").read_text().splitlines()
        if json.loads(l)["user"] != pair["user"]
    )
    r = prism_nb("explain", "--run-dir", run, "--user", pair["user"], other, "--item", pair["item"], "1")
    assert r.returncode == 0 and r.stdout.count(" liked: ") == 2 and r.stdout.count(f"  {pair['item']}: ") == 2, (
        r.stdout + r.stderr
    )
    (run / "student" / "model.safetensors").unlink()
    assert_one_line_error(
        prism_nb(
            "explain", "--run-dir", run, "--user", pair["user"], "--item", pair["item"], "--runtime", "transformers"
        ),
        "has no weights",
    )
    # ids are checked before any model loads: the missing weights are never reached
    assert_one_line_error(
        prism_nb("explain", "--run-dir", run, "--user", "nosuchuser", "--item", "nosuchitem"),
        "item 'nosuchitem' is not in the dataset",
    )
    r = prism_nb("explain", "--run-dir", run, "--user", pair["user"], "--item", pair["item"], "--runtime", "ct2")
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 1, (
        r.stderr
    )  # served by the CTranslate2 export alone


@pytest.mark.slow  # reruns four stages of the smoke run (make test-slow)
def test_file_ranker_feeds_downstream_stages(smoke_run, tmp_path):
    "A user's CSV ranking replaces the ranker by one settings line; the Oracle answers the same pairs from its cache."
    import pandas as pd

    run = copy_run(smoke_run, tmp_path / "file")
    recs = pd.read_parquet(run / "ranking" / "recommendations.parquet")
    recs[["user", "item", "score"]].to_csv(tmp_path / "mine.csv", index=False)
    trained = (run / "student" / "training.json").read_text()
    r = prism_nb(
        "run",
        "--profile",
        "smoke",
        "--stages",
        "data,ranking,oracle,prism",
        "--run-dir",
        run,
        "--resume",
        "ranking.ranker=file",
        f"ranking.file={tmp_path / 'mine.csv'}",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "data: up to date, skipped" in r.stdout and "prism: done" in r.stdout, r.stdout
    assert (
        "settings changed since this folder's last run" in r.stdout and "ranking.ranker: 'als' -> 'file'" in r.stdout
    ), r.stdout
    mine = pd.read_parquet(run / "ranking" / "recommendations.parquet")
    assert set(zip(mine.user, mine.item)) == set(zip(recs.user, recs.item))
    stats = json.loads((run / "oracle" / "stats.json").read_text())
    assert stats["from_cache"] == stats["n_pairs"] and stats["generated"] == 0, (
        stats
    )  # same pairs: nothing generated again
    predicted = {
        (p["user"], p["item"])
        for p in map(json.loads, (run / "student" / "predictions.jsonl").read_text().splitlines())
    }
    assert predicted and predicted <= set(zip(recs.user.astype(str), recs.item.astype(str)))
    assert "set aside .set_aside/student/" in r.stdout and "made with ranking.ranker='als' (now 'file')" in r.stdout, (
        r.stdout
    )  # kept, not deleted
    status = prism_nb("status", "--run-dir", run).stdout  # what was set aside, and the command that brings it back
    [back] = [shlex.split(line.split("bring back: ")[1]) for line in status.splitlines() if "bring back: " in line]
    assert back[:3] == ["prism-nb", "run", "--run-dir"] and "ranking.ranker=als" in back, status
    r = prism_nb(*back[1:], "--stages", "prism")  # the override undone
    assert (
        r.returncode == 0
        and "brought back .set_aside/student/" in r.stdout
        and "set aside .set_aside/student/" in r.stdout
    ), r.stdout
    assert (run / "student" / "training.json").read_text() == trained  # the ALS students are back, not trained again


FACTS = [
    {"kind": "title", "text": "title: Courage Under Fire", "value": "Courage Under Fire (1996)"},
    {"kind": "genre", "text": "genres: Drama, War", "value": ["Drama", "War"]},
    {"kind": "shared_actor", "text": "shares an actor with Manhattan", "value": "actor", "via": "Manhattan (1979)"},
]
HISTORY = [{"item": "1", "title": "Fly Away Home (1996)"}]


def test_judge_writes_verdicts_and_claims(tmp_path):
    lines = [
        {"text": "It shares an actor with Manhattan.", "facts": FACTS, "history": HISTORY},
        {"text": "The user enjoyed Courage Under Fire, a comedy.", "facts": FACTS, "history": HISTORY},
    ]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = prism_nb("judge", "--in", tmp_path / "in.jsonl", "--out", tmp_path / "out.jsonl")
    assert r.returncode == 0 and "2 texts judged, 1 unfaithful" in r.stdout, r.stderr
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x["faithful"] for x in out] == [True, False]
    bad = sorted((c["kind"], c["status"], c["claim"]) for c in out[1]["claims"] if c["status"] != "supported")
    assert bad == [
        ("content", "unsupported", "comedy"),
        ("user", "contradicted", "The user enjoyed Courage Under Fire"),
    ]
    # without --run-dir only the prompt's genres are known, so "comedy" is a word the facts lack rather than a genre


def test_judge_on_a_finished_run_settles_unbacked_genres(smoke_run, tmp_path):
    "The README's `prism-nb judge --run-dir` on a finished run: a genre the prompt lacks is settled by the catalogue."
    from prism_nb.data import load_run_data

    rows = [json.loads(x) for x in (smoke_run / "oracle" / "explanations.jsonl").read_text().splitlines()]
    dataset, r = load_run_data(smoke_run), rows[0]
    genres = list(dataset.item_info[str(r["item"])]["genres"])
    other = next(g for g in sorted({g for i in dataset.item_info.values() for g in i["genres"]}) if g not in genres)
    texts = [f"It is a {genres[0]} film.", f"It is a {other} film.", f"It shares {other} with the movies they liked."]
    (tmp_path / "in.jsonl").write_text(
        "".join(
            json.dumps({**r, "facts": [f for f in r["facts"] if f["kind"] == "title"], "text": t}) + "\n" for t in texts
        )
    )
    p = prism_nb("judge", "--in", tmp_path / "in.jsonl", "--out", tmp_path / "out.jsonl", "--run-dir", smoke_run)
    assert p.returncode == 0 and "3 texts judged, 3 unfaithful" in p.stdout, p.stderr
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    truth = [[c.get("truth") for c in x["claims"] if c["kind"] in ("genre", "liked_genre")] for x in out]
    assert truth[0] == [True] and truth[1] == [False] and False in truth[2], truth  # the item is not `other`


def test_judge_refuses_a_malformed_line_and_keeps_earlier_output(tmp_path):
    (tmp_path / "out.jsonl").write_text("earlier output\n")
    (tmp_path / "in.jsonl").write_text(
        json.dumps({"text": "ok", "facts": FACTS, "history": HISTORY}) + "\n" + '{"text": "no facts"}\n'
    )
    assert_one_line_error(
        prism_nb("judge", "--in", tmp_path / "in.jsonl", "--out", tmp_path / "out.jsonl"), "line 2", "facts"
    )
    (tmp_path / "in.jsonl").write_text("{not json\n")
    assert_one_line_error(
        prism_nb("judge", "--in", tmp_path / "in.jsonl", "--out", tmp_path / "out.jsonl"), "line 1 is not valid JSON"
    )
    assert_one_line_error(
        prism_nb("judge", "--in", tmp_path / "none.jsonl", "--out", tmp_path / "out.jsonl"), "not found"
    )
    assert (tmp_path / "out.jsonl").read_text() == "earlier output\n"


@pytest.mark.parametrize(
    "override, words",
    [
        ("prism.batch_size=0", "prism.batch_size must be between 1 and 4096, got 0"),
        ("prism.lr=1e400", "prism.lr must be a finite number"),
        ("ranking.k=1000000000", "ranking.k must be between 1 and 1000"),
        ("oracle.n_pairs=-5", "oracle.n_pairs must be between 1"),
        ("oracle.max_new_tokens=100000000", "oracle.max_new_tokens must be between 1 and 4096"),
        ("data.max_users=-1", "data.max_users must be at least 0"),
        ("prism.max_new_tokens=0", "prism.max_new_tokens must be between 1"),
    ],
)
def test_out_of_range_values_are_refused_before_anything_runs(tmp_path, override, words):
    run = tmp_path / "run"
    assert_one_line_error(
        prism_nb("run", "--profile", "smoke", "--run-dir", run, override), override.split("=")[0], words
    )
    assert not run.exists(), "nothing is written for refused settings"


@pytest.mark.parametrize(
    "overrides, words",
    [
        (
            ["prism.runtime=ort", "prism.quantization=int16"],
            "prism.quantization must be one of int4, int8, float32 on ort, got 'int16'",
        ),
        (
            ["oracle.backend=ct2", "oracle.quantization=int4"],
            "oracle.quantization must be one of int8, int8_float32, int16",
        ),
    ],
)
def test_weights_a_runtime_cannot_make_are_refused_before_anything_runs(tmp_path, overrides, words):
    run = tmp_path / "run"
    assert_one_line_error(prism_nb("run", "--profile", "smoke", "--run-dir", run, *overrides), words)
    assert not run.exists(), "nothing is written for refused settings"


def test_a_second_writer_on_one_run_folder_is_refused(tmp_path):
    import socket

    run = tmp_path / "run"
    run.mkdir()
    holder = __import__("subprocess").Popen(["sleep", "30"])  # a live process standing for a running prism-nb
    try:
        (run / ".lock").write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname()}))
        before = sorted(p.name for p in run.iterdir())
        assert_one_line_error(
            prism_nb("run", "--profile", "smoke", "--stages", "data", "--run-dir", run),
            "is in use by prism-nb",
            str(holder.pid),
        )
        assert sorted(p.name for p in run.iterdir()) == before, "the refused run wrote nothing"
    finally:
        holder.kill()
        holder.wait()
    r = prism_nb(
        "run", "--profile", "smoke", "--stages", "data", "--run-dir", run
    )  # the holder is gone: its stale lock is taken over
    assert r.returncode == 0, r.stderr
    assert not (run / ".lock").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--stages", ","], "names no stage"),
        (["--profile", ""], "--profile is empty"),
        (["--run-dir", ""], "--run-dir is empty"),
    ],
)
def test_empty_arguments_are_refused(args, words):
    argv = ["run"] + (["--profile", "smoke"] if "--profile" not in args else []) + args
    assert_one_line_error(prism_nb(*argv), words)


def test_run_dir_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    assert_one_line_error(prism_nb("run", "--profile", "smoke", "--run-dir", tmp_path / "f" / "run"), "is a file")
    assert_one_line_error(prism_nb("run", "--profile", "smoke", "--run-dir", tmp_path / "f"), "is a file")


def test_docs_never_deletes_a_folder_it_did_not_build(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert_one_line_error(prism_nb("docs", "--out", tmp_path / "mine"), "did not write")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert_one_line_error(prism_nb("docs", "--out", tmp_path / "mine" / "notes.txt"), "is a file")
    assert_one_line_error(
        prism_nb("docs", "--out", tmp_path / "site", "--report-dir", tmp_path / "nope"), "not a run folder"
    )


def explain_a_whole_ranking(run):
    "`explain --recommendations`: every user's top row of the run's ranking, once each; a bad row is reported by line."
    import signal
    import subprocess
    import time

    import pandas as pd
    from conftest import BIN, ROOT

    out, recs = run / "explained.jsonl", pd.read_parquet(run / "ranking" / "recommendations.parquet")
    args = [
        "explain",
        "--run-dir",
        str(run),
        "--recommendations",
        str(run / "ranking" / "recommendations.parquet"),
        "--top",
        "1",
        "--out",
        str(out),
        "--batch-size",
        "2",
    ]
    p = subprocess.Popen([str(BIN / "prism-nb"), *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while p.poll() is None and not (out.is_file() and out.read_text().count("\n") >= 4):
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    r = prism_nb(*args)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    print(f"explain --recommendations: {r.stdout.strip()}")
    assert sorted((x["user"], x["item"]) for x in rows) == sorted(
        zip(recs[recs["rank"] == 1].user, recs[recs["rank"] == 1]["item"])
    )
    bad = run / "bad.csv"
    bad.write_text(f"user,item,rank\n{rows[0]['user']},{rows[0]['item']},1\n{rows[0]['user']},no-such-item,2\n")
    r = prism_nb("explain", "--run-dir", run, "--recommendations", bad, "--out", run / "bad.jsonl")
    assert r.returncode == 0 and "1 bad rows skipped" in r.stderr, r.stderr
    assert json.loads((run / "bad.jsonl.errors.jsonl").read_text())["line"] == 3
    assert_one_line_error(prism_nb("explain", "--run-dir", run, "--recommendations", bad), "needs --out")
    assert_one_line_error(
        prism_nb("explain", "--run-dir", run, "--recommendations", run / "none.csv", "--out", run / "o.jsonl"),
        "none.csv not found",
    )
    assert_one_line_error(prism_nb("explain", "--run-dir", run), "needs --user and --item")


def test_the_cli_refuses_a_value_outside_the_choices_the_schema_declares(monkeypatch, tmp_path, capsys):
    "Choices live in `SCHEMA` alone: narrow one there and the command line refuses the value it no longer lists."
    import dataclasses

    from prism_nb import cli, core

    args = ["run", "--profile", "smoke", "--run-dir", str(tmp_path / "run"), "--stages", "data", "oracle.engine=ray"]
    monkeypatch.setitem(
        core.SCHEMA, "oracle.engine", dataclasses.replace(core.SCHEMA["oracle.engine"], choices=("local",))
    )
    assert cli.main(args) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "prism-nb: error: settings key oracle.engine must be one of local, got 'ray'"
    ]
    assert not (tmp_path / "run").exists()  # refused before anything is written
    monkeypatch.undo()
    assert (
        core.load_settings(profile="smoke", overrides=["oracle.engine=ray"]).oracle.engine == "ray"
    )  # the declared choices allow it
