"The data stage on bad input: a clear one-line error, never a silent empty frame."
import pickle
import pandas as pd
import pytest
from prism_nb.core import PrismError
from prism_nb.data import load_peter, write_peter, load_ml100k, load_amazon2023, RecData, read_atomic

def test_peter_counts_and_splits(tmp_path, peter_records):
    recs, splits = peter_records
    rd = load_peter(write_peter(tmp_path/"yelp", recs, splits))
    st = rd.stats()
    assert (st["n_users"], st["n_items"], st["n_interactions"]) == (5, 7, 30)
    assert st["splits"] == {"train": 20, "valid": 5, "test": 5}
    assert rd.interactions.set_index("timestamp").loc[27, "split"] == "test"
    assert rd.interactions.sentence.iloc[0] == "the feat0 is nice"
    assert set(rd.item_info["i0"]["features"]) <= {"feat0", "feat1", "feat2", "feat3"}

def test_peter_truncated_pickle(tmp_path, peter_records):
    folder = write_peter(tmp_path/"d", *peter_records)
    data = (folder/"reviews.pickle").read_bytes()
    (folder/"reviews.pickle").write_bytes(data[: len(data)//2])
    with pytest.raises(PrismError, match="truncated"): load_peter(folder)

def test_peter_missing_split_folder(tmp_path, peter_records):
    folder = write_peter(tmp_path/"d", *peter_records)
    with pytest.raises(PrismError, match="split file .*2/train.index not found"): load_peter(folder, fold=2)

def test_peter_wrong_records(tmp_path, peter_records):
    recs, splits = peter_records
    folder = write_peter(tmp_path/"d", [{"user": 1, "item": 2}] * 30, splits)
    with pytest.raises(PrismError, match="lacks"): load_peter(folder)

def test_peter_empty(tmp_path, peter_records):
    folder = write_peter(tmp_path/"d", [], {"train": [], "validation": [], "test": []})
    with pytest.raises(PrismError, match="non-empty list"): load_peter(folder)

def test_peter_index_out_of_range(tmp_path, peter_records):
    recs, splits = peter_records
    folder = write_peter(tmp_path/"d", recs, {**splits, "test": [99]})
    with pytest.raises(PrismError, match="names record 99"): load_peter(folder)

def test_pickle_with_code_is_refused(tmp_path, peter_records):
    class Boom:
        def __reduce__(self): return (print, ("ran code",))
    folder = write_peter(tmp_path/"d", *peter_records)
    (folder/"reviews.pickle").write_bytes(pickle.dumps([Boom()]))
    with pytest.raises(PrismError, match="refusing to load builtins.print"): load_peter(folder)

def test_atomic_file_wrong_columns(tmp_path):
    (tmp_path/"x.inter").write_text("uid:token\tiid:token\n1\t2\n")
    with pytest.raises(PrismError, match="lacks column"): read_atomic(tmp_path/"x.inter", ["user_id"])

def test_ml100k_counts():
    st = load_ml100k().stats()
    assert (st["n_users"], st["n_items"], st["n_interactions"]) == (943, 1682, 100_000)
    assert st["items_with_kg"] >= 1590

def test_dataset_validation():
    inter = pd.DataFrame({"user": ["u"], "item": ["x"], "rating": [1.0], "timestamp": [0], "split": ["train"]})
    items = pd.DataFrame({"item": ["y"], "title": ["Y"], "year": [None], "genres": [[]], "features": [[]]})
    with pytest.raises(PrismError, match="missing from the item table"): RecData("t", inter, items)
    with pytest.raises(PrismError, match="no interactions"): RecData("t", inter.iloc[:0], items)
    with pytest.raises(PrismError, match="lacks column"): RecData("t", inter.drop(columns="split"), items)

def test_amazon_wrong_format(tmp_path):
    (tmp_path/"Toys.jsonl").write_text('{"user": "a", "asin": "b"}\n')
    (tmp_path/"meta_Toys.jsonl").write_text('{"parent_asin": "b", "title": "B"}\n')
    with pytest.raises(PrismError, match="not Amazon Reviews 2023 format"): load_amazon2023(str(tmp_path))
