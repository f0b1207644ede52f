// Lists and downloads a whole repo with the real @huggingface/hub client, as its users call it.
//
//   node conformance.mjs <hubUrl> <org/name> <outDir>
//
// Writes every file under <outDir>/<path>, snapshots the repo into <outDir>-cache (the Hugging Face
// cache layout) and prints one JSON line to stdout:
//   {"entries": [<every entry listFiles yielded>], "downloaded": [<paths>], "exists": {...},
//    "safetensors": <parseSafetensorsMetadata's header>, "snapshot": <snapshot folder>}
// Driven by HfHubJsConformanceTest, which compares bytes and listings with the source directory.
// Exits non-zero, with the client's error on stderr, on any failure.
import { downloadFile, fileExists, listFiles, parseSafetensorsMetadata, snapshotDownload } from "@huggingface/hub";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

const [hubUrl, repo, outDir] = process.argv.slice(2);
if (!hubUrl || !repo || !outDir) {
	console.error("usage: node conformance.mjs <hubUrl> <org/name> <outDir>");
	process.exit(2);
}

const entries = [];
for await (const entry of listFiles({ repo, recursive: true, hubUrl })) {
	entries.push(entry);
}

const downloaded = [];
for (const entry of entries.filter((e) => e.type === "file")) {
	const blob = await downloadFile({ repo, path: entry.path, hubUrl });
	if (blob === null) {
		throw new Error(`downloadFile says ${entry.path} does not exist, though listFiles listed it`);
	}
	const bytes = new Uint8Array(await blob.arrayBuffer());
	const target = join(outDir, entry.path);
	await mkdir(dirname(target), { recursive: true });
	await writeFile(target, bytes);
	downloaded.push(entry.path);
}

// fileExists HEADs /raw/; parseSafetensorsMetadata finds the weights with fileExists, then reads
// the header with ranged downloads.
const exists = {};
for (const path of ["config.json", "model.safetensors", "nested/deeper/tokenizer_config.json", "no-such-file.json"]) {
	exists[path] = await fileExists({ repo, path, hubUrl });
}
const meta = await parseSafetensorsMetadata({ repo, hubUrl });
const snapshot = await snapshotDownload({ repo, hubUrl, cacheDir: `${outDir}-cache` });

process.stdout.write(JSON.stringify({ entries, downloaded, exists, safetensors: meta.header, snapshot }) + "\n");
