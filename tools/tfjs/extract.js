#!/usr/bin/env node
// Writes the TF.js Keras layers models that nsfwjs embeds in its JS files as plain TF.js model folders:
//   <out>/<model>/model.json   (modelTopology + weightsManifest pointing at weights.bin)
//   <out>/<model>/weights.bin  (every shard, concatenated in manifest order: weights cross shard boundaries)
// Usage: node extract.js OUT_DIR [mobilenet_v2 inception_v3 ...]
"use strict";
const fs = require("fs");
const path = require("path");

// The package exports no package.json subpath: locate it through the resolver's search path instead.
const PACKAGE = require.resolve.paths("nsfwjs").map((p) => path.join(p, "nsfwjs"))
  .find((p) => fs.existsSync(path.join(p, "package.json")));
if (!PACKAGE) {
  console.error("nsfwjs is not installed: run `npm ci` in tools/tfjs (bin/env.sh does)");
  process.exit(1);
}
const MODELS = path.join(PACKAGE, "dist", "models");

function extract(name, outDir) {
  const dir = path.join(MODELS, name);
  if (!fs.existsSync(path.join(dir, "model.min.js"))) {
    throw new Error(`nsfwjs has no model ${name} (looked in ${dir})`);
  }
  const model = require(path.join(dir, "model.min.js"));  // the module exports the model.json object
  const parts = [];
  for (const group of model.weightsManifest) {
    for (const p of group.paths) {
      const b64 = require(path.join(dir, `${p}.min.js`));  // each shard module exports a base64 string
      parts.push(Buffer.from(b64, "base64"));
    }
  }
  const weights = Buffer.concat(parts);
  const manifest = [{ paths: ["weights.bin"], weights: model.weightsManifest.flatMap((g) => g.weights) }];
  const target = path.join(outDir, name);
  fs.mkdirSync(target, { recursive: true });
  fs.writeFileSync(path.join(target, "weights.bin"), weights);
  fs.writeFileSync(path.join(target, "model.json"),
    JSON.stringify({ modelTopology: model.modelTopology, weightsManifest: manifest }));
  return weights.length;
}

const [outDir, ...names] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node extract.js OUT_DIR [model ...]");
  process.exit(2);
}
for (const name of names.length ? names : ["mobilenet_v2", "inception_v3"]) {
  const bytes = extract(name, outDir);
  console.log(`${name}: ${bytes} weight bytes -> ${path.join(outDir, name)}`);
}
