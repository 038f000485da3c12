"The Oracle stage: a real generation process killed part way resumes without losing or duplicating an explanation."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from prism_nb.core import open_run, ensure_upstream, read_jsonl, PrismError
from prism_nb import oracle

ROOT = Path(__file__).resolve().parents[1]
RUN = "import sys; from prism_nb.core import open_run; from prism_nb.oracle import run_oracle; S, d = open_run(sys.argv[1]); run_oracle(S, d, progress=False)"


def _start(run_dir):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", RUN, str(run_dir)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _lines(p):
    return p.read_text().count("\n") if p.is_file() else 0


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("oracle_run")
    S, d = open_run(d, "smoke", overrides=["oracle.n_pairs=40", "oracle.batch_size=1", "oracle.max_new_tokens=16"])
    ensure_upstream(S, d, "oracle")
    return d


def test_sigkill_then_resume(run_dir):
    cache = run_dir / "oracle" / "cache.jsonl"
    p = _start(run_dir)
    t0 = time.time()
    while _lines(cache) < 5:
        assert p.poll() is None, f"oracle process ended before it could be killed:\n{p.stdout.read()}"
        assert time.time() - t0 < 120, "no explanation written within 120 s"
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL
    done_before = len(oracle.read_cache(cache))
    assert 5 <= done_before < 40, done_before
    assert not (run_dir / "done" / "oracle.json").exists()
    with open(cache, "a") as f: f.write('{"key": "torn li')  # as a kill in the middle of a write leaves it

    p = _start(run_dir); out, _ = p.communicate(timeout=300)
    assert p.returncode == 0, out
    S, _ = open_run(run_dir)
    stats = json.loads((run_dir / "oracle" / "stats.json").read_text())
    assert stats["from_cache"] == done_before and stats["generated"] == 40 - done_before
    rows = read_jsonl(run_dir / "oracle" / "explanations.jsonl")
    pairs = [(r["user"], r["item"]) for r in rows]
    recs = __import__("pandas").read_parquet(run_dir / "ranking" / "recommendations.parquet")
    want = list(map(tuple, oracle.select_pairs(recs, 40, S.oracle.pairs_per_user, S.run.seed)[["user", "item"]].values))
    assert sorted(pairs) == sorted(want) and len(set(pairs)) == len(pairs) == 40
    keys = [r["key"] for r in read_jsonl(cache)]
    assert len(keys) == len(set(keys)) == 40  # nothing generated twice
    for r in rows:
        assert r["prompt"] and r["facts"] and r["facts"][0]["kind"] == "title" and isinstance(r["faithful"], bool)

    # a rerun with the same settings generates nothing
    st = oracle.run_oracle(S, run_dir, progress=False)
    assert (st["generated"], st["from_cache"]) == (0, 40)
    assert _lines(cache) == 40


def test_settings_errors(run_dir):
    S, _ = open_run(run_dir)
    S.oracle.filter = "maybe"
    with pytest.raises(PrismError, match="oracle.filter must be one of off, flag, drop"):
        oracle.run_oracle(S, run_dir)
    S.oracle.filter, S.oracle.backend = "flag", "vllm"
    with pytest.raises(PrismError, match="unknown oracle.backend 'vllm'"):
        oracle.run_oracle(S, run_dir)
    S.oracle.backend, S.oracle.model = "transformers", "packaged:gpt-9"
    with pytest.raises(PrismError, match="packaged:qwen2.5-coder-1.5b-instruct"):
        oracle.run_oracle(S, run_dir)
