// Loads a model folder with the real @huggingface/transformers (onnxruntime-node underneath), from
// local files only, and runs it on the token ids the Python side recorded:
//
//   node load_onnx.mjs <modelsDir> <modelName> <expected.json>
//
// Prints one JSON line: {"max_abs_diff": <vs the torch output>, "shape": [...]}.
// Driven by TransformersEndToEndTest with <modelsDir> a weightfs mount.
import { AutoModel, Tensor, env } from "@huggingface/transformers";
import { readFile } from "node:fs/promises";

const [modelsDir, modelName, expectedFile] = process.argv.slice(2);
if (!modelsDir || !modelName || !expectedFile) {
	console.error("usage: node load_onnx.mjs <modelsDir> <modelName> <expected.json>");
	process.exit(2);
}
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = modelsDir.endsWith("/") ? modelsDir : modelsDir + "/";
env.useBrowserCache = false;
env.useFSCache = false;

const expected = JSON.parse(await readFile(expectedFile, "utf8"));
const model = await AutoModel.from_pretrained(modelName, { dtype: "fp32", local_files_only: true, device: "cpu" });
const n = expected.input_ids.length;
const ids = new Tensor("int64", BigInt64Array.from(expected.input_ids.map(BigInt)), [1, n]);
const ones = new Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]);
const zeros = new Tensor("int64", new BigInt64Array(n).fill(0n), [1, n]);
const out = await model({ input_ids: ids, attention_mask: ones, token_type_ids: zeros });
const got = Array.from(out.last_hidden_state.data);
let diff = 0;
for (let i = 0; i < got.length; i++) {
	diff = Math.max(diff, Math.abs(got[i] - expected.last_hidden_state[i]));
}
if (got.length !== expected.last_hidden_state.length) {
	diff = Infinity;
}
process.stdout.write(JSON.stringify({ max_abs_diff: diff, shape: out.last_hidden_state.dims }) + "\n");
