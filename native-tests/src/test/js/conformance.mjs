// Lists and downloads a whole repo with the real @huggingface/hub client, as its users call it.
//
//   node conformance.mjs <hubUrl> <org/name> <outDir>
//
// Writes every file under <outDir>/<path> and prints one JSON line to stdout:
//   {"entries": [<every entry listFiles yielded>], "downloaded": [<paths>]}
// Driven by HfHubJsConformanceTest, which compares bytes and listings with the source directory.
// Exits non-zero, with the client's error on stderr, on any failure.
import { downloadFile, listFiles } from "@huggingface/hub";
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

process.stdout.write(JSON.stringify({ entries, downloaded }) + "\n");
