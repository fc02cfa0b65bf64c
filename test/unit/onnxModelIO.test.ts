// Loading/saving ONNX with protobufjs + the vendored onnx.proto: byte-identical round trips of both
// exporters' files, external data, and clear errors for truncated or foreign files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SemBridgeError } from '../../src/core/errors';
import { encodeOnnxModel, loadOnnxModel, readTensorAsFloat32, saveOnnxModel } from '../../src/core/onnx';

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
