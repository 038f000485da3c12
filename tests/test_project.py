"The project's own promises: README in step with nbs/index.ipynb, CI runs the README's test command, settings parse."

import ast
import itertools
import json
import re

import tomllib
from conftest import ROOT


def test_readme_mirrors_index_notebook():
    "The index notebook's markdown cells minus leading directives (`#| export` marks the package docstring's part)."
    nb = json.loads((ROOT / "nbs" / "index.ipynb").read_text())
    md = (
        "\n\n".join(
            "".join(itertools.dropwhile(lambda line: line.startswith("#|"), c["source"]))
            for c in nb["cells"]
            if c["cell_type"] == "markdown"
        )
        + "\n"
    )
    assert (ROOT / "README.md").read_text() == md, "README.md is out of step with nbs/index.ipynb: run `make readme`"


def test_ci_runs_the_readme_test_command():
    test_cmd = re.search(r"^(make \w+)\s+# the whole test suite", (ROOT / "README.md").read_text(), re.M)[1]
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def test_nbdev_config_keeps_parameters_tag():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["nbdev"]
    assert cfg["allowed_cell_metadata_keys"] == ["tags"] and cfg["lib_path"] == "prism_nb"


def test_stage_notebooks_have_parameters_cell():
    from prism_nb.run_folder import PIPELINE

    for nb in [ROOT / "nbs" / s.notebook for s in PIPELINE.values()]:
        cells = json.loads(nb.read_text())["cells"]
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), nb.name


# the modules in dependency order: each may import only modules at or before its own place
MODULE_ORDER = [
    "core",
    "models",
    "run_folder",
    "data",
    "ranking",
    "claims",
    "oracle",
    "student",
    "serving",
    "prism",
    "batch",
    "evaluation",
    "baselines",
    "profiling",
    "report",
    "humaneval",
    "docs",
    "cli",
]


def imported_modules(path) -> set[str]:
    "The prism_nb modules a module imports, at its top, inside its functions or through entry points it names."
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            name = node.module.removeprefix("prism_nb.") if node.level == 0 else node.module
            if node.level or node.module.startswith("prism_nb."):
                found.add(name.split(".")[0])
            elif node.module == "prism_nb":
                found |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("prism_nb.")}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and str(arg.value).startswith("prism_nb."):
                found.add(arg.value.split(".")[1])
            elif isinstance(arg, ast.JoinedStr):
                found.add("<any stage>")
        elif isinstance(node, ast.Constant) and re.fullmatch(r"prism_nb\.\w+:\w+", str(node.value)):
            found.add("<any stage>")  # an entry point (`module:function`), imported when it is called
    return found & set(MODULE_ORDER) | ({"<any stage>"} & found)


def test_no_module_imports_a_later_one():
    """The core imports no stage, the Oracle not the evaluation: every import points back along the pipeline (only the
    run folder, which runs each stage through the stage table's entry points, and the docs, which render every module,
    import modules by name)."""
    assert sorted(p.stem for p in (ROOT / "prism_nb").glob("[a-z]*.py")) == sorted(MODULE_ORDER)
    for name in MODULE_ORDER:
        later = MODULE_ORDER[MODULE_ORDER.index(name) + 1 :]
        imports = imported_modules(ROOT / "prism_nb" / f"{name}.py")
        assert not imports & set(later), f"{name} imports {sorted(imports & set(later))}, which come later"
        if name not in ("run_folder", "docs"):
            assert "<any stage>" not in imports, f"{name} imports modules by computed name"


def test_pipeline_table_names_each_stage_notebook_module_and_entry_point():
    from prism_nb.run_folder import PIPELINE, entry_point

    for stage in PIPELINE.values():
        nb = json.loads((ROOT / "nbs" / stage.notebook).read_text())
        assert any(f"#| default_exp {stage.name}" in "".join(c["source"]) for c in nb["cells"]), stage.notebook
        assert stage.runs.startswith(f"prism_nb.{stage.name}:") and callable(entry_point(stage.runs)), stage.runs
        assert not stage.renders or callable(entry_point(stage.renders)), stage.renders


def listed_modules(text: str) -> list[str]:
    "The modules that a module list (`- `prism_nb.name`: what it owns`) names, in its order."
    return re.findall(r"^- `prism_nb\.(\w+)`: \S", text, re.M)


def test_module_list_names_every_module_once():
    """The README's module list, the package docstring and llms.txt each name every module once, in dependency order.
    nbdev writes the last two from the index notebook's `#| export` list; a module summary over three lines would be
    listed again."""
    texts = {
        "README.md": (ROOT / "README.md").read_text(),
        "nbs/llms.txt": (ROOT / "nbs" / "llms.txt").read_text(),
        "prism_nb/__init__.py": ast.get_docstring(ast.parse((ROOT / "prism_nb" / "__init__.py").read_text())) or "",
    }
    for name, text in texts.items():
        assert listed_modules(text) == MODULE_ORDER, (
            f"{name} lists {listed_modules(text)}, not each module once: edit the list in nbs/index.ipynb, "
            "then nbdev-export and make readme"
        )


def test_package_docstring_and_llms_txt_are_what_nbdev_writes():
    "`nbdev-export` writes both from the pyproject's description and the index notebook's `#| export` cell: they match."
    from nbdev.config import pkg_llms, pkg_mdoc

    desc = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["description"]
    kw = dict(path=ROOT / "prism_nb", desc=desc, index_nb=ROOT / "nbs" / "index.ipynb")
    assert ast.get_docstring(ast.parse((ROOT / "prism_nb" / "__init__.py").read_text()), clean=False) == pkg_mdoc(
        **kw
    ), "run nbdev-export"
    assert (ROOT / "nbs" / "llms.txt").read_text() == pkg_llms(**kw), "run nbdev-export"


def architecture_picture() -> dict[str, set[str]]:
    """The imports that the README's picture draws, importer to imported: a row `name ──► a b (…, by name)` per module,
    the last module on top, then `core ◄── every module above` (each module imports the core); `<any stage>` for
    `by name`."""
    block = re.search(r"`A ──► B`.*?\n```\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)[1].splitlines()
    drawn = {}
    for line in block[:-1]:
        row = re.fullmatch(r"(\w+)(?: ─+►((?: \w+)*)( \([^)]*, by name\))?)?", line)
        assert row, f"cannot read the picture's row {line!r}"
        drawn[row[1]] = set((row[2] or "").split()) | ({"<any stage>"} if row[3] else set())
    assert re.fullmatch(r"core ◄─+ every module above", block[-1]), f"the picture ends with the core: {block[-1]!r}"
    return {name: imports | {"core"} for name, imports in drawn.items()} | {"core": set()}


def test_architecture_picture_draws_every_import():
    "Every arrow of the README's picture is an import of the code, and every import between modules is an arrow."
    drawn = architecture_picture()
    assert list(drawn) == MODULE_ORDER[::-1], (
        f"the picture's rows {list(drawn)} are not the modules from the last to the core"
    )
    for name in MODULE_ORDER:
        real = imported_modules(ROOT / "prism_nb" / f"{name}.py") - {name}
        assert drawn[name] == real, (
            f"{name}: drawn, not imported {sorted(drawn[name] - real)}; "
            f"imported, not drawn {sorted(real - drawn[name])}"
        )


def test_package_lines_fit_120_columns():
    "Every line of prism_nb/ fits 120 columns, but the `__all__` lists and the index (`_modidx.py`) that nbdev writes."
    long = []
    for path in sorted((ROOT / "prism_nb").glob("*.py")):
        if path.name == "_modidx.py":
            continue
        src = path.read_text()
        alls = [n for n in ast.parse(src).body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "__all__"]
        nbdev = {i for n in alls for i in range(n.lineno, n.end_lineno + 1)}
        long += [f"{path.name}:{i}" for i, line in enumerate(src.splitlines(), 1) if len(line) > 120 and i not in nbdev]
    assert not long, f"lines over 120 columns (wrap them in the notebooks, then nbdev-export): {long}"


def test_export_cells_hold_at_most_three_definitions():
    "A notebook defines a few things per cell, each followed by prose and tests: no export cell holds four definitions."
    crowded = []
    for path in sorted((ROOT / "nbs").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] == "code" and src.startswith("#| export"):
                defs = [n.name for n in ast.parse(src).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
                crowded += [f"{path.name}: {', '.join(defs)}"] if len(defs) > 3 else []
    assert not crowded, f"export cells with more than three definitions (split them): {crowded}"
