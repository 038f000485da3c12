"The data stage on bad input: a clear one-line error, never a silent empty frame."

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest

from prism_nb.core import PrismError
from prism_nb.data import (
    RecData,
    has_page,
    item_facts,
    load_amazon2023,
    load_ml100k,
    load_peter,
    pair_facts,
    read_atomic,
    write_peter,
)


def test_peter_counts_and_splits(tmp_path, peter_records):
    recs, splits = peter_records
    dataset = load_peter(write_peter(tmp_path / "yelp", recs, splits))
    st = dataset.stats()
    assert (st["n_users"], st["n_items"], st["n_interactions"]) == (5, 7, 30)
    assert st["splits"] == {"train": 20, "valid": 5, "test": 5}
    assert dataset.interactions.set_index("timestamp").loc[27, "split"] == "test"
    assert dataset.interactions.sentence.iloc[0] == "the feat0 is nice"
    assert set(dataset.item_info["i0"]["features"]) <= {"feat0", "feat1", "feat2", "feat3"}


def test_peter_truncated_pickle(tmp_path, peter_records):
    folder = write_peter(tmp_path / "d", *peter_records)
    data = (folder / "reviews.pickle").read_bytes()
    (folder / "reviews.pickle").write_bytes(data[: len(data) // 2])
    with pytest.raises(PrismError, match="truncated"):
        load_peter(folder)


def test_peter_missing_split_folder(tmp_path, peter_records):
    folder = write_peter(tmp_path / "d", *peter_records)
    with pytest.raises(PrismError, match="split file .*2/train.index not found"):
        load_peter(folder, fold=2)


def test_peter_wrong_records(tmp_path, peter_records):
    recs, splits = peter_records
    folder = write_peter(tmp_path / "d", [{"user": 1, "item": 2}] * 30, splits)
    with pytest.raises(PrismError, match="lacks"):
        load_peter(folder)


def test_peter_empty(tmp_path, peter_records):
    folder = write_peter(tmp_path / "d", [], {"train": [], "validation": [], "test": []})
    with pytest.raises(PrismError, match="non-empty list"):
        load_peter(folder)


def test_peter_index_out_of_range(tmp_path, peter_records):
    recs, splits = peter_records
    folder = write_peter(tmp_path / "d", recs, {**splits, "test": [99]})
    with pytest.raises(PrismError, match="names record 99"):
        load_peter(folder)


def test_pickle_with_code_is_refused(tmp_path, peter_records):
    class Boom:
        def __reduce__(self):
            return (print, ("ran code",))

    folder = write_peter(tmp_path / "d", *peter_records)
    (folder / "reviews.pickle").write_bytes(pickle.dumps([Boom()]))
    with pytest.raises(PrismError, match="refusing to load builtins.print"):
        load_peter(folder)


def test_atomic_file_wrong_columns(tmp_path):
    (tmp_path / "x.inter").write_text("uid:token\tiid:token\n1\t2\n")
    with pytest.raises(PrismError, match="lacks column"):
        read_atomic(tmp_path / "x.inter", ["user_id"])


def test_ml100k_counts():
    st = load_ml100k().stats()
    assert (st["n_users"], st["n_items"], st["n_interactions"]) == (943, 1682, 100_000)
    assert st["items_with_kg"] >= 1590


def test_dataset_validation():
    inter = pd.DataFrame({"user": ["u"], "item": ["x"], "rating": [1.0], "timestamp": [0], "split": ["train"]})
    items = pd.DataFrame({"item": ["y"], "title": ["Y"], "year": [None], "genres": [[]], "features": [[]]})
    with pytest.raises(PrismError, match="missing from the item table"):
        RecData("t", inter, items)
    with pytest.raises(PrismError, match="no interactions"):
        RecData("t", inter.iloc[:0], items)
    with pytest.raises(PrismError, match="lacks column"):
        RecData("t", inter.drop(columns="split"), items)


def test_amazon_wrong_format(tmp_path):
    (tmp_path / "Toys.jsonl").write_text('{"user": "a", "asin": "b"}\n')
    (tmp_path / "meta_Toys.jsonl").write_text('{"parent_asin": "b", "title": "B"}\n')
    with pytest.raises(PrismError, match="not Amazon Reviews 2023 format"):
        load_amazon2023(str(tmp_path))


AMAZON = Path(__file__).parent / "data" / "amazon2023"


@pytest.fixture(scope="module")
def kitchen():
    return load_amazon2023(str(AMAZON))


def test_amazon_fixture_loads_product_pages(kitchen):
    st = kitchen.stats()
    assert (st["n_users"], st["n_items"], st["splits"]["test"]) == (60, 40, 60)
    pan = kitchen.items.set_index("title").loc["Lodge Cast Iron Square Grill Pan, 10.5 Inch"]
    assert (pan.brand, pan.average_rating, pan.price) == ("Lodge", 4.6, 29.95)
    assert (
        "Material: Cast Iron" in list(pan.details)
        and len(pan.bullets) == 3
        and pan.description.startswith("Grill steaks")
    )


def test_amazon_facts_come_from_the_page_and_link_liked_items(kitchen):
    by_title = kitchen.items.set_index("title")
    pan, skillet = (
        by_title.loc["Lodge Cast Iron Square Grill Pan, 10.5 Inch"],
        "Lodge 10.25 Inch Cast Iron Skillet, Pre-Seasoned",
    )
    history = pd.DataFrame(
        {"item": [by_title.loc[skillet, "item"]], "title": [skillet], "rating": [5.0], "timestamp": [1]}
    )
    facts = item_facts(kitchen, pan["item"], history)
    texts = [f["text"] for f in facts]
    assert texts[:8] == [
        "title: Lodge Cast Iron Square Grill Pan, 10.5 Inch",
        "category: Grill Pans",
        "brand: Lodge",
        f"shares its brand with {skillet}",
        "material: Cast Iron",
        "feature: ribbed bottom leaves grill marks and lets fat drain away",
        "average rating 4.6 of 5",
        "price: $25-50",
    ]
    assert facts[3] == {
        "kind": "shared_brand",
        "text": f"shares its brand with {skillet}",
        "value": "Lodge",
        "via": skillet,
    }
    assert not any("weight" in t.lower() or "store" in t for t in texts)


def test_amazon_links_stay_in_the_liked_window(kitchen):
    "Every title a product fact links to is one of the user's liked titles that `pair_facts` searched."
    test = kitchen.interactions[kitchen.interactions.split == "test"]
    n_links = 0
    for u, i in zip(test.user, test.item):
        pf = pair_facts(kitchen, u, i, window=20)
        window = {h["title"] for h in pf["window"]}
        for f in pf["facts"]:
            vias = f.get("via", [])
            for t in vias if isinstance(vias, list) else [vias]:
                assert t in window, (u, i, f)
                n_links += 1
    assert n_links >= 20


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("details", "Brand: Acme", "line 2 has details 'Brand: Acme': expected a JSON object of key: value"),
        ("details", 7, "line 2 has details 7: expected a JSON object"),
        ("average_rating", "high", "line 2 has average_rating 'high': expected a number from 0 to 5"),
        ("average_rating", 9.5, "line 2 has average_rating 9.5"),
        ("price", "cheap", "line 2 has price 'cheap': expected a number"),
        ("features", [1, 2], "line 2 has features [1, 2]: expected a list of strings"),
    ],
)
def test_amazon_bad_page_field_is_one_line_naming_file_and_line(tmp_path, field, value, message):
    rows = (AMAZON / "meta_Home_and_Kitchen.jsonl").read_text().splitlines()
    rows[1] = json.dumps({**json.loads(rows[1]), field: value})
    (tmp_path / "meta_Home_and_Kitchen.jsonl").write_text("\n".join(rows) + "\n")
    shutil.copy(AMAZON / "Home_and_Kitchen.jsonl", tmp_path)
    with pytest.raises(PrismError) as e:
        load_amazon2023(str(tmp_path))
    assert message in str(e.value) and "meta_Home_and_Kitchen.jsonl" in str(e.value) and "\n" not in str(e.value)


def test_amazon_page_fields_may_be_json_strings_or_missing(tmp_path):
    rows = [json.loads(r) for r in (AMAZON / "meta_Home_and_Kitchen.jsonl").read_text().splitlines()]
    rows[0]["details"] = json.dumps(rows[0]["details"])
    rows[1]["price"], rows[2]["price"] = None, "None"
    for k in ("features", "description", "average_rating"):
        rows[3].pop(k)
    (tmp_path / "meta_Home_and_Kitchen.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    shutil.copy(AMAZON / "Home_and_Kitchen.jsonl", tmp_path)
    info = load_amazon2023(str(tmp_path)).item_info
    assert info[rows[0]["parent_asin"]]["brand"] == "Hario" and "Material: Ceramic" in list(
        info[rows[0]["parent_asin"]]["details"]
    )
    assert pd.isna(info[rows[1]["parent_asin"]]["price"]) and pd.isna(info[rows[2]["parent_asin"]]["price"])
    assert list(info[rows[3]["parent_asin"]]["bullets"]) == [] and pd.isna(
        info[rows[3]["parent_asin"]]["average_rating"]
    )


def test_ml100k_facts_are_unchanged_by_product_pages():
    "The facts (hence prompts) of ML-100k pairs are byte for byte those from before product pages existed."
    ml = load_ml100k()
    assert not has_page(ml.item_info["50"])
    t = ml.interactions[ml.interactions.split == "test"].head(30)
    facts = json.dumps([pair_facts(ml, u, i) for u, i in zip(t.user, t.item)], sort_keys=True, default=str)
    assert (
        hashlib.sha256(facts.encode()).hexdigest() == "0ba76016df62de11b7ac3692ae7374a8d7eaedbf7ace133e487feb50733638a7"
    )
