"The project's own promises: README in step with nbs/index.ipynb, CI runs the README's test command, settings parse."
import json, re, tomllib
from conftest import ROOT

def test_readme_mirrors_index_notebook():
    nb = json.loads((ROOT/"nbs"/"index.ipynb").read_text())
    md = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown") + "\n"
    assert (ROOT/"README.md").read_text() == md, "README.md is out of step with nbs/index.ipynb: run `make readme`"

def test_ci_runs_the_readme_test_command():
    test_cmd = re.search(r"^(make \w+)\s+# the whole test suite", (ROOT/"README.md").read_text(), re.M)[1]
    assert test_cmd in (ROOT/".ci"/"run").read_text()

def test_nbdev_config_keeps_parameters_tag():
    cfg = tomllib.loads((ROOT/"pyproject.toml").read_text())["tool"]["nbdev"]
    assert cfg["allowed_cell_metadata_keys"] == ["tags"] and cfg["lib_path"] == "prism_nb"

def test_stage_notebooks_have_parameters_cell():
    for nb in sorted((ROOT/"nbs").glob("0[1-7]_*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), nb.name
