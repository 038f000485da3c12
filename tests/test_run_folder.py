"""A finished run never loses or changes a byte. Bad input (settings, files, names) exits 2 with one line; a stage that
fails exits 1 with one line and is rolled back; killing the command stops every writer at once."""

import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import time

import pytest
from conftest import BIN, ROOT, copy_run, prism_nb


def files(run) -> dict:
    "Every file of a run folder with the SHA-256 of its bytes (error records left out: a failure adds them)."
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file() and "errors" not in p.relative_to(run).parts
    }


@pytest.fixture(scope="module")
def finished_run(smoke_run, tmp_path_factory):
    "A finished smoke run, and a folder of bad input files."
    run = copy_run(smoke_run, tmp_path_factory.mktemp("catalogue") / "smoke")
    bad = tmp_path_factory.mktemp("bad")
    (bad / "recs.csv").write_text("who,what\n1,2\n")
    (bad / "broken_pickle" / "1").mkdir(parents=True)
    (bad / "broken_pickle" / "reviews.pickle").write_bytes(b"\x80\x04not a pickle")
    (bad / "short_template" / "1").mkdir(parents=True)
    (bad / "short_template" / "reviews.pickle").write_bytes(
        pickle.dumps([{"user": "u", "item": "i", "rating": 5, "template": ("f", "a")}])
    )
    (bad / "amazon_empty").mkdir()
    (bad / "amazon_empty" / "All_Beauty.jsonl").write_text("")
    (bad / "amazon_empty" / "meta_All_Beauty.jsonl").write_text('{"parent_asin": "P1", "title": "Product 1"}\n')
    (bad / "amazon_torn").mkdir()
    (bad / "amazon_torn" / "meta_All_Beauty.jsonl").write_text('{"parent_asin": "P1", "title": "Product 1"}\n')
    (bad / "amazon_torn" / "All_Beauty.jsonl").write_text(
        '{"user_id": "U1", "parent_asin": "P1", "rating": 5.0, "timestamp": 1}\n{"user_id": "U2", "par\n'
    )
    return run, bad


# (arguments after `run --profile smoke --run-dir RUN --resume`, exit code, words of the one-line message);
# BAD: the bad files
CASES = {
    "batch of 0": (["prism.batch_size=0"], 2, "prism.batch_size must be between 1 and 4096, got 0"),
    "hub backbone offline": (
        ["prism.backbone=facebook/bart-base"],
        2,
        "prism.backbone: model 'facebook/bart-base' is neither a local folder",
    ),
    "infinite learning rate": (["prism.lr=1e400"], 2, "prism.lr must be a finite number"),
    "top 10^9": (["ranking.k=1000000000"], 2, "ranking.k must be between 1 and 1000"),
    "top 0": (["ranking.k=0"], 2, "ranking.k must be between 1 and 1000, got 0"),
    "negative pairs": (["oracle.n_pairs=-5", "prism.max_new_tokens=0"], 2, "oracle.n_pairs must be between 1"),
    "endless answers": (["oracle.max_new_tokens=100000000"], 2, "oracle.max_new_tokens must be between 1 and 4096"),
    "negative users": (["data.max_users=-1"], 2, "data.max_users must be at least 0"),
    "tpu": (["run.device=tpu"], 2, "run.device must be one of auto, cpu, cuda"),
    "unknown tiny teacher": (["oracle.model=tiny:gpt5"], 2, "oracle.model: unknown tiny model tiny:gpt5"),
    "no stage": (["--stages", ","], 2, "names no stage"),
    "unknown ranker": (["--stages", "ranking", "ranking.ranker=neural"], 2, "stage ranking: unknown ranker 'neural'"),
    "missing ranker file": (
        ["--stages", "ranking", "ranking.ranker=file", "ranking.file=/nonexistent/recs.csv"],
        2,
        "/nonexistent/recs.csv",
    ),
    "ranker file without columns": (
        ["--stages", "ranking", "ranking.ranker=file", "ranking.file=BAD/recs.csv"],
        2,
        "recs.csv",
    ),
    "PETER without a path": (["--stages", "data", "data.dataset=peter"], 2, "data.dataset=peter needs data.path"),
    "PETER broken pickle": (
        ["--stages", "data", "data.dataset=peter", "data.path=BAD/broken_pickle"],
        2,
        "is not a readable pickle",
    ),
    "PETER short template": (
        ["--stages", "data", "data.dataset=peter", "data.path=BAD/short_template"],
        2,
        "review record 0 has template ('f', 'a')",
    ),
    "Amazon empty file": (
        ["--stages", "data", "data.dataset=amazon2023", "data.path=BAD/amazon_empty"],
        2,
        "All_Beauty.jsonl is empty",
    ),
    "Amazon torn line": (
        ["--stages", "data", "data.dataset=amazon2023", "data.path=BAD/amazon_torn"],
        2,
        "All_Beauty.jsonl line 2 is not valid JSON",
    ),
    "unknown PETER hyperparameter": (
        ["--stages", "baselines", 'baselines.peter={"layers": 4}'],
        2,
        "baselines.peter: unknown hyperparameter(s) layers",
    ),
    "missing labels file": (
        ["--stages", "evaluation", "evaluation.readings=/nonexistent/labels.jsonl"],
        2,
        "evaluation.readings: no file /nonexistent/labels.jsonl",
    ),
    "ranker crash": (
        ["--stages", "ranking", 'ranking.params={"als": {"factors": "many"}}'],
        1,
        "stage ranking failed: TypeError",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_changes_no_byte_of_a_finished_run(finished_run, case):
    run, bad = finished_run
    args, code, words = CASES[case]
    before = files(run)
    r = prism_nb(
        "run",
        "--profile",
        "smoke",
        "--run-dir",
        run,
        "--resume",
        *[a.replace("BAD", str(bad)) for a in args],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code and len(lines) == 1 and lines[0].startswith("prism-nb: error:"), r.stderr[-3000:]
    assert words in lines[0], lines[0]
    assert files(run) == before  # not a byte lost or changed: outputs, done markers, notebooks, settings.json
    if code == 1 or "stage " in lines[0]:  # a stage ran: its error record and executed notebook are kept for reading
        stage = lines[0].split("stage ")[1].split()[0].rstrip(":")
        record = json.loads((run / "errors" / f"{stage}.json").read_text())
        assert record["stage"] == stage and os.path.isfile(record["notebook"]), record


def test_a_stage_that_succeeds_again_clears_its_error_record(finished_run):
    run, _ = finished_run
    assert (
        prism_nb("run", "--profile", "smoke", "--run-dir", run, "--stages", "data", "data.dataset=peter").returncode
        == 2
    )
    assert (run / "errors" / "data.json").is_file()
    r = prism_nb("run", "--profile", "smoke", "--run-dir", run, "--stages", "data")
    assert r.returncode == 0, r.stderr
    assert not (run / "errors" / "data.json").exists() and not (run / "errors" / "01_data.ipynb").exists()


def test_docs_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "site").write_text("mine")
    r = prism_nb("docs", "--out", tmp_path / "site", "--report-dir", tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert (tmp_path / "site").read_text() == "mine"


def kernels_of(pid: int) -> list[int]:
    "Live processes that a process `pid` started as Jupyter kernels (they carry JPY_PARENT_PID)."
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                env = open(f"/proc/{d}/environ", "rb").read().split(b"\0")
            except OSError:
                continue
            if f"JPY_PARENT_PID={pid}".encode() in env:
                found.append(int(d))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.slow  # a smoke run killed mid-Oracle (make test-slow)
def test_killing_the_command_mid_oracle_stops_every_writer(smoke_run, tmp_path):
    "kill -9 of `prism-nb run`'s process group while the Oracle generates: no file of the run changes afterwards."
    run = copy_run(smoke_run, tmp_path / "run")
    cache = run / "oracle" / "cache.jsonl"
    shutil.rmtree(run / "oracle")
    (run / "done" / "oracle.json").unlink()  # the Oracle's work starts from nothing
    args = [
        "run",
        "--profile",
        "smoke",
        "--run-dir",
        str(run),
        "--stages",
        "oracle",
        "oracle.batch_size=1",
        "oracle.pairs_per_user=2",
        "oracle.n_pairs=60",
    ]
    p = subprocess.Popen(
        [str(BIN / "prism-nb"), *args],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while not (cache.is_file() and cache.stat().st_size > 0):
        assert p.poll() is None and time.time() < deadline, "the Oracle stage never started generating"
        time.sleep(0.02)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    at_kill = files(run)
    n_at_kill = len(cache.read_text().splitlines())
    time.sleep(3)
    n_later = len(cache.read_text().splitlines())
    print(f"cache lines at the kill: {n_at_kill}, 3 s later: {n_later}; kernels left: {kernels_of(p.pid)}")
    assert files(run) == at_kill and kernels_of(p.pid) == []
    r = prism_nb(*args, "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    keys = [json.loads(line)["key"] for line in cache.read_text().splitlines()]
    stats = json.loads((run / "oracle" / "stats.json").read_text())
    print(
        f"after --resume: {len(keys)} cache lines, {len(set(keys))} distinct; "
        f"stats: generated {stats['generated']}, from cache {stats['from_cache']}"
    )
    assert len(keys) == len(set(keys)) == stats["n_pairs"] and stats["from_cache"] >= n_at_kill


@pytest.mark.slow  # trains the smoke students again (make test-slow)
def test_a_stage_that_fails_after_training_sets_its_students_aside(smoke_run, tmp_path, monkeypatch):
    "A prism stage that fails after training leaves the folder as it was, its students set aside for their settings."
    from prism_nb import run_folder
    from prism_nb.core import read_json

    run = copy_run(smoke_run, tmp_path / "run")
    before, real, said = files(run), run_folder.run_stage, []

    def fails_after_training(stage, *args, **kwargs):
        real(stage, *args, **kwargs)
        raise RuntimeError("a cell after training failed")

    monkeypatch.setattr(run_folder, "run_stage", fails_after_training)
    with pytest.raises(RuntimeError, match="after training failed"):
        run_folder.run_pipeline("smoke", run, "prism", ["prism.lr=0.002"], log=said.append)
    kept = lambda fs: {
        f: h for f, h in fs.items() if not f.startswith(".set_aside/") and f != "04_prism.ipynb"
    }  # (the notebook ran to its end here)
    assert kept(files(run)) == kept(before)  # as it was: the students, the done marker, settings.json
    [aside] = list((run / ".set_aside" / "student").iterdir())
    trained = read_json(aside / "training.json")
    assert any(
        s.startswith(f"  set aside .set_aside/student/{aside.name}") and "the next run of its stage brings it back" in s
        for s in said
    ), said
    [row] = run_folder.run_status(run)[
        "set_aside"
    ]  # under the folder's settings, as they were: what made it, and how to bring it back
    assert row["settings"] == "made with prism.lr=0.002 (now 0.0002)" and row["bring back"].endswith(
        "--keep-settings prism.lr=0.002"
    ), row
    monkeypatch.undo()
    said.clear()
    run_folder.run_pipeline(
        "smoke", run, "prism", ["prism.lr=0.002"], log=said.append
    )  # the same settings again: nothing trains
    assert f"  brought back .set_aside/student/{aside.name}: made with these settings before, not made again" in said, (
        said
    )
    assert (
        read_json(run / "student" / "training.json") == trained
        and read_json(run / "settings.json")["prism"]["lr"] == 0.002
    )
