"The batch explainer on Ray: the local engine's rows from a pool of actors, on one machine or two nodes, through kills."

import os
import re
import secrets
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import BIN, ROOT, copy_run, kill_an_actor_then_the_driver, lines, prism_nb, processes

from prism_nb.core import read_jsonl

pytestmark = pytest.mark.slow  # Ray clusters start in tens of seconds (make test-slow)

N = 120  # rows of the smoke ranking explained by the kill tests, one per batch so that a kill falls between batches


@pytest.fixture(scope="module")
def ranking(smoke_run, tmp_path_factory):
    "A copy of the smoke run, the first N rows of its ranking as parquet, and the local engine's output for them."
    d = tmp_path_factory.mktemp("batch")
    run = copy_run(smoke_run, d / "run")
    recs = d / "recs.parquet"
    pd.read_parquet(run / "ranking" / "recommendations.parquet").head(N).to_parquet(recs, row_group_size=32)
    r = prism_nb(
        *explain_args(run, recs, d / "local.jsonl")
    )  # the local engine, with the command's defaults (runtime: the profile's fastest)
    assert r.returncode == 0 and "local engine" in r.stdout, r.stderr[-2000:]
    return run, recs, read_jsonl(d / "local.jsonl")


def explain_args(run, recs, out, *more):
    return [
        "explain",
        "--run-dir",
        str(run),
        "--recommendations",
        str(recs),
        "--out",
        str(out),
        "--batch-size",
        "1",
        *more,
    ]


def test_two_ray_actors_write_the_local_engines_rows(ranking, tmp_path):
    run, recs, local = ranking
    r = prism_nb(*explain_args(run, recs, tmp_path / "ray.jsonl", "--engine", "ray", "--workers", "2"))
    assert r.returncode == 0, r.stderr[-2000:]
    print(f"explain --engine ray --workers 2: {r.stdout.strip()}")
    assert read_jsonl(tmp_path / "ray.jsonl") == local  # the same rows, texts and verdicts, in file order
    assert "ray engine, 2 worker(s)" in r.stdout and not (tmp_path / "ray.jsonl.parts").exists()


def actors() -> list:
    return processes("ExplainActor")


def test_a_killed_actor_is_replaced_and_a_killed_driver_resumes_with_only_the_missing_rows(ranking, tmp_path):
    run, recs, local = ranking
    out, parts = tmp_path / "out.jsonl", tmp_path / "out.jsonl.parts"
    args = [str(BIN / "prism-nb"), *explain_args(run, recs, out, "--engine", "ray", "--workers", "2")]
    p = subprocess.Popen(
        args, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    k = kill_an_actor_then_the_driver(p, out, actors, more=10)
    in_out, done = lines(out), {r["line"] for r in read_jsonl(out)}
    # a shard whose rows reached the output just before the kill is still on disk: it is not read back
    shards = sum(r["line"] not in done for f in parts.glob("*.jsonl") for r in read_jsonl(f))
    r = prism_nb(*explain_args(run, recs, out, "--engine", "ray", "--workers", "2"))
    assert r.returncode == 0, r.stderr[-2000:]
    print(
        f"actor {k['victim']} killed at row {k['at_actor_kill']} of {N}, replaced by Ray; "
        f"driver killed at {in_out} rows with {shards} shards not yet appended; resumed: {r.stdout.strip()}"
    )
    assert in_out < N, "the run had finished before the kill: it tests nothing"
    said = re.match(
        r"(\d+) rows: (\d+) explained now \((\d+) generated(?:, (\d+) read back[^)]*)?\), (\d+) already in", r.stdout
    )
    assert said, r.stdout
    assert [int(x or 0) for x in said.groups()] == [
        N,
        N - in_out,
        N - in_out - shards,
        shards,
        in_out,
    ]  # only the missing rows generated
    assert read_jsonl(out) == local  # nothing lost, nothing twice, the same texts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_two_node_cluster_runs_the_explainer_as_a_ray_job(ranking, tmp_path):
    "`ray start --head` and a second node of one CPU each: the job's two one-CPU actors can only run one per node."
    run, recs, local = ranking
    (tmp_path / "token").write_text(secrets.token_hex(32))
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(tmp_path / "token"),
        "PRISM_NB_ROOT": str(ROOT),
    }
    ray = lambda *a, timeout=120: subprocess.run(
        [str(BIN / "ray"), *a], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )
    port, dash = free_port(), free_port()
    try:
        head = ray(
            "start",
            "--head",
            "--port",
            str(port),
            "--num-cpus",
            "1",
            "--dashboard-host",
            "127.0.0.1",
            "--dashboard-port",
            str(dash),
            "--disable-usage-stats",
        )
        assert head.returncode == 0, head.stderr[-2000:]
        node = ray("start", "--address", f"127.0.0.1:{port}", "--num-cpus", "1", "--disable-usage-stats")
        assert node.returncode == 0, node.stderr[-2000:]
        nodes = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import ray; ray.init(address='127.0.0.1:{port}', logging_level='ERROR'); "
                "print(sum(n['Alive'] for n in ray.nodes()))",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert nodes.stdout.split()[-1] == "2", nodes.stderr[-2000:]
        t0 = time.time()
        job = ray(
            "job",
            "submit",
            "--address",
            f"http://127.0.0.1:{dash}",
            "--",
            str(BIN / "prism-nb"),
            *explain_args(run, recs, tmp_path / "job.jsonl", "--engine", "ray", "--workers", "2", "--address", "auto"),
            timeout=400,
        )
        assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
        print(f"two-node cluster: ray job submit ran {N} explanations in {time.time() - t0:.0f} s")
    finally:
        ray("stop", "--force")
    assert read_jsonl(tmp_path / "job.jsonl") == local
