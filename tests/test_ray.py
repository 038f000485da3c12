"The Oracle on Ray: the same texts as the local engine, nothing lost or made twice when an actor or the driver dies."

import json
import shutil
from pathlib import Path

import pytest
from conftest import kill_an_actor_then_the_driver, lines, prism_nb, processes, python_child

from prism_nb.core import read_jsonl
from prism_nb.oracle import run_oracle
from prism_nb.run_folder import ensure_upstream, open_run

pytestmark = pytest.mark.slow  # Ray clusters start in tens of seconds (make test-slow)

ROOT = Path(__file__).resolve().parents[1]
N = 80  # pairs explained by the kill tests; batches of 1 and 64 new tokens keep the tiny teacher busy for seconds
RAY = ["oracle.engine=ray", "oracle.workers=2"]
RUN = (
    "import sys; from prism_nb.core import set_key, parse_value; from prism_nb.run_folder import open_run; "
    "from prism_nb.oracle import run_oracle; "
    "S, d = open_run(sys.argv[1]); "
    "[set_key(S, k, parse_value(v), 'test') for k, v in (a.split('=', 1) for a in sys.argv[2:])]; "
    "run_oracle(S, d, progress=False)"
)
KILL_SETTINGS = [f"oracle.n_pairs={N}", "oracle.batch_size=1", "oracle.max_new_tokens=64", *RAY]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    "A smoke run with the data and ranking stages done and the Oracle's explanations from the local engine."
    S, run = open_run(tmp_path_factory.mktemp("ray") / "local", "smoke")
    ensure_upstream(S, run, "oracle")
    run_oracle(S, run, progress=False)
    return run


def without_oracle(run, dst):
    "A copy of `run` whose Oracle stage has not run."
    shutil.copytree(run, dst, ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.rmtree(dst / "oracle")
    (dst / "done" / "oracle.json").unlink()
    return dst


def start(run_dir, *settings):
    "The Oracle stage of `run_dir` in its own process group, with `section.key=value` settings."
    return python_child("-c", RUN, run_dir, *settings, start_new_session=True)


def actors() -> list:
    return processes("TeacherActor")


def test_ray_engine_writes_the_local_engines_texts(upstream, tmp_path):
    run = without_oracle(upstream, tmp_path / "ray")
    r = prism_nb("run", "--profile", "smoke", "--run-dir", run, "--stages", "oracle", *RAY)
    assert r.returncode == 0, r.stderr[-2000:]
    local, ray = (read_jsonl(d / "oracle" / "explanations.jsonl") for d in (upstream, run))
    print(
        f"local engine {len(local)} explanations, ray engine (2 actors) {len(ray)}; "
        f"identical texts: {sum(a['raw'] == b['raw'] for a, b in zip(local, ray))}"
    )
    assert [(r["user"], r["item"], r["raw"]) for r in ray] == [(r["user"], r["item"], r["raw"]) for r in local]
    stats = json.loads((run / "oracle" / "stats.json").read_text())
    assert (stats["engine"], stats["workers"], stats["generated"]) == ("ray", 2, len(local))
    assert not any((run / "oracle" / "shards").iterdir())  # every shard merged into the cache, then deleted


def test_a_killed_actor_is_replaced_and_a_killed_driver_resumes_with_only_the_missing_keys(upstream, tmp_path):
    run = without_oracle(upstream, tmp_path / "kills")
    cache, shards = run / "oracle" / "cache.jsonl", run / "oracle" / "shards"
    p = start(run, *KILL_SETTINGS)
    k = kill_an_actor_then_the_driver(p, cache, actors, more=5)
    victim, at_actor_kill, left, gone_after = k["victim"], k["at_actor_kill"], k["left"], k["gone_after"]
    in_cache, in_shards = lines(cache), len(list(shards.glob("*.jsonl")))
    p = start(run, *KILL_SETTINGS)
    out, _ = p.communicate(timeout=300)
    assert p.returncode == 0, out[-3000:]
    stats = json.loads((run / "oracle" / "stats.json").read_text())
    keys = [r["key"] for r in read_jsonl(cache)]
    print(
        f"actor {victim} killed at {at_actor_kill} of {N} explanations, replaced by Ray; "
        f"driver killed later: its actors gone {gone_after:.0f} s later, "
        f"{in_cache} lines in the cache and {in_shards} unmerged shards; resumed: "
        f"{stats['from_cache']} from the cache, {stats['generated']} generated, "
        f"{len(keys)} lines, {len(set(keys))} distinct"
    )
    assert in_cache < N, "the run had finished before the kill: it tests nothing"
    assert stats["from_cache"] >= in_cache and stats["from_cache"] + stats["generated"] == N
    assert len(keys) == len(set(keys)) == N
    assert len(read_jsonl(run / "oracle" / "explanations.jsonl")) == N
    assert not left, "the actors of the stage's private Ray cluster outlived its driver by 30 s"
