"""Drives the real huggingface_hub against `weightfs serve`, as its users call it.

    python hub_clients.py online  SPEC.json   # every call against HF_ENDPOINT; the Hub must be up
    python hub_clients.py offline SPEC.json   # HF_HUB_OFFLINE=1, from the cache the online run filled

SPEC names the repos and tokens (written by HfHubPythonConformanceTest). Prints one JSON object on
its last line: what each call returned, or the name of the exception it raised, so the Java test can
assert on every answer. Any unexpected failure is a traceback and a non-zero exit.
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
    out = {}
    for root, _, names in os.walk(folder):
        for n in names:
            p = os.path.join(root, n)
            out[os.path.relpath(p, folder)] = os.path.realpath(p)
    return out


def online(spec):
    import huggingface_hub as hh
    from huggingface_hub import HfApi

    cache = spec["cache"]
    repo, private, gated, dataset = spec["model"], spec["private"], spec["gated"], spec["dataset"]
    api = HfApi()
    r = {"version": hh.__version__}

    snap = hh.snapshot_download(repo, cache_dir=cache)
    r["snapshot"] = {"dir": snap, "files": files_under(snap)}
    r["snapshot_dev"] = files_under(hh.snapshot_download(repo, revision="dev", cache_dir=cache))
    r["download_main_config"] = hh.hf_hub_download(repo, "config.json", cache_dir=cache)
    r["download_dev_config"] = hh.hf_hub_download(repo, "config.json", revision="dev", cache_dir=cache)
    r["download_pr_config"] = hh.hf_hub_download(repo, "config.json", revision="refs/pr/1", cache_dir=cache)
    r["download_missing"] = outcome(lambda: hh.hf_hub_download(repo, "nope.json", cache_dir=cache))
    r["list_repo_files"] = api.list_repo_files(repo)
    r["list_repo_files_dev"] = api.list_repo_files(repo, revision="dev")
    refs = api.list_repo_refs(repo, include_pull_requests=True)
    r["refs"] = {
        "branches": {b.name: b.target_commit for b in refs.branches},
        "tags": {t.name: t.target_commit for t in refs.tags},
        "pulls": {p.ref: p.target_commit for p in refs.pull_requests},
    }
    r["commits"] = [c.commit_id for c in api.list_repo_commits(repo)]
    r["commits_dev"] = [c.commit_id for c in api.list_repo_commits(repo, revision="dev")]
    info = api.model_info(repo, files_metadata=True)
    r["model_info"] = {
        "id": info.id,
        "sha": info.sha,
        "private": info.private,
        "siblings": {s.rfilename: {"size": s.size, "sha256": s.lfs.sha256 if s.lfs else None} for s in info.siblings},
    }
    r["model_info_dev_sha"] = api.model_info(repo, revision="dev").sha
    r["file_exists"] = [api.file_exists(repo, "config.json"), api.file_exists(repo, "nope.json"),
                        api.file_exists(repo, "model.safetensors")]
    meta = api.get_safetensors_metadata(repo)
    r["safetensors"] = {
        name: {t: {"dtype": i.dtype, "shape": i.shape} for t, i in m.tensors.items()}
        for name, m in meta.files_metadata.items()
    }
    r["whoami"] = outcome(lambda: api.whoami(token=spec["token_private"])["name"])
    r["whoami_bad"] = outcome(lambda: api.whoami(token="hf_nobodysToken"))

    r["private_anonymous"] = outcome(lambda: hh.snapshot_download(private, cache_dir=cache, token=False))
    r["private_info_anonymous"] = outcome(lambda: api.model_info(private, token=False).id)
    r["private_with_token"] = outcome(
        lambda: sorted(files_under(hh.snapshot_download(private, cache_dir=cache, token=spec["token_private"]))))
    r["gated_anonymous"] = outcome(lambda: hh.hf_hub_download(gated, "config.json", cache_dir=cache, token=False))
    r["gated_wrong_token"] = outcome(
        lambda: hh.hf_hub_download(gated, "config.json", cache_dir=cache, token=spec["token_private"]))
    r["gated_with_token"] = outcome(
        lambda: open(hh.hf_hub_download(gated, "config.json", cache_dir=cache, token=spec["token_gated"])).read())
    r["gated_info_anonymous"] = outcome(lambda: api.model_info(gated, token=False).gated)

    ds = hh.snapshot_download(dataset, repo_type="dataset", cache_dir=cache)
    r["dataset_snapshot"] = {"dir": ds, "files": files_under(ds)}
    r["dataset_files"] = api.list_repo_files(dataset, repo_type="dataset")
    r["dataset_refs"] = [b.name for b in api.list_repo_refs(dataset, repo_type="dataset").branches]
    return r


def offline(spec):
    import huggingface_hub as hh
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE, "HF_HUB_OFFLINE=1 must be set for the offline run"
    cache = spec["cache"]
    repo = spec["model"]
    r = {"version": hh.__version__}
    r["snapshot"] = outcome(lambda: hh.snapshot_download(repo, cache_dir=cache))
    r["snapshot_dev"] = outcome(lambda: hh.snapshot_download(repo, revision="dev", cache_dir=cache))
    r["download_config"] = outcome(lambda: hh.hf_hub_download(repo, "config.json", cache_dir=cache))
    r["download_pr_config"] = outcome(lambda: hh.hf_hub_download(repo, "config.json", revision="refs/pr/1", cache_dir=cache))
    r["dataset"] = outcome(lambda: hh.snapshot_download(spec["dataset"], repo_type="dataset", cache_dir=cache))
    r["never_downloaded"] = outcome(lambda: hh.hf_hub_download(repo, "never-there.json", cache_dir=cache))
    r["api_call"] = outcome(lambda: hh.HfApi().model_info(repo).sha)
    return r


def main():
    mode, spec_file = sys.argv[1], sys.argv[2]
    with open(spec_file) as f:
        spec = json.load(f)
    result = online(spec) if mode == "online" else offline(spec)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
