"""Teacher vs student on a GPU, side by side in one run: the paper's FLAN-T5-XXL (11B) against BART-base (140M).

Each model is measured in its own process with prism_nb.profiling.profile_model: latency per explanation (p50/p90),
throughput and CUDA peak memory at several batch sizes, both in the same dtype, decoding and number of new tokens, with
every generation forced to exactly that many tokens. `--weights hub` loads the real checkpoints; `--weights random`
(for machines without hub access) builds the same architectures from their published configs with random weights, which
costs the same arithmetic and memory per token. Inputs are token-id sequences of `--input-len` tokens.

    python bench/gpu_profile.py --weights random --out profile_gpu.json
"""
import argparse, json, subprocess, sys, time
from pathlib import Path

CONFIGS = {  # published configs of google/flan-t5-xxl and facebook/bart-base
    "google/flan-t5-xxl": dict(model_type="t5", vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24,
                               num_decoder_layers=24, num_heads=64, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                               relative_attention_num_buckets=32, relative_attention_max_distance=128,
                               decoder_start_token_id=0, pad_token_id=0, eos_token_id=1),
    "facebook/bart-base": dict(model_type="bart", vocab_size=50265, d_model=768, encoder_layers=6, decoder_layers=6,
                               encoder_attention_heads=12, decoder_attention_heads=12, encoder_ffn_dim=3072,
                               decoder_ffn_dim=3072, max_position_embeddings=1024, pad_token_id=1, bos_token_id=0,
                               eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=2),
}

def load(name, weights, dtype):
    import torch, transformers as tf
    dt = getattr(torch, dtype)
    if weights == "hub": return tf.AutoModelForSeq2SeqLM.from_pretrained(name, dtype=dt).cuda().eval()
    cfg = tf.AutoConfig.for_model(**CONFIGS[name])
    with torch.device("cuda"): model = tf.AutoModelForSeq2SeqLM.from_config(cfg, dtype=dt)
    return model.eval()

def one(args):
    import torch
    from prism_nb.profiling import describe, lm_runner, profile_model
    torch.manual_seed(0)
    t0 = time.time(); model = load(args.model, args.weights, args.dtype); load_s = time.time() - t0
    ids = torch.randint(5, 32000, (max(args.batch_sizes) * 4, args.input_len)).tolist()
    encode = lambda rows: {"input_ids": torch.tensor(rows, device="cuda"),
                           "attention_mask": torch.ones(len(rows), len(rows[0]), dtype=torch.long, device="cuda")}
    run = lm_runner(model, encode, args.new_tokens, pad_token_id=model.config.pad_token_id)
    rows = profile_model(run, ids, args.batch_sizes, args.n_samples, args.warmup, args.new_tokens, device="cuda")
    print(json.dumps({"model": args.model, "weights": args.weights, "load_seconds": load_s, "input_len": args.input_len,
                      **describe(model, "cuda"), "new_tokens": args.new_tokens, "num_beams": 1, "by_batch": rows}))

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", choices=["hub", "random"], default="hub")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--n-samples", type=int, default=64)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--new-tokens", type=int, default=48)
    p.add_argument("--input-len", type=int, default=160)
    p.add_argument("--model"); p.add_argument("--out", default="profile_gpu.json")
    args = p.parse_args()
    if args.model: return one(args)
    res = {}
    for role, name in [("student", "facebook/bart-base"), ("teacher", "google/flan-t5-xxl")]:
        cmd = [sys.executable, __file__, "--model", name] + sys.argv[1:]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode: sys.exit(f"{name} failed:\n{r.stderr[-3000:]}")
        res[role] = {"role": role, "runtime": "transformers", **json.loads(r.stdout.strip().splitlines()[-1])}
    from prism_nb.profiling import headline
    res.update(headline([res["teacher"], res["student"]]))
    Path(args.out).write_text(json.dumps(res, indent=2))
    print(f"{'model':10} {'params':>8} {'batch':>5} {'p50 ms':>9} {'p90 ms':>9} {'expl/s':>8} {'peak MB':>9}")
    for role in ("teacher", "student"):
        for r in res[role]["by_batch"]:
            print(f"{role:10} {res[role]['params']/1e6:7.0f}M {r['batch_size']:5d} {r['latency_ms_p50']:9.1f} {r['latency_ms_p90']:9.1f} "
                  f"{r['explanations_per_s']:8.1f} {r['peak_mem_mb']:9.0f}")
    print(f"device {res['teacher']['device']}; speedup {res['speedup']:.1f}x, memory ratio {res['memory_ratio']:.1f}x at batch {res['batch_size']}")
    for bs_t, bs_s in zip(res["teacher"]["by_batch"], res["student"]["by_batch"]):
        speedup, memory = bs_t['latency_ms_p50'] / bs_s['latency_ms_p50'], bs_t['peak_mem_mb'] / bs_s['peak_mem_mb']
        print(f"batch {bs_t['batch_size']}: speedup {speedup:.1f}x, memory {memory:.1f}x")

if __name__ == "__main__": main()
