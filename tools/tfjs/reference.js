#!/usr/bin/env node
// Runs an extracted TF.js layers model (see extract.js) with TF.js's pure-JS CPU backend on a batch of preprocessed
// images and writes the requested layers' outputs, for comparison with the Java import.
//   node reference.js MODEL_DIR INPUT.f32 N LAYER[,LAYER...] OUT_DIR
// INPUT.f32: N images, NHWC float32 little-endian, at the model's input size. For each layer writes
// OUT_DIR/<layer>.f32 (NHWC / [N, units] float32) and OUT_DIR/<layer>.json ({"shape": [...]}).
"use strict";
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs");

async function main() {
  const [modelDir, inputFile, n, layerList, outDir] = process.argv.slice(2);
  if (!outDir) {
    console.error("usage: node reference.js MODEL_DIR INPUT.f32 N LAYER[,LAYER...] OUT_DIR");
    process.exit(2);
  }
  await tf.setBackend("cpu");
  const json = JSON.parse(fs.readFileSync(path.join(modelDir, "model.json"), "utf8"));
  const data = fs.readFileSync(path.join(modelDir, "weights.bin"));
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  }));
  const layers = layerList.split(",");
  const sub = tf.model({ inputs: model.inputs, outputs: layers.map((l) => model.getLayer(l).output) });
  const [, h, w, c] = model.inputs[0].shape;
  const raw = fs.readFileSync(inputFile);
  const count = Number(n);
  if (raw.length !== count * h * w * c * 4) {
    throw new Error(`${inputFile}: ${raw.length} bytes, expected ${count} x ${h} x ${w} x ${c} float32`);
  }
  // Copy into a fresh buffer: a small file's Buffer may sit unaligned inside Node's pool.
  const values = new Float32Array(count * h * w * c);
  new Uint8Array(values.buffer).set(raw);
  const input = tf.tensor4d(values, [count, h, w, c]);
  let outputs = sub.predict(input);
  if (!Array.isArray(outputs)) outputs = [outputs];
  fs.mkdirSync(outDir, { recursive: true });
  for (let i = 0; i < layers.length; i++) {
    const values = await outputs[i].data();
    fs.writeFileSync(path.join(outDir, `${layers[i]}.f32`), Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    fs.writeFileSync(path.join(outDir, `${layers[i]}.json`), JSON.stringify({ shape: outputs[i].shape }));
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
