"""Part 8 of the weightfs benchmark (ColdStartBenchmark): a Llama-shaped model loaded by transformers.

  llama_bench.py make OUT HIDDEN INTERMEDIATE LAYERS VOCAB   # write a random bf16 model, ~300 MB shards
  llama_bench.py mount DIR                                  # import, wait for DIR/config.json, from_pretrained(DIR)
  llama_bench.py hub REPO_ID CACHE_DIR                      # import, snapshot_download (HF_ENDPOINT), from_pretrained

The load modes print one JSON line at the end with time.monotonic() stamps (CLOCK_MONOTONIC, the
clock of Java's System.nanoTime) of each step, and a checksum over one bf16 value per 4 KiB page of
every weight: the loop touches every page, so "loaded" means every byte was read (safetensors may
hand out lazily mapped tensors), and the two modes must agree on it.
"""
import json
import os
import sys
import time


def touch_all(model):
    import torch
    total = 0.0
    n = 0
    with torch.no_grad():
        for p in list(model.parameters()) + list(model.buffers()):
            v = p.detach().reshape(-1)
            n += v.numel()
            # 2048 bf16 values = 4 KiB: one value per page touches every page of the tensor.
            total += float(v[::2048].float().sum())
    return total, n


def load(path):
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16)
    return touch_all(model)


def main():
    mode = sys.argv[1]
    if mode == "make":
        out, hidden, inter, layers, vocab = sys.argv[2], *map(int, sys.argv[3:7])
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM
        torch.manual_seed(0)
        torch.set_default_dtype(torch.bfloat16)
        cfg = LlamaConfig(hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                          num_attention_heads=hidden // 128, num_key_value_heads=max(1, hidden // 512),
                          vocab_size=vocab, max_position_embeddings=2048, tie_word_embeddings=False)
        model = LlamaForCausalLM(cfg)
        model.save_pretrained(out, max_shard_size="300MB")
        cs, n = touch_all(model)
        print(json.dumps({"params": n, "checksum": cs}), flush=True)
        return
    t = {"start": time.monotonic()}
    import torch  # noqa: F401  (the model server's own start: what a lazy mount can hide behind)
    import transformers  # noqa: F401
    t["imported"] = time.monotonic()
    if mode == "mount":
        path = sys.argv[2]
        deadline = time.monotonic() + 120
        while not os.path.exists(os.path.join(path, "config.json")):
            if time.monotonic() > deadline:
                sys.exit("no config.json under " + path + " after 120 s")
            time.sleep(0.01)
        t["visible"] = time.monotonic()
    elif mode == "hub":
        from huggingface_hub import snapshot_download
        path = snapshot_download(repo_id=sys.argv[2], cache_dir=sys.argv[3])
        t["downloaded"] = time.monotonic()
    else:
        sys.exit("unknown mode " + mode)
    cs, n = load(path)
    t["loaded"] = time.monotonic()
    print(json.dumps({"times": t, "params": n, "checksum": cs}), flush=True)


if __name__ == "__main__":
    main()
