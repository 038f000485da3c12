"Annotation app logic without a browser: blind A/B/C, crash-safe resume (a real killed process), aggregation and kappa."

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prism_nb import humaneval as he
from prism_nb.core import PrismError, append_jsonl, read_jsonl

ROOT = Path(__file__).resolve().parents[1]
W = {"student": "beta", "student_no_user": "gamma"}
RATE = {"teacher": 5, "student": 4, "student_no_user": 2}


def _run(tmp_path, n=6):
    run = tmp_path / "run"
    append_jsonl(
        run / "oracle/explanations.jsonl",
        [
            {
                "user": f"u{i}",
                "item": f"i{i}",
                "history": [{"item": "h", "title": f"Liked {i}", "rating": 5}],
                "facts": [{"kind": "title", "text": f"title: Movie {i}", "value": f"Movie {i}"}],
                "text": f"alpha says {i}",
            }
            for i in range(n)
        ],
    )
    append_jsonl(
        run / "student/predictions.jsonl",
        [
            {"user": f"u{i}", "item": f"i{i}", "system": s, "text": f"{W[s]} says {i}"}
            for i in range(n)
            for s in ("student", "student_no_user")
        ],
    )
    return run


def _annotate(app, k, f=lambda sy, c: RATE[sy] if c == "faithfulness" else 3):
    for _ in range(k):
        task, systems = app.current
        for j, sy in enumerate(systems):
            for c in he.CRITERIA:
                app.slots[j]["rate"][c].value = f(sy, c)  # what a click sets
        app.submit_btn.click()


def test_blind_randomised_and_facts_shown(tmp_path):
    app = he.AnnotationApp(_run(tmp_path), "alice", n_tasks=5)
    task, systems = app.current
    assert sorted(systems) == ["student", "student_no_user", "teacher"]
    shown = "".join(s["text"].value for s in app.slots) + app.header.value + app.facts.value
    assert (
        "teacher" not in shown and "student" not in shown and all(w in shown for w in ("alpha", "beta", "gamma"))
    )  # no system names
    assert f"title: Movie {task['item'][1:]}" in app.facts.value and "Liked" in app.facts.value
    orders = [tuple(s) for _, s in app.order]
    assert len(set(orders)) > 1  # letters shuffled per pair
    assert [t["id"] for t, _ in app.order] != [
        t["id"] for t, _ in he.AnnotationApp(tmp_path / "run", "bob", n_tasks=5).order
    ]


def test_incomplete_ratings_refused(tmp_path):
    app = he.AnnotationApp(_run(tmp_path), "alice", n_tasks=3)
    app.rate("A", "faithfulness", 3)
    assert app.submit() is None and "Please rate" in app.status.value and app.progress == (0, 3)
    assert read_jsonl(app.path) == []


def test_resume_after_restart_same_process(tmp_path):
    run = _run(tmp_path)
    app = he.AnnotationApp(run, "alice", n_tasks=5)
    _annotate(app, 2)
    nxt = app.current[0]["id"]
    app2 = he.AnnotationApp(run, "alice", n_tasks=5)  # a fresh object on the same file, as after a restart
    assert app2.progress == (2, 5) and app2.current[0]["id"] == nxt
    _annotate(app2, 3)
    assert app2.current is None and app2.submit_btn.disabled and app2.submit() is None
    assert len(read_jsonl(run / "humaneval/alice.jsonl")) == 5


def test_resume_after_kernel_crash(tmp_path):
    "A process that dies (os._exit, no cleanup) after two saved pairs loses nothing saved; the next one resumes."
    run = _run(tmp_path)
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_humaneval import _annotate
        from prism_nb.humaneval import AnnotationApp
        app = AnnotationApp({str(run)!r}, "carol", n_tasks=5)
        _annotate(app, 2)
        app.rate("A", "faithfulness", 1)       # a half-rated pair on screen when the kernel dies
        os._exit(9)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 9, p.stderr
    app = he.AnnotationApp(run, "carol", n_tasks=5)
    assert app.progress == (2, 5)
    done = {r["task"] for r in read_jsonl(run / "humaneval/carol.jsonl")}
    assert app.current[0]["id"] not in done and [t["id"] for t, _ in app.order[:2]] == sorted(
        done, key=[t["id"] for t, _ in app.order].index
    )


def test_aggregate_win_rates_and_kappa(tmp_path):
    run = _run(tmp_path)
    _annotate(he.AnnotationApp(run, "alice", n_tasks=4), 4)
    _annotate(
        he.AnnotationApp(run, "bob", n_tasks=4),
        4,
        lambda sy, c: {"teacher": 5, "student": 5, "student_no_user": 1}[sy] if c == "faithfulness" else 3,
    )
    agg = he.aggregate(run, B=200)
    assert agg["annotators"] == ["alice", "bob"] and agg["tasks"] == 4 and agg["n_ratings"] == 2 * 4 * 3 * 2
    # teacher beats student for alice (5 > 4), ties for bob (5 = 5): 0.75 on every pair
    w = agg["win_rates"]["faithfulness:teacher>student"]
    assert w["mean"] == pytest.approx(0.75) and w["ci"] == [pytest.approx(0.75)] * 2
    assert agg["win_rates"]["faithfulness:teacher>student_no_user"]["mean"] == 1.0
    # faithfulness (task, system) ratings: alice 5,4,2 / bob 5,5,1 per task -> agree only on the teacher
    kap = agg["agreement"]["faithfulness"]
    # they agree on 4 of 12 (p_o = 1/3); chance agreement p_e = P(alice 5) P(bob 5) = 1/3 x 2/3:
    # kappa = (1/3 - 2/9) / (7/9)
    assert kap["cohen"]["alice|bob"]["kappa"] == pytest.approx(1 / 7)
    assert kap["fleiss"]["n_items"] == 12
    assert json.loads((run / "humaneval/summary.json").read_text())["tasks"] == 4
    # a re-rating appends; the latest wins
    app = he.AnnotationApp(run, "alice", n_tasks=4)
    assert app.current is None


def test_fleiss_kappa_hand_computed():
    # 3 items, 3 raters, 2 categories: counts (3,0), (0,3), (2,1): P_i = 1, 1, 1/3; p = (5/9, 4/9)
    pb, pe = (1 + 1 + 1 / 3) / 3, (5 / 9) ** 2 + (4 / 9) ** 2
    assert he.fleiss_kappa([[3, 0], [0, 3], [2, 1]]) == pytest.approx((pb - pe) / (1 - pe))
    with pytest.raises(PrismError):
        he.fleiss_kappa([[1, 0], [1, 1]])


def test_bad_input(tmp_path):
    run = _run(tmp_path)
    with pytest.raises(PrismError, match="annotator name"):
        he.AnnotationApp(run, "a/b")
    with pytest.raises(PrismError, match="scale"):
        he.AnnotationApp(run, "a", scale=1)
    with pytest.raises(PrismError, match="two systems"):
        he.make_tasks(run, systems=("teacher",))
    assert he.aggregate(tmp_path / "empty")["n_ratings"] == 0


@pytest.mark.slow
def test_renders_and_saves_in_jupyterlab_headless_chromium(tmp_path):
    "Open the app in a real JupyterLab in headless Chromium, rate one pair by clicking, and find it saved."
    import shutil
    import socket
    import time
    import urllib.request

    import nbformat

    pytest.importorskip("jupyterlab")
    pytest.importorskip("selenium")
    chromium, driver_bin = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (chromium and driver_bin):
        pytest.skip("needs Debian packages chromium and chromium-driver")
    from selenium import webdriver
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    run = _run(tmp_path)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from prism_nb.humaneval import AnnotationApp\n"
                f"app = AnnotationApp({str(run)!r}, 'browser', n_tasks=3)\napp.widget"
            )
        ]
    )
    from prism_nb.run_folder import kernel_name

    nb.metadata["kernelspec"] = {"name": kernel_name(), "display_name": kernel_name(), "language": "python"}
    nbformat.write(nb, tmp_path / "app.ipynb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    lab = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            "--IdentityProvider.token=tok",
            f"--ServerApp.root_dir={tmp_path}",
            "--allow-root",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    drv = None
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=tok", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
            opts.add_argument(a)
        drv = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_bin), options=opts)
        drv.get(f"http://127.0.0.1:{port}/lab/tree/app.ipynb?token=tok")
        # JupyterLab re-renders outputs and widgets while the kernel works: look elements up again when they go stale
        wait = WebDriverWait(drv, 120, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Notebook-ExecutionIndicator[data-status='idle']"))
        from selenium.webdriver.common.action_chains import ActionChains

        pressed = [0.0]

        def shown(d):
            for b in d.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept"):
                b.click()  # a kernel picker, if any
            prompt = d.find_element(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell .jp-InputPrompt")
            if prompt.text.strip() in ("", "[ ]:") and time.monotonic() - pressed[0] > 5:
                # a key pressed while the kernel still connects is lost: press Ctrl+Enter (run in place) again
                ActionChains(d).move_to_element(prompt).click().key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(
                    Keys.CONTROL
                ).perform()
                pressed[0] = time.monotonic()
            return "Pair 1 of 3" in d.find_element(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell").text

        wait.until(shown)

        def fours(d):
            return [b for b in d.find_elements(By.CSS_SELECTOR, ".widget-toggle-button") if b.text.strip() == "4"]

        def rated_four(d):
            unrated = [b for b in fours(d) if "mod-active" not in b.get_attribute("class")]
            for b in unrated:
                b.click()
            return not unrated

        assert len(fours(drv)) == 3 * len(he.CRITERIA)
        wait.until(rated_four)

        def saved(d):
            next(b for b in d.find_elements(By.CSS_SELECTOR, "button") if "Save and next" in b.text).click()
            return True

        wait.until(saved)
        wait.until(lambda d: "Pair 2 of 3" in d.find_element(By.CSS_SELECTOR, ".jp-OutputArea").text)
        recs = read_jsonl(run / "humaneval/browser.jsonl")
        assert len(recs) == 1 and all(v == 4 for r in recs[0]["ratings"].values() for v in r.values())
    except Exception:
        if drv:
            drv.save_screenshot(str(tmp_path / "jupyterlab.png"))
            print("screenshot:", tmp_path / "jupyterlab.png")
        raise
    finally:
        if drv:
            drv.quit()
        lab.terminate()
        lab.wait(30)
