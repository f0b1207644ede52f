"""Reads a weightfs mount's Hugging Face cache view with the real libraries, offline, as their users do.

    python hf_cache_view.py hub SPEC.json           # huggingface_hub: hf_hub_download, snapshot_download, ...
    python hf_cache_view.py transformers SPEC.json  # AutoTokenizer / AutoModel.from_pretrained("org/name")

The environment says where the cache is (HF_HUB_CACHE=<mount>/<root>, or HF_HOME=<mount> for the root
`hub`) and HF_HUB_OFFLINE=1; nothing here names the mount, so the libraries find it the way they find
any cache. SPEC (written by HfCacheViewEndToEndTest) names the repo, its commit and the expected
model output. Prints one JSON object on its last line: what each call returned, or the name of the
exception it raised. Any unexpected failure is a traceback and a non-zero exit.
"""

import json
import os
import sys


def outcome(fn):
    """The call's result, or {"raised": <exception class name>, "message": ...}."""
    try:
        return {"ok": fn()}
    except Exception as e:  # the test asserts on which
        return {"raised": type(e).__name__, "message": str(e)[:500]}


def files_under(folder):
    out = []
    for root, _, names in os.walk(folder):
        for n in names:
            out.append(os.path.relpath(os.path.join(root, n), folder))
    return sorted(out)


def hub(spec):
    import huggingface_hub as hh
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE, "HF_HUB_OFFLINE=1 must be set"
    repo, commit = spec["repo"], spec["commit"]
    r = {"version": hh.__version__, "cache": constants.HF_HUB_CACHE}
    r["download"] = outcome(lambda: hh.hf_hub_download(repo, "config.json"))
    r["download_commit"] = outcome(lambda: hh.hf_hub_download(repo, "config.json", revision=commit))
    r["download_weights"] = outcome(lambda: hh.hf_hub_download(repo, "model.safetensors"))
    r["download_nested"] = outcome(lambda: hh.hf_hub_download(repo, "model.onnx", subfolder="onnx"))
    r["download_missing"] = outcome(lambda: hh.hf_hub_download(repo, "nope.json"))
    r["download_other_commit"] = outcome(lambda: hh.hf_hub_download(repo, "config.json", revision="f" * 40))
    snap = hh.snapshot_download(repo)
    r["snapshot"] = {"dir": snap, "files": files_under(snap)}
    r["snapshot_commit"] = outcome(lambda: hh.snapshot_download(repo, revision=commit))
    r["snapshot_json"] = outcome(lambda: hh.snapshot_download(repo, allow_patterns=["*.json"]))
    r["snapshot_unknown_repo"] = outcome(lambda: hh.snapshot_download("acme/not-mounted"))
    cached = hh.try_to_load_from_cache(repo, "config.json")
    missing = hh.try_to_load_from_cache(repo, "adapter_config.json")
    r["try_cached"] = cached
    r["try_missing_is_known"] = missing is hh._CACHED_NO_EXIST
    scan = hh.scan_cache_dir()
    r["scan"] = [{"repo_id": x.repo_id, "repo_type": x.repo_type, "files": x.nb_files, "size": x.size_on_disk,
                  "refs": sorted(ref for rev in x.revisions for ref in rev.refs)} for x in scan.repos]
    r["scan_warnings"] = [str(w) for w in scan.warnings]
    return r


def transformers_load(spec):
    import torch
    from transformers import AutoModel, AutoTokenizer

    sentence = "weights arrive while the server starts"
    with open(spec["expected"]) as f:
        expected = json.load(f)["last_hidden_state"]
    out = {}
    for key, revision in (("main", None), ("commit", spec["commit"])):
        tokenizer = AutoTokenizer.from_pretrained(spec["repo"], revision=revision)
        model = AutoModel.from_pretrained(spec["repo"], revision=revision).eval()
        enc = tokenizer(sentence, return_tensors="pt")
        with torch.no_grad():
            got = model(**enc).last_hidden_state[0].flatten().tolist()
        out[key] = {"max_abs_diff": max(abs(a - b) for a, b in zip(got, expected)), "values": len(got),
                    "tokens": enc["input_ids"][0].tolist()}
    return out


def main():
    mode, spec_file = sys.argv[1], sys.argv[2]
    with open(spec_file) as f:
        spec = json.load(f)
    result = hub(spec) if mode == "hub" else transformers_load(spec)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
