"""Makes and loads the tiny BERT model of TransformersEndToEndTest, with the real libraries.

    python tiny_models.py make REPO_DIR EXPECTED.json   # save_pretrained + tokenizer + onnx/model.onnx
    python tiny_models.py load MODEL EXPECTED.json      # AutoTokenizer + AutoModel.from_pretrained(MODEL)

`make` writes what a Hub repo of a small BERT holds (config.json, model.safetensors, the tokenizer
files) plus the ONNX export transformers.js loads (onnx/model.onnx, exported with torch), and
records the model's output for a fixed sentence. `load` runs the same sentence through what
from_pretrained returns (a repo id through HF_ENDPOINT, or a folder: the mount) and prints one JSON
line: {"max_abs_diff": ..., "tokens": [...]}; the test wants the difference to be ~0.
"""

import json
import os
import sys

SENTENCE = "weights arrive while the server starts"
WORDS = ["weights", "arrive", "while", "the", "server", "starts", "model", "cache"]


def make(repo_dir, expected_file):
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    os.makedirs(repo_dir, exist_ok=True)
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    tokenizer = BertTokenizerFast(vocab={t: i for i, t in enumerate(tokens)})
    assert tokenizer.unk_token_id not in tokenizer(SENTENCE)["input_ids"], "the tokenizer must know every word"
    tokenizer.save_pretrained(repo_dir)
    config = BertConfig(vocab_size=len(WORDS) + 5, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32)
    model = BertModel(config).eval()
    model.save_pretrained(repo_dir, safe_serialization=True)

    enc = tokenizer(SENTENCE, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc).last_hidden_state
    os.makedirs(os.path.join(repo_dir, "onnx"), exist_ok=True)
    args = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    torch.onnx.export(model, args, os.path.join(repo_dir, "onnx", "model.onnx"),
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], dynamo=True, external_data=False)
    with open(expected_file, "w") as f:
        json.dump({"input_ids": enc["input_ids"][0].tolist(), "last_hidden_state": out[0].flatten().tolist(),
                   "shape": list(out.shape)}, f)


def load(model_ref, expected_file):
    import torch
    from transformers import AutoModel, AutoTokenizer

    with open(expected_file) as f:
        expected = json.load(f)
    tokenizer = AutoTokenizer.from_pretrained(model_ref)
    model = AutoModel.from_pretrained(model_ref).eval()
    enc = tokenizer(SENTENCE, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc).last_hidden_state[0].flatten().tolist()
    diff = max(abs(a - b) for a, b in zip(out, expected["last_hidden_state"]))
    print(json.dumps({"max_abs_diff": diff, "tokens": enc["input_ids"][0].tolist(), "values": len(out)}))


if __name__ == "__main__":
    {"make": make, "load": load}[sys.argv[1]](sys.argv[2], sys.argv[3])
