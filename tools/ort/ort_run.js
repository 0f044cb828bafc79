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
const path = require('path');

function depsDir() {
  if (process.env.QCAL_DEPS) return process.env.QCAL_DEPS;
  return path.resolve(__dirname, '..', '..', '.deps');
}
const ort = require(path.join(depsDir(), 'node', 'node_modules', 'onnxruntime-node'));

const DESCR = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array],
  '<i2': ['int16', Int16Array], '<u2': ['uint16', Uint16Array],
  '<i4': ['int32', Int32Array], '<u4': ['uint32', Uint32Array],
  '<i8': ['int64', BigInt64Array], '<u8': ['uint64', BigUint64Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.slice(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error(`${file}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.slice(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order not supported`);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)[1];
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const entry = DESCR[descr];
  if (!entry) throw new Error(`${file}: dtype ${descr} not supported`);
  const [type, Arr] = entry;
  const offset = start + headerLen;
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = buf.slice(offset, offset + count * Arr.BYTES_PER_ELEMENT);
  const data = new Arr(count);
  new Uint8Array(data.buffer).set(bytes);
  return new ort.Tensor(type, type === 'bool' ? Uint8Array.from(data, (v) => v !== 0) : data, shape);
}

function writeNpy(file, tensor) {
  const descr = Object.keys(DESCR).find((k) => DESCR[k][0] === tensor.type);
  if (!descr) throw new Error(`output dtype ${tensor.type} not supported`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = tensor.type === 'bool' ? Uint8Array.from(tensor.data, (v) => (v ? 1 : 0)) : tensor.data;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(tmp, file);  // atomic: never a half-written file under the final name
}

function parseArgs(argv) {
  const opts = { inputs: {}, out: null, threads: 1, runs: 1, warmup: 0, model: null };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--input') {
      const v = next();
      const eq = v.indexOf('=');
      if (eq < 0) throw new Error(`--input wants NAME=FILE.npy, got ${v}`);
      opts.inputs[v.slice(0, eq)] = v.slice(eq + 1);
    } else if (a === '--out') opts.out = next();
    else if (a === '--threads') opts.threads = Number(next());
    else if (a === '--runs') opts.runs = Number(next());
    else if (a === '--warmup') opts.warmup = Number(next());
    else if (!opts.model) opts.model = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!opts.model) throw new Error('usage: ort_run.js MODEL.onnx --input NAME=FILE.npy [--out DIR] [--threads N] [--runs N] [--warmup N]');
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(opts.model, {
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,  // errors only: warnings would go to stdout and break the JSON
  });
  const feeds = {};
  for (const name of session.inputNames) {
    if (!(name in opts.inputs)) throw new Error(`no --input given for model input '${name}'`);
    feeds[name] = readNpy(opts.inputs[name]);
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
      const file = path.join(opts.out, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`);
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

main().catch((e) => {
  process.stderr.write(`ort_run: error: ${e.message}\n`);
  process.exit(1);
});
