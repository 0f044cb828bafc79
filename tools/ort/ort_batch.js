#!/usr/bin/env node
// ONNX Runtime over a stack of samples, for `qcal eval --runtime ort`: each input .npy holds N
// samples stacked on a new first axis ([N, ...model input shape]); the model runs once per
// sample and each output is written stacked the same way ([N, ...output shape]), so one Node
// process and one session serve a whole chunk of a data set.
//
// Usage: node tools/ort/ort_batch.js MODEL.onnx --input NAME=STACK.npy [...] --out DIR
//        [--threads N]
// Prints {"samples": N, "outputs": {"name": "DIR/<name>.npy"}} on stdout. Output files are
// named after the output with characters outside [A-Za-z0-9._-] replaced by '_'; each is
// written under a temporary name and renamed when complete.
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

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.slice(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error(`${file}: not an .npy file`);
  const headerLen = buf[6] === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = buf[6] === 1 ? 10 : 12;
  const header = buf.slice(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order not supported`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim())
    .filter((s) => s.length).map(Number);
  const entry = DESCR[descr];
  if (!entry) throw new Error(`${file}: dtype ${descr} not supported`);
  return { descr, type: entry[0], Arr: entry[1], shape, bytes: buf.slice(start + headerLen) };
}

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

async function main() {
  const argv = process.argv.slice(2);
  const opts = { inputs: {}, out: null, threads: 1, model: null };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    if (a === '--input') {
      const v = next();
      const eq = v.indexOf('=');
      if (eq < 0) throw new Error(`--input wants NAME=FILE.npy, got ${v}`);
      opts.inputs[v.slice(0, eq)] = v.slice(eq + 1);
    } else if (a === '--out') opts.out = next();
    else if (a === '--threads') opts.threads = Number(next());
    else if (!opts.model) opts.model = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!opts.model || !opts.out) throw new Error('usage: ort_batch.js MODEL.onnx --input NAME=STACK.npy ... --out DIR [--threads N]');
  const session = await ort.InferenceSession.create(opts.model, {
    intraOpNumThreads: opts.threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const stacks = {};
  let n = -1;
  for (const name of session.inputNames) {
    if (!(name in opts.inputs)) throw new Error(`no --input given for model input '${name}'`);
    const s = readNpy(opts.inputs[name]);
    if (s.shape.length < 1) throw new Error(`${opts.inputs[name]}: needs a leading sample axis`);
    if (n >= 0 && s.shape[0] !== n) throw new Error('inputs hold different sample counts');
    n = s.shape[0];
    stacks[name] = s;
  }
  fs.mkdirSync(opts.out, { recursive: true });
  const files = {};  // output name -> {fd, tmp, final, descr, shape, count}
  for (let i = 0; i < n; ++i) {
    const feeds = {};
    for (const [name, s] of Object.entries(stacks)) {
      const per = s.shape.slice(1).reduce((a, b) => a * b, 1);
      const nbytes = per * s.Arr.BYTES_PER_ELEMENT;
      const data = new s.Arr(per);
      new Uint8Array(data.buffer).set(s.bytes.subarray(i * nbytes, (i + 1) * nbytes));
      feeds[name] = new ort.Tensor(s.type, s.type === 'bool' ? Uint8Array.from(data, (v) => v !== 0) : data, s.shape.slice(1));
    }
    const result = await session.run(feeds);
    for (const name of session.outputNames) {
      const t = result[name];
      const descr = Object.keys(DESCR).find((k) => DESCR[k][0] === t.type);
      if (!descr) throw new Error(`output ${name}: dtype ${t.type} not supported`);
      if (!files[name]) {
        const final = path.join(opts.out, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`);
        const tmp = `${final}.tmp${process.pid}`;
        const fd = fs.openSync(tmp, 'w');
        // The header is written last (its shape needs N); reserve room for it now.
        fs.writeSync(fd, Buffer.alloc(npyHeader(descr, [n, ...t.dims]).length));
        files[name] = { fd, tmp, final, descr, dims: [...t.dims] };
      }
      const f = files[name];
      if (f.dims.join(',') !== t.dims.join(',')) throw new Error(`output ${name} changed shape between samples`);
      const data = t.type === 'bool' ? Uint8Array.from(t.data, (v) => (v ? 1 : 0)) : t.data;
      fs.writeSync(f.fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
  }
  const outputs = {};
  for (const [name, f] of Object.entries(files)) {
    fs.writeSync(f.fd, npyHeader(f.descr, [n, ...f.dims]), 0, undefined, 0);
    fs.closeSync(f.fd);
    fs.renameSync(f.tmp, f.final);
    outputs[name] = f.final;
  }
  process.stdout.write(JSON.stringify({ samples: n, outputs }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`ort_batch: error: ${e.message}\n`);
  process.exit(1);
});
