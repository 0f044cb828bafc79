#!/usr/bin/env node
// ONNX Runtime bridge for parity tests and benchmarks: runs a model on .npy inputs with
// onnxruntime-node (from $QCAL_DEPS or the repo's .deps), writes outputs as .npy, and can time
// N runs at a given intra-op thread count.
//
// Usage:
//   node tools/ort/ort_run.js MODEL.onnx --input NAME=FILE.npy [--input ...] [--out DIR]
//        [--threads N] [--runs N] [--warmup N]
// Prints one JSON object on stdout:
//   {"outputs": {"name": "DIR/name.npy", ...}, "times_ms": [...], "median_ms": x,
//    "min_ms": x, "threads": N, "peak_rss_kb": n}
// Output files are named after the output, with characters outside [A-Za-z0-9._-] as '_'.
'use strict';
const fs = require('fs');
const c = require('./common.js');

function writeNpy(file, tensor) {
  const header = c.npyHeader(c.descrOf(tensor.type, file), tensor.dims);
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([header, c.tensorBytes(tensor)]));
  fs.renameSync(tmp, file);  // atomic: never a half-written file under the final name
}

async function main() {
  const opts = { threads: 1, runs: 1, warmup: 0, ...c.parseArgs(process.argv.slice(2), ['threads', 'runs', 'warmup'],
    'usage: ort_run.js MODEL.onnx --input NAME=FILE.npy [--out DIR] [--threads N] [--runs N] [--warmup N]') };
  const session = await c.createSession(opts.model, opts.threads);
  const feeds = {};
  for (const name of session.inputNames) {
    if (!(name in opts.inputs)) throw new Error(`no --input given for model input '${name}'`);
    const s = c.readNpy(opts.inputs[name]);
    feeds[name] = c.toTensor(s.type, s.Arr, s.bytes, s.shape);
  }
  for (let i = 0; i < opts.warmup; ++i) await session.run(feeds);
  const times = [];
  let result = null;
  for (let i = 0; i < Math.max(1, opts.runs); ++i) {
    const t0 = process.hrtime.bigint();
    result = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const outputs = {};
  if (opts.out) {
    fs.mkdirSync(opts.out, { recursive: true });
    for (const name of session.outputNames) {
      const file = c.outputFile(opts.out, name);
      writeNpy(file, result[name]);
      outputs[name] = file;
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({
    outputs, times_ms: times, median_ms: sorted[Math.floor(sorted.length / 2)], min_ms: sorted[0],
    threads: opts.threads, peak_rss_kb: process.resourceUsage().maxRSS,
  }) + '\n');
}

c.runMain('ort_run', main);
