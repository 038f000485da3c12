"The Oracle stage: a real generation process killed part way resumes without losing or duplicating an explanation."

import json
import signal
import time
from pathlib import Path

import pytest
from conftest import python_child

from prism_nb import oracle
from prism_nb.core import PrismError, read_jsonl
from prism_nb.run_folder import ensure_upstream, open_run

ROOT = Path(__file__).resolve().parents[1]
RUN = (
    "import sys; from prism_nb.run_folder import open_run; from prism_nb.oracle import run_oracle; "
    "S, d = open_run(sys.argv[1]); run_oracle(S, d, progress=False)"
)


def _start(run_dir):
    return python_child("-c", RUN, run_dir)


def _lines(p):
    return p.read_text().count("\n") if p.is_file() else 0


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("oracle_run")
    settings, d = open_run(
        d, "smoke", overrides=["oracle.n_pairs=40", "oracle.batch_size=1", "oracle.max_new_tokens=16"]
    )
    ensure_upstream(settings, d, "oracle")
    return d


def test_sigkill_then_resume(run_dir):
    cache = run_dir / "oracle" / "cache.jsonl"
    p = _start(run_dir)
    t0 = time.time()
    while _lines(cache) < 5:
        assert p.poll() is None, f"oracle process ended before it could be killed:\n{p.stdout.read()}"
        assert time.time() - t0 < 120, "no explanation written within 120 s"
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL
    done_before = len(oracle.read_cache(cache))
    assert 5 <= done_before < 40, done_before
    assert not (run_dir / "done" / "oracle.json").exists()
    with open(cache, "a") as f:
        f.write('{"key": "torn li')  # as a kill in the middle of a write leaves it

    p = _start(run_dir)
    out, _ = p.communicate(timeout=300)
    assert p.returncode == 0, out
    settings, _ = open_run(run_dir)
    stats = json.loads((run_dir / "oracle" / "stats.json").read_text())
    assert stats["from_cache"] == done_before and stats["generated"] == 40 - done_before
    rows = read_jsonl(run_dir / "oracle" / "explanations.jsonl")
    pairs = [(r["user"], r["item"]) for r in rows]
    recs = __import__("pandas").read_parquet(run_dir / "ranking" / "recommendations.parquet")
    want = list(
        map(
            tuple,
            oracle.select_pairs(recs, 40, settings.oracle.pairs_per_user, settings.run.seed)[["user", "item"]].values,
        )
    )
    assert sorted(pairs) == sorted(want) and len(set(pairs)) == len(pairs) == 40
    keys = [r["key"] for r in read_jsonl(cache)]
    assert len(keys) == len(set(keys)) == 40  # nothing generated twice
    for r in rows:
        assert r["prompt"] and r["facts"] and r["facts"][0]["kind"] == "title" and isinstance(r["faithful"], bool)

    # a rerun with the same settings generates nothing
    st = oracle.run_oracle(settings, run_dir, progress=False)
    assert (st["generated"], st["from_cache"]) == (0, 40)
    assert _lines(cache) == 40


def test_settings_errors(run_dir):
    settings, _ = open_run(run_dir)
    settings.oracle.filter = "maybe"
    with pytest.raises(PrismError, match="oracle.filter must be one of off, flag, drop"):
        oracle.run_oracle(settings, run_dir)
    settings.oracle.filter, settings.oracle.backend = "flag", "vllm"
    with pytest.raises(PrismError, match="unknown oracle.backend 'vllm'"):
        oracle.run_oracle(settings, run_dir)
    settings.oracle.backend, settings.oracle.model = "transformers", "packaged:gpt-9"
    with pytest.raises(PrismError, match="packaged:qwen2.5-coder-1.5b-instruct"):
        oracle.run_oracle(settings, run_dir)


RETRY = (
    "import sys; from prism_nb.run_folder import open_run; from prism_nb.oracle import run_oracle; "
    "S, d = open_run(sys.argv[1]); "
    "S.oracle.filter, S.oracle.retries = 'retry', 1; run_oracle(S, d, progress=False)"
)


def test_retries_are_cached_and_survive_a_kill(run_dir, tmp_path):
    "filter=retry asks again for every unfaithful answer; a kill during the retries loses only the batch in flight."
    import shutil

    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    cache = d / "oracle" / "cache.jsonl"
    n_first = len(oracle.read_cache(cache))  # the module's run answered all 40 pairs once
    p = python_child("-c", RETRY, d)
    t0 = time.time()
    while _lines(cache) < n_first + 3:
        assert p.poll() is None, f"oracle ended before its retries could be killed:\n{p.stdout.read()}"
        assert time.time() - t0 < 120, "no retry written within 120 s"
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    retried_before_kill = _lines(cache) - n_first
    print(f"retries cached before the kill: {retried_before_kill}")
    settings, _ = open_run(d)
    settings.oracle.filter, settings.oracle.retries = "retry", 1
    st = oracle.run_oracle(settings, d, progress=False)
    keys = [r["key"] for r in read_jsonl(cache)]
    assert len(keys) == len(set(keys)) == n_first + st["n_retries"], "no retry generated twice, none missing"
    assert st["n_retried"] == st["n_unfaithful"] == st["n_retries"] > retried_before_kill
    rows = read_jsonl(d / "oracle" / "explanations.jsonl")
    retried = [r for r in rows if r["attempts"]]
    assert len(retried) == st["n_retried"] and all(r["attempts"][0]["faithful"] is False for r in retried)
    assert all('A previous answer was: "' in r["prompt"] for r in retried)
    assert sum(r["faithful"] is False for r in rows) == st["n_unfaithful_final"]
    st2 = oracle.run_oracle(settings, d, progress=False)
    assert _lines(cache) == len(keys) and st2["n_retries"] == st["n_retries"]  # a rerun asks nothing again
