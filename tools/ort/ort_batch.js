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
const c = require('./common.js');

async function main() {
  const usage = 'usage: ort_batch.js MODEL.onnx --input NAME=STACK.npy ... --out DIR [--threads N]';
  const opts = { threads: 1, ...c.parseArgs(process.argv.slice(2), ['threads'], usage) };
  if (!opts.out) throw new Error(usage);
  const session = await c.createSession(opts.model, opts.threads);
  const stacks = {};
  let n = -1;
  for (const name of session.inputNames) {
    if (!(name in opts.inputs)) throw new Error(`no --input given for model input '${name}'`);
    const s = c.readNpy(opts.inputs[name]);
    if (s.shape.length < 1) throw new Error(`${opts.inputs[name]}: needs a leading sample axis`);
    if (n >= 0 && s.shape[0] !== n) throw new Error('inputs hold different sample counts');
    n = s.shape[0];
    stacks[name] = s;
  }
  fs.mkdirSync(opts.out, { recursive: true });
  const files = {};  // output name -> {fd, tmp, final, descr, dims}
  for (let i = 0; i < n; ++i) {
    const feeds = {};
    for (const [name, s] of Object.entries(stacks)) {
      const per = s.shape.slice(1).reduce((a, b) => a * b, 1);
      const nbytes = per * s.Arr.BYTES_PER_ELEMENT;
      feeds[name] = c.toTensor(s.type, s.Arr, s.bytes.subarray(i * nbytes, (i + 1) * nbytes), s.shape.slice(1));
    }
    const result = await session.run(feeds);
    for (const name of session.outputNames) {
      const t = result[name];
      const descr = c.descrOf(t.type, `output ${name}`);
      if (!files[name]) {
        const final = c.outputFile(opts.out, name);
        const tmp = `${final}.tmp${process.pid}`;
        const fd = fs.openSync(tmp, 'w');
        // The header is written last (its shape needs N); reserve room for it now.
        fs.writeSync(fd, Buffer.alloc(c.npyHeader(descr, [n, ...t.dims]).length));
        files[name] = { fd, tmp, final, descr, dims: [...t.dims] };
      }
      const f = files[name];
      if (f.dims.join(',') !== t.dims.join(',')) throw new Error(`output ${name} changed shape between samples`);
      fs.writeSync(f.fd, c.tensorBytes(t));
    }
  }
  const outputs = {};
  for (const [name, f] of Object.entries(files)) {
    fs.writeSync(f.fd, c.npyHeader(f.descr, [n, ...f.dims]), 0, undefined, 0);
    fs.closeSync(f.fd);
    fs.renameSync(f.tmp, f.final);
    outputs[name] = f.final;
  }
  process.stdout.write(JSON.stringify({ samples: n, outputs }) + '\n');
}

c.runMain('ort_batch', main);
