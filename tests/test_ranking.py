"Tests of the ranking stage: the file ranker's validation, the metrics, and learned rankers on synthetic data."

import numpy as np
import pandas as pd
import pytest

from prism_nb.core import PrismError, load_settings
from prism_nb.ranking import (
    RANKERS,
    Catalog,
    FileRanker,
    PopRanker,
    compare_rankers,
    hr_at_k,
    make_ranker,
    mrr,
    ndcg_at_k,
    rank_users,
    ranking_metrics,
    read_recommendation_file,
    recall_at_k,
)

# --- the file ranker -------------------------------------------------------------------------------------------------
CAT = Catalog(["u1", "u2"], ["i1", "i2", "i3"])


def write(tmp_path, df, name="recs.csv"):
    p = tmp_path / name
    df.to_parquet(p) if name.endswith(".parquet") else df.to_csv(p, index=False)
    return p


GOOD = pd.DataFrame({"user": ["u1", "u1", "u2"], "item": ["i2", "i3", "i1"], "score": [0.9, 0.5, 0.7]})


@pytest.mark.parametrize("name", ["recs.csv", "recs.parquet"])
def test_file_ranker_reads_good_file(tmp_path, name):
    df = read_recommendation_file(write(tmp_path, GOOD, name), CAT)
    assert df.columns.tolist() == ["user", "item", "score"] and len(df) == 3
    r = FileRanker(path=str(tmp_path / name)).fit(None, CAT)
    assert np.isneginf(r.score(np.array([0]))[0, 0]) and r.score(np.array([0]))[0, 1] == pytest.approx(0.9)


def test_file_ranker_rank_column(tmp_path):
    df = read_recommendation_file(write(tmp_path, GOOD.drop(columns="score").assign(rank=[1, 2, 1])), CAT)
    assert df.score.tolist() == [1.0, 0.5, 1.0]


@pytest.mark.parametrize(
    "bad, msg",
    [
        (GOOD.assign(user=["u1", "u1", "u9"]), "1 user(s) not in the dataset, e.g. 'u9'"),
        (GOOD.assign(item=["i2", "i7", "i1"]), "1 item(s) not in the dataset, e.g. 'i7'"),
        (pd.concat([GOOD, GOOD.iloc[[0]]]), "1 duplicate (user, item) pair(s), e.g. user 'u1' item 'i2'"),
        (GOOD.drop(columns="score"), "lacks column(s) score or rank"),
        (GOOD.drop(columns="item"), "lacks column(s) item"),
        (GOOD.rename(columns={"user": "customer"}), "lacks column(s) user"),
        (GOOD.assign(score=["0.9", "high", "0.1"]), "column score must be numeric, got 'high' at row 2"),
        (GOOD.assign(score=[0.9, None, 0.1]), "empty values in column(s) score"),
        (GOOD.drop(columns="score").assign(rank=[0, 1, 2]), "ranks must be 1 or more"),
    ],
)
def test_file_ranker_errors(tmp_path, bad, msg):
    with pytest.raises(PrismError, match=None) as e:
        read_recommendation_file(write(tmp_path, bad), CAT)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_file_ranker_missing_file_and_setting(tmp_path):
    with pytest.raises(PrismError, match="not found"):
        read_recommendation_file(tmp_path / "nope.csv", CAT)
    with pytest.raises(PrismError, match="needs ranking.file"):
        read_recommendation_file("", CAT)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(PrismError, match="must be .csv, .tsv or .parquet"):
        read_recommendation_file(tmp_path / "x.json", CAT)


# --- metrics ---------------------------------------------------------------------------------------------------------
def test_metrics_hand_computed():
    assert (hr_at_k([4], 5), hr_at_k([6], 5)) == (1.0, 0.0)
    assert ndcg_at_k([1], 10) == 1.0 and ndcg_at_k([3], 10) == pytest.approx(0.5)
    assert ndcg_at_k([2, 3], 2) == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert recall_at_k([1, 5, 30], 10) == pytest.approx(2 / 3)
    assert mrr([7, 2]) == 0.5 and mrr([np.inf]) == 0.0
    m = ranking_metrics([[1], [2], [np.inf]], ks=[1])
    assert m == pytest.approx({"ndcg@1": 1 / 3, "hr@1": 1 / 3, "recall@1": 1 / 3, "mrr": 0.5})


def test_rank_users_full_ranking_excludes_seen():
    # scores for one user over 5 items; items 0 and 1 are seen; the relevant item 4 is 2nd among the unseen 2, 3, 4
    class Fixed(PopRanker):
        def score(self, uidx):
            return np.array([[9.0, 8.0, 1.0, 5.0, 3.0]])

    cat = Catalog(["u"], list("abcde"))
    seen = cat.matrix(pd.DataFrame({"user": ["u", "u"], "item": ["a", "b"]}))
    recs, m = rank_users(Fixed(), cat, seen, [0], k=2, targets={0: [4]}, ks=[1, 2])
    assert recs.item.tolist() == ["d", "e"] and recs["rank"].tolist() == [1, 2]
    assert m["hr@1"] == 0.0 and m["hr@2"] == 1.0 and m["mrr"] == 0.5 and m["ndcg@2"] == pytest.approx(1 / np.log2(3))


# --- learned rankers beat random on synthetic data -------------------------------------------------------------------
def synthetic(n_users=120, n_items=60, n_groups=4, per_user=12, seed=0):
    "Users each like one group of items; the last item of each user (by time) is the test item, the one before valid."
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        g = u % n_groups
        group = np.arange(g, n_items, n_groups)
        for t, i in enumerate(rng.choice(group, per_user, replace=False)):
            rows.append((f"u{u}", f"i{i}", 5.0, t))
    df = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    last = df.groupby("user").timestamp.transform("max")
    df["split"] = np.where(df.timestamp == last, "test", np.where(df.timestamp == last - 1, "valid", "train"))
    return df


@pytest.mark.parametrize("name", ["itemknn", "als", "bpr", "sasrec"])
def test_learned_ranker_beats_random(name):
    df = synthetic()
    params = (
        '{"sasrec": {"max_epochs": 15, "patience": 5, "dim": 32}, "bpr": {"iterations": 50}, "als": {"factors": 16}}'
    )
    settings = load_settings(overrides=["ranking.ks=[10]", f"ranking.params={params}"])
    m, recs = compare_rankers(df, [name], settings, k=10, progress=False)
    # random ranking of the ~49 unseen items: HR@10 about 10/49 = 0.2; the group structure makes ~14 of them plausible
    assert m[name]["hr@10"] > 0.45, m[name]
    assert set(recs[name].user) == set(df[df.split == "test"].user) and recs[name].groupby("user").size().max() == 10


def test_registry_and_settings_errors():
    assert {"pop", "itemknn", "als", "bpr", "sasrec", "file"} <= set(RANKERS)
    settings = load_settings()
    with pytest.raises(PrismError, match="unknown ranker 'svd'"):
        make_ranker("svd", settings)
    with pytest.raises(PrismError, match="needs ranking.file"):
        compare_rankers(synthetic(20, 12, 2, 6), ["file"], settings, progress=False)


def test_file_ranker_swaps_in_with_one_setting(tmp_path):
    "The chosen ranker's recommendations, written to a file and read back as ranking.ranker=file, score identically."
    df = synthetic(40, 24, 2, 8)
    settings = load_settings(overrides=["ranking.ks=[5]", "ranking.k=5"])
    m, recs = compare_rankers(df, ["itemknn"], settings, progress=False)
    recs["itemknn"].drop(columns="score").to_csv(tmp_path / "r.csv", index=False)  # rank only
    S2 = load_settings(
        overrides=["ranking.ks=[5]", "ranking.k=5", "ranking.ranker=file", f"ranking.file={str(tmp_path / 'r.csv')!r}"]
    )
    m2, recs2 = compare_rankers(df, [S2.ranking.ranker], S2, progress=False)
    assert (
        recs2["file"][["user", "item", "rank"]].values.tolist()
        == recs["itemknn"][["user", "item", "rank"]].values.tolist()
    )
    assert m2["file"]["ndcg@5"] == pytest.approx(m["itemknn"]["ndcg@5"]) and m2["file"]["hr@5"] == pytest.approx(
        m["itemknn"]["hr@5"]
    )
    # a file that leaves out a test user is refused with a clear message
    recs["itemknn"][recs["itemknn"].user != "u0"].to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(PrismError, match="recommends nothing for 1 test user"):
        compare_rankers(df, ["file"], S2, progress=False)
