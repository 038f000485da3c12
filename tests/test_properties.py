"Any bytes or values never crash the loaders or settings parser: a result or a one-line PrismError, nothing written."

import pickle
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prism_nb.core import PrismError, load_settings
from prism_nb.data import load_amazon2023, load_peter, write_peter

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def files_of(folder: Path) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def loads_or_refuses(load, folder: Path):
    "`load(folder)` returns or raises a one-line PrismError, and leaves the folder's files as they were."
    before = files_of(folder)
    try:
        load(folder)
    except PrismError as e:
        assert "\n" not in str(e), str(e)
    assert files_of(folder) == before


def peter_folder(pickle_bytes: bytes, index_text: str = "0") -> Path:
    d = Path(tempfile.mkdtemp())
    (d / "1").mkdir()
    (d / "reviews.pickle").write_bytes(pickle_bytes)
    for name in ["train", "validation", "test"]:
        (d / "1" / f"{name}.index").write_text(index_text)
    return d


@FAST
@given(st.binary(max_size=400))
def test_peter_loader_takes_any_pickle_bytes(blob):
    loads_or_refuses(load_peter, peter_folder(blob))


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner, inner, inner)
        | st.dictionaries(st.sampled_from(["user", "item", "rating", "template", "x"]), inner, max_size=5)
    ),
    max_leaves=12,
)


@FAST
@given(st.lists(plain, min_size=1, max_size=4))
def test_peter_loader_takes_any_plain_records(records):
    loads_or_refuses(load_peter, peter_folder(pickle.dumps(records)))


@FAST
@given(st.text(max_size=60))
def test_peter_loader_takes_any_index_file(index_text):
    recs = [{"user": "u", "item": f"i{i}", "rating": 4, "template": ("f", "a", "s", 1)} for i in range(3)]
    d = write_peter(Path(tempfile.mkdtemp()) / "p", recs, {"train": [0], "validation": [1], "test": [2]})
    (d / "1" / "test.index").write_text(index_text)
    loads_or_refuses(load_peter, d)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_amazon_loader_takes_any_review_bytes(blob):
    d = Path(tempfile.mkdtemp())
    (d / "All_Beauty.jsonl").write_bytes(blob)
    (d / "meta_All_Beauty.jsonl").write_text('{"parent_asin": "P1", "title": "Product 1"}\n')
    loads_or_refuses(lambda f: load_amazon2023(str(f)), d)


@FAST
@given(st.text(max_size=300))
def test_settings_parser_takes_any_file(text):
    d = Path(tempfile.mkdtemp())
    (d / "settings.ini").write_text(text)
    loads_or_refuses(lambda f: load_settings(f / "settings.ini"), d)


@FAST
@given(st.text(max_size=40), st.text(max_size=40))
def test_settings_parser_takes_any_override(key, value):
    try:
        load_settings(profile="smoke", overrides=[f"{key}={value}"])
    except PrismError as e:
        assert "\n" not in str(e), str(e)


@FAST
@given(st.binary(max_size=200))
def test_settings_parser_takes_any_bytes(blob):
    d = Path(tempfile.mkdtemp())
    (d / "settings.ini").write_bytes(blob)
    loads_or_refuses(lambda f: load_settings(f / "settings.ini"), d)
