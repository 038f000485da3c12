r"""Teacher vs student on a GPU, side by side in one run: the paper's FLAN-T5-XXL (11B) against BART-base (140M), each
on transformers (eager, and compiled: a static cache with `torch.compile`'s reduce-overhead mode, which replays each
decoding step as one CUDA graph instead of launching its kernels one by one from the host) and on CTranslate2 (bfloat16
and int8 weights).

Each (model, runtime, type) is measured in its own process with prism_nb.profiling.profile_model: latency per
explanation (p50/p90) and throughput at several batch sizes, with every generation forced to exactly `--new-tokens`
tokens from inputs of `--input-len` token ids. Memory is the device memory in use above the process's CUDA context, read
after each batch size (`torch.cuda.mem_get_info`): it sees what each runtime's allocator holds, the same way for all of
them (transformers rows also keep torch's own peak allocation). `--weights hub` loads the real checkpoints (CTranslate2
converts them with its converter); `--weights random` (machines without hub access) builds the architectures from their
published configs with random weights, which cost the same arithmetic and memory per token, and converts the built model
for CTranslate2 with a placeholder vocabulary (token ids are all the timing needs). The headline compares the student on
its fastest runtime with the teacher on its fastest, and with the teacher on transformers.

    python bench/gpu_profile.py --weights random --out profile_gpu.json
    python bench/gpu_profile.py --weights random --tiny --device cpu --dtype float32 --ct2-types float32 int8 \
        --n-samples 2
    python bench/gpu_profile.py --weights random --runtimes transformers compiled ct2 \
        --ct2-types bfloat16  # 6 processes, not 8

CTranslate2's PyPI wheels are built against CUDA 12 (libcublas.so.12); on a CUDA 13 machine put a libcublas.so.12 link
to libcublas.so.13 on LD_LIBRARY_PATH.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = {  # published configs of google/flan-t5-xxl and facebook/bart-base
    "google/flan-t5-xxl": dict(
        model_type="t5",
        vocab_size=32128,
        d_model=4096,
        d_kv=64,
        d_ff=10240,
        num_layers=24,
        num_decoder_layers=24,
        num_heads=64,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    ),
    "facebook/bart-base": dict(
        model_type="bart",
        vocab_size=50265,
        d_model=768,
        encoder_layers=6,
        decoder_layers=6,
        encoder_attention_heads=12,
        decoder_attention_heads=12,
        encoder_ffn_dim=3072,
        decoder_ffn_dim=3072,
        max_position_embeddings=1024,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_eos_token_id=2,
        normalize_before=False,
        add_final_layer_norm=False,
        normalize_embedding=True,
        scale_embedding=False,
    ),
}
TINY = {  # the same architectures shrunk, for checking this script on a CPU in a minute
    "google/flan-t5-xxl": dict(d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=2, num_heads=4),
    "facebook/bart-base": dict(
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
    ),
}


def build(name, weights, dtype, device, tiny=False):
    "The model `name`: the hub's checkpoint, or its architecture (shrunk with `tiny`) with random weights."
    import torch
    import transformers as tf

    dt = getattr(torch, dtype)
    if weights == "hub":
        return tf.AutoModelForSeq2SeqLM.from_pretrained(name, dtype=dt).to(device).eval()
    cfg = tf.AutoConfig.for_model(**{**CONFIGS[name], **(TINY[name] if tiny else {})})
    with torch.device(device):
        model = tf.AutoModelForSeq2SeqLM.from_config(cfg, dtype=dt)
    return model.eval()


class PlaceholderVocab:
    "Stand-in tokenizer for CTranslate2's converter: `<i>` for id i, the config's special tokens by name."

    def __init__(self, config):
        specials = {
            config.pad_token_id: "<pad>",
            config.eos_token_id: "</s>",
            getattr(config, "bos_token_id", None): "<s>",
        }
        self.tokens = [specials.get(i, f"<{i}>") for i in range(config.vocab_size)]
        self.pad_token, self.eos_token, self.bos_token, self.unk_token = "<pad>", "</s>", "<s>", self.tokens[3]

    def get_vocab(self):
        return {t: i for i, t in enumerate(self.tokens)}

    def convert_ids_to_tokens(self, i):
        return self.tokens[i]


def convert_built(model, out_dir, quantization):
    "Convert an in-memory transformers model (random weights) to a CTranslate2 model in `out_dir`."
    import tempfile

    import ctranslate2

    class Converter(ctranslate2.converters.TransformersConverter):
        def load_model(self, *args, **kwargs):
            return model

        def load_tokenizer(self, *args, **kwargs):
            return PlaceholderVocab(model.config)

    with tempfile.TemporaryDirectory() as cfg_dir:
        model.config.save_pretrained(cfg_dir)
        Converter(cfg_dir).convert(str(out_dir), quantization=quantization, force=True)


def ct2_dir(args) -> Path:
    "The CTranslate2 conversion of `args.model` in `args.dtype`, made once and reused by the later processes."
    out = (
        Path(args.ct2_cache)
        / f"{args.model.replace('/', '--')}-{args.weights}{'-tiny' if args.tiny else ''}-{args.dtype}"
    )
    if (out / "model.bin").is_file():
        return out
    tmp = out.with_name(out.name + ".tmp")
    if args.weights == "hub":
        import ctranslate2

        ctranslate2.converters.TransformersConverter(args.model, low_cpu_mem_usage=True).convert(
            str(tmp), quantization=args.dtype, force=True
        )
    else:
        import torch

        model = build(args.model, "random", args.dtype, args.device, args.tiny).cpu()  # the converter reads host memory
        if args.device == "cuda":
            torch.cuda.empty_cache()
        convert_built(model, tmp, args.dtype)
    tmp.rename(out)
    return out


def compile_decoding(model):
    "Make `model.generate` decode with a static cache and a compiled forward (CUDA graphs on a GPU, compiled on a CPU)."
    import transformers as tf

    config = tf.CompileConfig(fullgraph=True, mode="reduce-overhead")
    config._compile_all_devices = (
        True  # transformers compiles on accelerators only; the CPU check should run the same path
    )
    model.generation_config.cache_implementation, model.generation_config.compile_config = "static", config
    return model


def device_used_mb(device):
    "Memory in use on the GPU (every allocator in the process), in MB; None on a CPU."
    import torch

    if device != "cuda":
        return None
    free, total = torch.cuda.mem_get_info()
    return (total - free) / 2**20


def one(args):
    "Profile one (model, runtime, type) in this process and print its JSON row."
    import torch

    from prism_nb.models import runtime_threads
    from prism_nb.profiling import describe, device_name, lm_runner, profile_model

    torch.manual_seed(0)
    vocab = min(c["vocab_size"] for c in CONFIGS.values())
    ids = torch.randint(5, vocab, (max(args.batch_sizes) * 4, args.input_len)).tolist()
    path = (
        ct2_dir(args) if args.runtime == "ct2" else None
    )  # converted before the baseline: the conversion is not the model
    torch.zeros(1, device=args.device)
    base, t0 = device_used_mb(args.device), time.time()  # baseline: the CUDA context
    if args.runtime == "ct2":
        import ctranslate2

        model = ctranslate2.Translator(
            str(path), device=args.device, compute_type=args.ct2_type, intra_threads=runtime_threads(args.device)
        )
        names = json.loads((path / "shared_vocabulary.json").read_text())  # the converted model's tokens, by id
        run = lambda rows: model.translate_batch(
            [[names[i] for i in r] for r in rows],
            beam_size=1,
            max_decoding_length=args.new_tokens,
            min_decoding_length=args.new_tokens,
        )
        info = {"params": None, "dtype": args.ct2_type, "device": device_name(args.device)}
    else:
        model = build(args.model, args.weights, args.dtype, args.device, args.tiny)
        if args.runtime == "compiled":
            compile_decoding(model)  # compiles on the warm-up calls of each batch size
        encode = lambda rows: {
            "input_ids": torch.tensor(rows, device=args.device),
            "attention_mask": torch.ones(len(rows), len(rows[0]), dtype=torch.long, device=args.device),
        }
        run, info = (
            lm_runner(model, encode, args.new_tokens, pad_token_id=model.config.pad_token_id),
            describe(model, args.device),
        )
    load_s, rows = time.time() - t0, []
    for bs in args.batch_sizes:
        (row,) = profile_model(run, ids, [bs], args.n_samples, args.warmup, args.new_tokens, device=args.device)
        if base is not None:
            row.update(
                torch_peak_mem_mb=row["peak_mem_mb"] if args.runtime != "ct2" else None,
                peak_mem_mb=device_used_mb(args.device) - base,
            )
        rows.append(row)
    print(
        json.dumps(
            {
                "model": args.model,
                "runtime": args.runtime,
                "weights": args.weights,
                "load_seconds": load_s,
                "input_len": args.input_len,
                **info,
                "new_tokens": args.new_tokens,
                "num_beams": 1,
                "by_batch": rows,
            }
        )
    )


def variants(args):
    "(role, model, runtime, CTranslate2 type) for every process this run starts, the student first."
    for role, name in [("student", "facebook/bart-base"), ("teacher", "google/flan-t5-xxl")]:
        for rt in args.runtimes:
            for ct in args.ct2_types if rt == "ct2" else [None]:
                yield role, name, rt, ct


def table(runs):
    "The measured rows as a printable table."
    lines = [f"{'role':8} {'runtime':24} {'batch':>5} {'p50 ms':>9} {'p90 ms':>9} {'expl/s':>8} {'mem MB':>9}"]
    for r in runs:
        for b in r["by_batch"]:
            lines.append(
                f"{r['role']:8} {r['runtime'] + ' ' + r['dtype']:24} {b['batch_size']:5d} {b['latency_ms_p50']:9.1f} "
                f"{b['latency_ms_p90']:9.1f} {b['explanations_per_s']:8.1f} {b['peak_mem_mb']:9.0f}"
            )
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", choices=["hub", "random"], default="hub")
    p.add_argument("--dtype", default="bfloat16", help="transformers dtype, and the type CTranslate2 converts to")
    p.add_argument(
        "--runtimes",
        nargs="+",
        default=["transformers", "compiled", "ct2"],
        choices=["transformers", "compiled", "ct2"],
    )
    p.add_argument(
        "--ct2-types", nargs="+", default=["bfloat16", "int8_bfloat16"], help="CTranslate2 compute types measured"
    )
    p.add_argument("--ct2-cache", default="/tmp/prism-gpu-ct2", help="where the CTranslate2 conversions are kept")
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="shrunk architectures: checks the script, measures nothing")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--n-samples", type=int, default=32)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--new-tokens", type=int, default=48)
    p.add_argument("--input-len", type=int, default=160)
    p.add_argument("--model")
    p.add_argument("--runtime")
    p.add_argument("--ct2-type")
    p.add_argument("--out", default="profile_gpu.json")
    args = p.parse_args()
    if args.model:
        return one(args)
    runs, failed = [], []
    for role, name, rt, ct in variants(args):
        cmd = (
            [sys.executable, __file__, "--model", name, "--runtime", rt]
            + (["--ct2-type", ct] if ct else [])
            + sys.argv[1:]
        )
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        print(
            f"{role} {rt} {ct or args.dtype}: {'failed' if r.returncode else 'done'} in {time.time() - t0:.0f} s",
            flush=True,
        )
        if r.returncode:
            failed.append({"role": role, "runtime": rt, "dtype": ct, "error": r.stderr[-3000:]})
            print(r.stderr[-3000:])
        else:
            runs.append({"role": role, **json.loads(r.stdout.strip().splitlines()[-1]), "dtype": ct or args.dtype})
        Path(args.out).write_text(json.dumps({"runs": runs, "failed": failed}, indent=2))  # what is measured so far
    from prism_nb.profiling import fastest, headline

    res = {"runs": runs, "failed": failed}
    if {r["role"] for r in runs} == {"teacher", "student"}:
        res.update(headline(runs))
        t1, s1 = fastest(runs, "teacher", 1), fastest(runs, "student", 1)
        res.update(teacher_dtype_batch1=t1["dtype"], student_dtype_batch1=s1["dtype"])
    Path(args.out).write_text(json.dumps(res, indent=2))
    print(table(runs))
    if "speedup_batch1" in res:
        print(
            f"device {runs[0]['device']}; batch 1: student "
            f"({res['student_runtime_batch1']} {res['student_dtype_batch1']}) "
            f"{res['speedup_batch1']:.1f}x faster than the teacher "
            f"({res['teacher_runtime_batch1']} {res['teacher_dtype_batch1']}); "
            f"vs the transformers teacher, by batch: {res.get('speedup_vs_transformers_teacher')}; "
            f"batch {res['batch_size']}: "
            f"{res['speedup']:.1f}x, memory {res['memory_ratio']:.1f}x"
        )
    return (
        res
        if not failed
        else sys.exit(f"{len(failed)} of {len(runs) + len(failed)} measurements failed; see {args.out}")
    )


if __name__ == "__main__":
    main()
