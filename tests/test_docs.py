"The offline docs site: built from the notebooks and opened in headless Chromium."

import shutil
from pathlib import Path

import pytest

from prism_nb.docs import build_docs

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
INSTALL = "run `make chromium` as root (apt-get update && apt-get install -y chromium chromium-driver)"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "The docs site of this checkout, with a small run folder holding an executed notebook and a report."
    import nbformat

    tmp = tmp_path_factory.mktemp("docs")
    run = tmp / "myrun"
    run.mkdir()
    (run / "report.html").write_text(
        "<!DOCTYPE html><html><head><title>myrun report</title></head><body><h1>Run report</h1></body></html>"
    )
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Ranking\n\nThe rankers compared."),
            nbformat.v4.new_code_cell(
                "df",
                execution_count=1,
                outputs=[
                    nbformat.v4.new_output(
                        "execute_result",
                        execution_count=1,
                        data={
                            "text/html": (
                                "<table><thead><tr><th>ranker</th><th>ndcg@10</th></tr></thead>"
                                "<tbody><tr><td>als</td><td>0.123</td></tr></tbody></table>"
                            ),
                            "text/plain": "ranker ndcg",
                        },
                    )
                ],
            ),
        ]
    )
    nbformat.write(nb, run / "02_ranking.ipynb")
    return build_docs(tmp / "site", run, root=ROOT)


@pytest.fixture(scope="module")
def browser():
    "Headless Chromium driven by chromedriver, with the browser console log kept."
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists() and not shutil.which(Path(p).name)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: the docs test needs headless Chromium; {INSTALL}", pytrace=False
        )
    try:
        from selenium import webdriver
    except ImportError:
        pytest.fail("selenium is not installed: run `make setup` (or .venv/bin/pip install selenium)", pytrace=False)
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=Service(CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")), options=opts
    )
    yield driver
    driver.quit()


def open_page(driver, path: Path, shot: str | None = None) -> tuple[str, str]:
    "Open a local page; return its title and visible text, failing on any console error (a failed script or resource)."
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(path.as_uri())
    text = driver.execute_script("return document.body.innerText")
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{path.name}: console errors {errors}"
    if shot:
        driver.save_screenshot(f"/tmp/{shot}")
    return driver.title, text


def test_site_files(site):
    for f in [
        "index.html",
        "00_core.html",
        "01_data.html",
        "10_docs.html",
        "api/core.html",
        "api/data.html",
        "api/docs.html",
        "reports/myrun/report.html",
        "reports/myrun/02_ranking.html",
    ]:
        assert (site / f).is_file(), f


def test_index_page(site, browser):
    title, text = open_page(browser, site / "index.html", "prism_docs_index.png")
    assert title == "prism-nb"
    for words in [
        "Explainable recommendation",
        "Quick start",
        "make demo",
        "GUIDES",
        "NOTEBOOKS",
        "prism_nb.core",
        "myrun: report",
    ]:
        assert words in text, words
    assert "#|" not in text, (
        "nbdev directives shown"
    )  # the module list's `#| export`, which puts it in the package docstring
    hrefs = browser.execute_script(
        "return [...document.querySelectorAll('nav.site-nav a')].map(a => a.getAttribute('href'))"
    )
    assert {
        "00_core.html",
        "api/core.html",
        "reports/myrun/report.html",
        "reports/myrun/02_ranking.html",
        "topics/faithfulness.html",
    } <= set(hrefs)


def test_api_page(site, browser):
    title, text = open_page(browser, site / "api/core.html", "prism_docs_api.png")
    assert title == "prism_nb.core API"
    for words in [
        "prism_nb.core",
        "PrismError",
        "A user-facing error",
        "load_settings",
        "atomic_write",
        "Exported from the notebook Core",
    ]:
        assert words in text, words
    browser.find_element("css selector", ".api p a").click()  # the link to the source notebook
    assert browser.title == "Core | prism-nb"


def test_notebook_page(site, browser):
    title, text = open_page(browser, site / "01_data.html", "prism_docs_notebook.png")
    assert title.endswith("| prism-nb") and title != "01_data | prism-nb"
    assert "#|" not in text and "default_exp" not in text, "nbdev directives shown"  # nbdev's processors hid them
    assert "def load_run_data(" in text and "[ ]:" not in text  # signatures rendered, no empty prompts
    too_wide = browser.execute_script(
        "return [...document.querySelectorAll('.site-main pre')].filter(p => p.scrollWidth > p.clientWidth + 1).length"
    )
    assert too_wide == 0, f"{too_wide} code blocks scroll sideways"
    visible = browser.execute_script("return getComputedStyle(document.querySelector('.site-main')).marginLeft")
    assert visible != "0px", "the sidebar covers the page"


def test_run_pages(site, browser):
    title, text = open_page(browser, site / "reports/myrun/02_ranking.html")
    assert title == "myrun: Ranking | prism-nb" and "The rankers compared." in text and "0.123" in text
    assert browser.execute_script("return document.querySelectorAll('.jp-OutputArea table th').length") == 2
    title, text = open_page(browser, site / "reports/myrun/report.html")
    assert title == "myrun report" and "Run report" in text


def local_links(page: Path) -> list[str]:
    "Links and image sources of the page's tags (not its text) within the site: no scheme, data URI or bare anchor."
    import re
    from html.parser import HTMLParser

    refs = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            refs.extend(v for k, v in attrs if k in ("href", "src") and v)

    Links().feed(page.read_text())
    return [r for r in refs if not re.match(r"^(?:[a-z]+:|#|//)", r)]


def test_every_link_resolves(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 30, len(pages)
    broken = [
        f"{p.relative_to(site)} -> {r}"
        for p in pages
        for r in local_links(p)
        if not (p.parent / r.split("#")[0]).exists()
    ]
    assert not broken, broken[:10]


def test_topic_pages(site, browser):
    for name in ["faithfulness", "serving", "coupled", "scale", "run-folder"]:
        title, text = open_page(browser, site / "topics" / f"{name}.html")
        assert title.endswith(" | prism-nb") and "#" not in text.splitlines()[0], (name, title)
    title, text = open_page(browser, site / "topics" / "serving.html", "prism_docs_topic.png")
    assert (
        browser.execute_script("return document.querySelectorAll('.site-main img[src^=\"data:image/png\"]').length")
        >= 1
    )


@pytest.mark.parametrize("page", ["index.html", "topics/faithfulness.html", "04_prism.html", "api/prism.html"])
def test_phone_width_has_no_side_scrolling(site, browser, page):
    browser.set_window_size(390, 844)
    try:
        open_page(browser, site / page, f"prism_docs_phone_{Path(page).stem}.png")
        wide = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 1, f"{page} scrolls sideways by {wide}px at phone width"
        covered = browser.execute_script("return getComputedStyle(document.querySelector('nav.site-nav')).position")
        assert covered == "static", "the sidebar covers the page at phone width"
    finally:
        browser.set_window_size(1280, 900)
