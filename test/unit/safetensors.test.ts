import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeSafetensors,
  readSafetensorsHeader,
  SafetensorsReader,
  withSafetensors,
  writeSafetensors,
} from '../../src/core/io/safetensors';
import { SemBridgeError } from '../../src/core/errors';

const fixture = join(__dirname, '..', 'fixtures', 'safetensors', 'python-mixed.safetensors');
const tmp = () => mkdtempSync(join(tmpdir(), 'sb-st-'));

/** Builds a file from a header object and a data section, for malformed-input tests. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

async function rejectsNaming(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  const path = join(tmp(), 'bad.safetensors');
  writeFileSync(path, bytes);
  await assert.rejects(SafetensorsReader.open(path), (err: unknown) => {
    assert.ok(err instanceof SemBridgeError, String(err));
    assert.ok(err.message.includes(path), `message names the file: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('reads every dtype of a file written by the Python safetensors library', async () => {
  await withSafetensors(fixture, async (r) => {
    assert.deepEqual(r.header.metadata, { format: 'pt', note: 'fixture' });
    assert.deepEqual(r.info('f32').shape, [2, 3]);
    const expected = [0, 1, -2.5, 65504, 3.140625, -0.0009765625];
    assert.deepEqual([...(await r.readFloat32('f32'))], expected);
    assert.deepEqual([...(await r.readFloat32('f16'))], expected); // all exactly representable in f16
    // bf16 keeps 8 mantissa bits: 65504 rounds to 65536
    assert.deepEqual([...(await r.readFloat32('bf16'))], [0, 1, -2.5, 65536, 3.140625, -0.0009765625]);
    assert.deepEqual([...(await r.readInt32('i32'))], [1, -2, 2147483647]);
    assert.deepEqual([...(await r.readInt32('i64'))], [5, -6, 7, 2147483647]);
    assert.deepEqual([...(await r.readInt64('i64'))], [5n, -6n, 7n, 2147483647n]);
    assert.equal((await r.readFloat32('empty')).length, 0);
    const m = await r.readMatrix('f16', { cols: 3 });
    assert.equal(m.rows, 2);
    await assert.rejects(r.readMatrix('f16', { cols: 4 }), /'f16' has 3 columns, expected 4/);
    await assert.rejects(r.readMatrix('i32'), /must be 2-D/);
    await assert.rejects(r.readFloat32('i32'), /dtype I32; a floating-point tensor/);
    await assert.rejects(r.readFloat32('nope'), /no tensor 'nope'/);
  });
});

test('write then read round-trips, with metadata and an 8-byte aligned data section', async () => {
  const dir = join(tmp(), 'new-folder');
  const path = join(dir, 'out.safetensors');
  const emb = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1);
  const support = Int32Array.from([3, 1, 4]);
  await writeSafetensors(path, {
    target_embeddings: { dtype: 'F32', shape: [3, 4], data: emb },
    support_size: { dtype: 'I32', shape: [3], data: support },
  }, { method: 'sembridge' });
  assert.deepEqual(readdirSync(dir), ['out.safetensors'], 'no temporary file left');
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + headerLength) % 8, 0);
  const header = await readSafetensorsHeader(path);
  assert.deepEqual(header.metadata, { method: 'sembridge' });
  assert.deepEqual([...header.tensors.keys()], ['target_embeddings', 'support_size']);
  await withSafetensors(path, async (r) => {
    assert.deepEqual(await r.readFloat32('target_embeddings'), emb);
    assert.deepEqual(await r.readInt32('support_size'), support);
  });
});

test('a subarray view is written with its own bytes, not its whole buffer', async () => {
  const big = Float32Array.from([9, 9, 1, 2, 9]);
  const bytes = encodeSafetensors({ x: { dtype: 'F32', shape: [2], data: big.subarray(2, 4) } });
  const path = join(tmp(), 'v.safetensors');
  writeFileSync(path, bytes);
  await withSafetensors(path, async (r) => assert.deepEqual([...(await r.readFloat32('x'))], [1, 2]));
});

test('encode refuses a shape that does not match the data, or a dtype that does not match the array', () => {
  assert.throws(() => encodeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }), /tensor 'x'.*shape \[2, 2\]/);
  assert.throws(() => encodeSafetensors({ x: { dtype: 'I32', shape: [3], data: new Float32Array(3) } }), /tensor 'x'.*dtype I32/);
});

test('malformed files are rejected with a message that names the file', async () => {
  await rejectsNaming(new Uint8Array(5), /shorter than the 8-byte header length/);
  await rejectsNaming(rawFile({}, new Uint8Array(0), 1000n), /header length 1000 is beyond the file size/);
  await rejectsNaming(rawFile('{"x": '), /header is not valid JSON/);
  await rejectsNaming(rawFile('[1,2]'), /not a JSON object/);
  await rejectsNaming(rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)),
    /tensor 'x'.*beyond the end of the file/);
  await rejectsNaming(rawFile({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
    /tensor 'x'.*span 8 bytes but dtype F32 with shape \[3\] needs 12/);
  await rejectsNaming(rawFile({ x: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
    /tensor 'x'.*unsupported dtype "Q4"/);
  await rejectsNaming(rawFile({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /bad shape/);
  await rejectsNaming(rawFile({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), /bad data_offsets/);
  await rejectsNaming(rawFile({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
  }, new Uint8Array(12)), /'a' and 'b' overlap/);
  await rejectsNaming(rawFile({ __metadata__: { n: 1 } }), /__metadata__ must be an object of strings/);
});

test('every byte-sized dtype is accepted in the header; unsupported conversions name the tensor', async () => {
  const data = new Uint8Array(16);
  new Uint16Array(data.buffer, 0, 2).set([65535, 7]);
  new Uint32Array(data.buffer, 4, 1).set([4000000000]);
  const path = join(tmp(), 'dtypes.safetensors');
  writeFileSync(path, rawFile({
    u16: { dtype: 'U16', shape: [2], data_offsets: [0, 4] },
    u32: { dtype: 'U32', shape: [1], data_offsets: [4, 8] },
    f8: { dtype: 'F8_E4M3', shape: [8], data_offsets: [8, 16] },
  }, data));
  await withSafetensors(path, async (r) => {
    assert.deepEqual([...(await r.readInt32('u16'))], [65535, 7]);
    await assert.rejects(r.readInt32('u32'), /'u32': value 4000000000 at index 0 does not fit in int32/);
    await assert.rejects(r.readFloat32('f8'), /'f8' has dtype F8_E4M3; a floating-point tensor/);
    await assert.rejects(r.readInt32('f8'), /'f8' has dtype F8_E4M3; an integer tensor is needed/);
  });
});

test('a file that cannot be opened is named in the error', async () => {
  const path = join(tmp(), 'missing.safetensors');
  await assert.rejects(SafetensorsReader.open(path), new RegExp(`${path}: file not found`));
});

test('a truncated file (data cut off) is reported when the header is read', async () => {
  const good = encodeSafetensors({ x: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
  await rejectsNaming(good.subarray(0, good.length - 3), /tensor 'x'.*beyond the end of the file/);
});

test('readFloat32 with a scratch buffer reads an F32 tensor into its head; too small a scratch is left alone', async () => {
  const path = join(tmp(), 's.safetensors');
  const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
  await writeSafetensors(path, { a: { dtype: 'F32', shape: [2, 3], data: a }, b: { dtype: 'F32', shape: [2], data: Float32Array.from([7, 8]) } });
  await withSafetensors(path, async (r) => {
    const scratch = new Float32Array(8).fill(-1);
    const got = await r.readFloat32('a', scratch);
    assert.equal(got.buffer, scratch.buffer, 'read into the scratch buffer');
    assert.deepEqual([...got], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...scratch.subarray(6)], [-1, -1], 'the rest of the scratch is untouched');
    const again = await r.readFloat32('b', scratch);
    assert.deepEqual([...again], [7, 8]);
    const small = new Float32Array(2);
    const fresh = await r.readFloat32('a', small);
    assert.notEqual(fresh.buffer, small.buffer, 'a scratch smaller than the tensor is not used');
    assert.deepEqual([...fresh], [1, 2, 3, 4, 5, 6]);
  });
});
