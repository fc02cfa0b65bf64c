import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeOnnxModel, loadOnnxModel } from '../../src/core/onnx/modelIO';
import { DataType } from '../../src/core/onnx/onnxProto';
import { runCli, STACK_LINE } from '../helpers/captureCli';

const SRC = join(__dirname, '..', 'fixtures', 'models', 'bert-mlm-en');

test('a model with +Inf in its MLM output bias is refused by encode and index', async (t) => {
  if (!existsSync(join(SRC, 'onnx', 'model.onnx'))) return t.skip('fixtures not generated yet');
  const dir = mkdtempSync(join(tmpdir(), 'sb-inf-'));
  try {
    const model = join(dir, 'model');
    cpSync(SRC, model, { recursive: true });
    rmSync(join(model, 'onnx', 'model_dynamo.onnx'), { force: true });
    const graph = loadOnnxModel(join(model, 'onnx', 'model.onnx'));
    const vocab = Math.max(...graph.proto.graph!.initializer!.filter((x) => x.dims?.length === 1).map((x) => Number(x.dims![0])));
    const bias = graph.proto.graph!.initializer!.find((x) => x.dims?.length === 1 && Number(x.dims[0]) === vocab && x.dataType === DataType.FLOAT)!;
    assert.ok(bias, 'the fixture has a vocabulary-sized bias');
    const f = new Float32Array(new Uint8Array(bias.rawData!).buffer);
    f[5] = Infinity;
    bias.rawData = new Uint8Array(f.buffer);
    writeFileSync(join(model, 'onnx', 'model.onnx'), encodeOnnxModel(graph));
    const r = await runCli(['encode', '--model', model, '--json', 'hello world']);
    assert.equal(r.code, 1, r.err + r.out);
    assert.match(r.err, /holds Infinity at index 5/);
    assert.doesNotMatch(r.err, STACK_LINE);
    const corpus = join(dir, 'c.jsonl');
    writeFileSync(corpus, '{"_id":"a","text":"hello"}\n');
    const i = await runCli(['index', '--model', model, '--corpus', corpus, '--out', join(dir, 'idx')]);
    assert.equal(i.code, 1);
    assert.match(i.err, /holds Infinity/);
    assert.equal(existsSync(join(dir, 'idx')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
