// Loading/saving ONNX with protobufjs + the vendored onnx.proto: byte-identical round trips of both
// exporters' files, external data, and clear errors for truncated or foreign files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SemBridgeError } from '../../src/core/errors';
import { encodeOnnxModel, loadOnnxModel, readTensorAsFloat32, saveOnnxModel } from '../../src/core/onnx';
import { encodeModel, encodeModelChunks, type ModelProto } from '../../src/core/onnx/onnxProto';

const MODELS = join(__dirname, '..', 'fixtures', 'models');
const LEGACY = join(MODELS, 'bert-mlm-en', 'onnx', 'model.onnx');
const DYNAMO = join(MODELS, 'bert-mlm-en', 'onnx', 'model_dynamo.onnx');
const tmp = () => mkdtempSync(join(tmpdir(), 'sb-onnx-io-'));

for (const file of [LEGACY, DYNAMO]) {
  test(`decode + encode is byte-identical (no field dropped): ${file.split('/').pop()}`, () => {
    const model = loadOnnxModel(file);
    assert.ok(Buffer.from(encodeOnnxModel(model)).equals(readFileSync(file)));
  });
}

for (const file of [LEGACY, DYNAMO]) {
  test(`saved piecewise, the file is byte-identical to the exporter's: ${file.split('/').pop()}`, async () => {
    const model = loadOnnxModel(file);
    const dir = tmp();
    try {
      const chunks = encodeModelChunks(model.proto);
      // the word embeddings are streamed as a view of the tensor itself, not re-encoded
      const big = model.proto.graph!.initializer!.reduce((a, t) => ((t.rawData?.byteLength ?? 0) > (a.rawData?.byteLength ?? 0) ? t : a));
      assert.ok(big.rawData!.byteLength >= 64 * 1024, 'the fixture has a tensor large enough to be streamed');
      assert.ok(chunks.some((c) => c.buffer === big.rawData!.buffer && c.byteOffset === big.rawData!.byteOffset), 'largest tensor streamed without a copy');
      const [written] = await saveOnnxModel(model, join(dir, 'model.onnx'));
      assert.ok(readFileSync(written).equals(readFileSync(file)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the piecewise encoding equals protobufjs on models with large, empty and boundary-sized tensors', () => {
  const raw = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
  const model: ModelProto = {
    irVersion: 8,
    producerName: 'test',
    opsetImport: [{ domain: '', version: 17 }],
    metadataProps: [{ key: 'k', value: 'v' }],
    graph: {
      name: 'g',
      node: [{ input: ['x', 'w'], output: ['y'], opType: 'MatMul', name: 'mm' }],
      initializer: [
        { name: 'w', dims: [300, 256], dataType: 1, rawData: raw(300 * 256 * 4, 1), docString: 'after raw_data' },
        { name: 'edge', dims: [16384], dataType: 1, rawData: raw(65536, 2) },
        { name: 'below', dims: [16383], dataType: 1, rawData: raw(65532, 3) },
        { name: 'empty', dims: [0], dataType: 1, rawData: new Uint8Array(0) },
        { name: 'ints', dims: [3], dataType: 7, int64Data: [1, -2, 3] },
        { name: 'ext', dims: [2], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'x.bin' }] },
      ],
      input: [{ name: 'x' }],
      output: [{ name: 'y' }],
      docString: 'graph doc',
    },
  };
  const whole = Buffer.from(encodeModel(model));
  assert.ok(Buffer.concat(encodeModelChunks(model)).equals(whole));
  assert.ok(Buffer.concat(encodeModelChunks({ irVersion: 8 })).equals(Buffer.from(encodeModel({ irVersion: 8 }))));
  assert.ok(Buffer.concat(encodeModelChunks({ ...model, graph: { ...model.graph, initializer: [] } })).equals(Buffer.from(encodeModel({ ...model, graph: { ...model.graph, initializer: [] } }))));
});

test('the dynamo export keeps its IR 10 node metadata_props', () => {
  const model = loadOnnxModel(DYNAMO);
  assert.equal(model.proto.irVersion, 10);
  const withMeta = (model.proto.graph?.node ?? []).filter((n) => Array.isArray(n.metadataProps) && n.metadataProps.length > 0);
  assert.ok(withMeta.length > 100, `only ${withMeta.length} nodes carry metadata_props`);
});

test('external data: saved, reloaded relative to the model folder, same values', async () => {
  const dir = tmp();
  const model = loadOnnxModel(LEGACY);
  const files = await saveOnnxModel(model, join(dir, 'm.onnx'), { externalData: true });
  assert.deepEqual(files, [join(dir, 'm.onnx'), join(dir, 'm.onnx_data')]);
  const back = loadOnnxModel(join(dir, 'm.onnx'));
  const name = 'bert.embeddings.word_embeddings.weight';
  assert.deepEqual(readTensorAsFloat32(back, name), readTensorAsFloat32(model, name));
  // the in-memory model was not changed by saving
  assert.ok(Buffer.from(encodeOnnxModel(model)).equals(readFileSync(LEGACY)));
  const t = back.proto.graph!.initializer!.find((i) => i.name === name)!;
  assert.equal(t.dataLocation, undefined);
  assert.equal(t.rawData?.byteLength, 1000 * 64 * 4);
});

test('a missing or truncated external data file is named in the error', async () => {
  const dir = tmp();
  await saveOnnxModel(loadOnnxModel(LEGACY), join(dir, 'm.onnx'), { externalData: true });
  truncateSync(join(dir, 'm.onnx_data'), 1000);
  assert.throws(() => loadOnnxModel(join(dir, 'm.onnx')), /m\.onnx_data: tensor ".*" needs bytes .* the file has 1000/);
  rmSync(join(dir, 'm.onnx_data'));
  assert.throws(() => loadOnnxModel(join(dir, 'm.onnx')), /m\.onnx_data: external data file of tensor .* is missing/);
});

test('a truncated ONNX file gives an error naming the file', () => {
  const dir = tmp();
  const bytes = readFileSync(LEGACY);
  for (const cut of [100, 300_000, bytes.length - 10]) {
    const path = join(dir, `cut${cut}.onnx`);
    writeFileSync(path, bytes.subarray(0, cut));
    assert.throws(() => loadOnnxModel(path), (err: unknown) => {
      assert.ok(err instanceof SemBridgeError, String(err));
      assert.equal(err.subject, path);
      assert.match(err.message, /truncated/);
      return true;
    });
  }
});

test('a missing file, a folder and a non-ONNX file are refused clearly', () => {
  const dir = tmp();
  assert.throws(() => loadOnnxModel(join(dir, 'nope.onnx')), /nope\.onnx: ONNX model file not found/);
  assert.throws(() => loadOnnxModel(dir), /is a folder/);
  const json = join(dir, 'config.onnx');
  writeFileSync(json, JSON.stringify({ model_type: 'bert' }));
  assert.throws(() => loadOnnxModel(json), /config\.onnx: .*(truncated|not an ONNX model)/);
});
