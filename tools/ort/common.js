// Shared by the ONNX Runtime bridges (ort_run.js, ort_batch.js): where onnxruntime-node lives,
// .npy reading and writing, command-line parsing and the session options both use.
'use strict';
const fs = require('fs');
const path = require('path');

function depsDir() {
  if (process.env.QCAL_DEPS) return process.env.QCAL_DEPS;
  return path.resolve(__dirname, '..', '..', '.deps');
}
const ort = require(path.join(depsDir(), 'node', 'node_modules', 'onnxruntime-node'));

// numpy descr -> [onnxruntime type, typed array]
const DESCR = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array],
  '<i2': ['int16', Int16Array], '<u2': ['uint16', Uint16Array],
  '<i4': ['int32', Int32Array], '<u4': ['uint32', Uint32Array],
  '<i8': ['int64', BigInt64Array], '<u8': ['uint64', BigUint64Array],
};

// Reads an .npy: {descr, type, Arr, shape, bytes} with bytes the raw little-endian data.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.slice(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error(`${file}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.slice(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order not supported`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim())
    .filter((s) => s.length).map(Number);
  const entry = DESCR[descr];
  if (!entry) throw new Error(`${file}: dtype ${descr} not supported`);
  return { descr, type: entry[0], Arr: entry[1], shape, bytes: buf.slice(start + headerLen) };
}

// An ort.Tensor of `shape` from `bytes` (copied: typed arrays need aligned storage).
function toTensor(type, Arr, bytes, shape) {
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Arr(count);
  new Uint8Array(data.buffer).set(bytes.subarray(0, count * Arr.BYTES_PER_ELEMENT));
  return new ort.Tensor(type, type === 'bool' ? Uint8Array.from(data, (v) => v !== 0) : data, shape);
}

// The numpy descr of an ort tensor type, or an error naming the output.
function descrOf(type, what) {
  const descr = Object.keys(DESCR).find((k) => DESCR[k][0] === type);
  if (!descr) throw new Error(`${what}: dtype ${type} not supported`);
  return descr;
}

// Version 1.0 .npy header, padded so the data starts on a 64-byte boundary.
function npyHeader(descr, shape) {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre, 0);
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1')]);
}

// Raw bytes of an ort tensor's data (bool as 0/1 bytes).
function tensorBytes(t) {
  const data = t.type === 'bool' ? Uint8Array.from(t.data, (v) => (v ? 1 : 0)) : t.data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

// File name of an output: characters outside [A-Za-z0-9._-] become '_'.
function outputFile(dir, name) {
  return path.join(dir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`);
}

// MODEL --input NAME=FILE.npy ... plus the numeric flags listed in `numeric` (e.g. threads).
function parseArgs(argv, numeric, usage) {
  const opts = { inputs: {}, out: null, model: null };
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
    else if (a.startsWith('--') && numeric.includes(a.slice(2))) opts[a.slice(2)] = Number(next());
    else if (!opts.model) opts.model = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!opts.model) throw new Error(usage);
  return opts;
}

function createSession(model, threads) {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,  // errors only: warnings would go to stdout and break the JSON
  });
}

// Runs main() and turns a thrown error into "<tool>: error: ..." on stderr and exit status 1.
function runMain(tool, main) {
  main().catch((e) => {
    process.stderr.write(`${tool}: error: ${e.message}\n`);
    process.exit(1);
  });
}

module.exports = {
  ort, readNpy, toTensor, descrOf, npyHeader, tensorBytes, outputFile, parseArgs, createSession, runMain,
};
