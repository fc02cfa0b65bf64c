// pytorch_model.bin (torch.save zip-pickle) reading: values against PyTorch's (strides, offsets,
// fp16/bf16, ints), tied views, the restricted unpickler's refusals, and equality with the
// safetensors file of the same weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCheckpoint, openCheckpoint } from '../../src/core/io/checkpoint';
import { SafetensorsReader } from '../../src/core/io/safetensors';
import { TorchBinReader } from '../../src/core/io/torchCheckpoint';
import { SemBridgeError } from '../../src/core/errors';

const FIX = join(__dirname, '..', 'fixtures');
const BIN = join(FIX, 'torch-bin');
const MODELS = join(FIX, 'models');
const tmp = () => mkdtempSync(join(tmpdir(), 'sb-bin-'));

/** A zip archive of stored entries (CRC left 0: the reader does not check it), for malformed-input tests. */
function storedZip(entries: [string, Uint8Array][], method = 0, zip64 = false): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(zip64 ? 0xffffffff : data.length, 20);
    central.writeUInt32LE(zip64 ? 0xffffffff : data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    // zip64 extended information: size, compressed size, local header offset (as files past 4 GiB have)
    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(data.length), 4);
      extra.writeBigUInt64LE(BigInt(data.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
      central.writeUInt16LE(extra.length, 30);
    }
    locals.push(local, n, Buffer.from(data));
    centrals.push(central, n, extra);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  if (!zip64) return Buffer.concat([...locals, cd, eocd]);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeBigUInt64LE(BigInt(entries.length), 24);
  record.writeBigUInt64LE(BigInt(entries.length), 32);
  record.writeBigUInt64LE(BigInt(cd.length), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([...locals, cd, record, locator, eocd]);
}

async function refused(path: string, pattern: RegExp): Promise<SemBridgeError> {
  let caught: unknown;
  await assert.rejects(openCheckpoint(path), (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof SemBridgeError, String(caught));
  assert.ok(caught.message.startsWith(path), `the message names the file: ${caught.message}`);
  assert.match(caught.message, pattern);
  return caught;
}

interface Expected {
  dtype: string;
  shape: number[];
  stride: number[];
  storage_offset: number;
  values: number[];
}

test('every tensor of a torch.save file equals PyTorch: strided, offset, fp16, bf16, int64, int32, scalar, Parameter', async () => {
  const want = JSON.parse(readFileSync(join(BIN, 'views.json'), 'utf8')) as Record<string, Expected>;
  const r = await TorchBinReader.open(join(BIN, 'views.bin'));
  try {
    // the fixture really holds views: a transposed one, slices with a storage offset
    assert.deepEqual(want.transposed.stride, [1, 6]);
    assert.equal(want.row_slice.storage_offset, 6);
    assert.deepEqual([want.column_slice.storage_offset, ...want.column_slice.stride], [2, 6, 1]);
    for (const [name, w] of Object.entries(want)) {
      if (name === 'alias') continue;
      const info = r.info(name);
      assert.deepEqual(info.shape, w.shape, name);
      if (w.dtype.startsWith('int')) {
        const raw = await r.readBytes(name);
        const got = w.dtype === 'int64' ? [...new BigInt64Array(raw.buffer, 0, w.values.length)].map(Number) : [...new Int32Array(raw.buffer, 0, w.values.length)];
        assert.deepEqual(got, w.values, name);
        assert.equal(info.dtype, w.dtype === 'int64' ? 'I64' : 'I32');
        continue;
      }
      assert.equal(info.dtype, { float32: 'F32', float16: 'F16', bfloat16: 'BF16' }[w.dtype], name);
      const got = await r.readFloat32(name);
      assert.equal(got.length, w.values.length, name);
      // the JSON holds 7 significant digits
      for (let i = 0; i < got.length; i++)
        assert.ok(Math.abs(got[i] - w.values[i]) <= 1e-6 * Math.max(1, Math.abs(w.values[i])), `${name}[${i}]: ${got[i]} vs ${w.values[i]}`);
    }
    // "alias" views the same storage exactly as "plain": one tensor, the first key kept
    assert.equal(r.has('alias'), false);
    assert.equal(r.aliases.get('alias'), 'plain');
    assert.deepEqual([...r.header.tensors.keys()], Object.keys(want).filter((k) => k !== 'alias').sort());
    assert.deepEqual(r.header.metadata, { format: 'pt' });
  } finally {
    await r.close();
  }
});

test('a pickle holding os.system is refused, naming the file and the global, before any tensor data is read', async () => {
  // the fixture's storage records were removed: reading any tensor data first would fail differently
  const err = await refused(join(BIN, 'malicious.bin'), /refused: the pickle asks for the global "(posix|os)\.system"/);
  assert.match(err.message, /nothing was executed/);
  assert.doesNotMatch(err.message, /storage record/);
  // a hand-written pickle naming os.system (protocol 2 GLOBAL) and builtins.eval (protocol 4 STACK_GLOBAL)
  const dir = tmp();
  const osSystem = Buffer.from('\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.', 'latin1');
  writeFileSync(join(dir, 'os.bin'), storedZip([['archive/data.pkl', osSystem]]));
  await refused(join(dir, 'os.bin'), /global "os\.system"/);
  const evalPickle = Buffer.from('\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94.', 'latin1');
  writeFileSync(join(dir, 'eval.bin'), storedZip([['archive/data.pkl', evalPickle]]));
  await refused(join(dir, 'eval.bin'), /global "builtins\.eval"/);
  // a model class, as torch.save(model) writes
  const cls = Buffer.from('\x80\x02ctransformers.models.bert.modeling_bert\nBertForMaskedLM\nq\x00.', 'latin1');
  writeFileSync(join(dir, 'cls.bin'), storedZip([['archive/data.pkl', cls]]));
  await refused(join(dir, 'cls.bin'), /global "transformers\.models\.bert\.modeling_bert\.BertForMaskedLM"/);
});

test('opcodes a state dict never uses, non-tensor values and broken archives are refused clearly', async () => {
  const dir = tmp();
  const cases: [string, Buffer, RegExp][] = [
    // INST 'i' builds an object from a class named inline
    ['inst.bin', storedZip([['a/data.pkl', Buffer.from('\x80\x02(ios\nsystem\n.', 'latin1')]]), /opcode 0x69 is not accepted/],
    // {"epoch": 3}: not a plain state dict
    ['dict.bin', storedZip([['a/data.pkl', Buffer.from('\x80\x02}q\x00X\x05\x00\x00\x00epochq\x01K\x03s.', 'latin1')]]), /"epoch" is a number, not a tensor/],
    ['none.bin', storedZip([['a/data.pkl', Buffer.from('\x80\x02N.', 'latin1')]]), /holds a None, not a dict of tensors/],
    ['truncated.bin', storedZip([['a/data.pkl', Buffer.from('\x80\x02X\xff\x00\x00\x00ab', 'latin1')]]), /unexpected end of data/],
    ['nopkl.bin', storedZip([['a/other', Buffer.from('x')]]), /not a torch\.save checkpoint/],
    ['deflated.bin', storedZip([['a/data.pkl', Buffer.from('\x80\x02}.', 'latin1')]], 8), /compressed \(method 8\)/],
    ['text.bin', Buffer.from('this is not a checkpoint'), /neither a torch\.save zip archive nor a safetensors file/],
  ];
  for (const [name, bytes, pattern] of cases) {
    writeFileSync(join(dir, name), bytes);
    await refused(join(dir, name), pattern);
  }
  // a truncated real checkpoint: the central directory is gone
  const real = readFileSync(join(MODELS, 'bert-mlm-en-bin', 'pytorch_model.bin'));
  writeFileSync(join(dir, 'cut.bin'), real.subarray(0, real.length - 200));
  await refused(join(dir, 'cut.bin'), /truncated archive|no end-of-central-directory/);
});

test('the legacy (non-zip) torch format is refused with advice', async () => {
  await refused(join(BIN, 'legacy.bin'), /legacy \(torch < 1\.6, non-zip\) pickle.*re-save it.*model\.safetensors/);
});

test('pytorch_model.bin holds the same tensors, dtypes and bytes as the safetensors file transformers writes', async () => {
  for (const [bin, st] of [
    ['bert-mlm-en-bin', 'bert-mlm-en'],
    ['bert-mlm-en-bin-sharded', 'bert-mlm-en'],
    ['bridge-multilingual-bin', 'bridge-multilingual'],
  ]) {
    const path = findCheckpoint(join(MODELS, bin));
    assert.ok(path && /pytorch_model\.bin(\.index\.json)?$/.test(path), `${bin}: findCheckpoint finds the .bin (${path})`);
    const a = await openCheckpoint(path);
    const b = await SafetensorsReader.open(join(MODELS, st, 'model.safetensors'));
    try {
      assert.deepEqual([...a.header.tensors.keys()].sort(), [...b.header.tensors.keys()].sort(), `${bin}: same tensor names`);
      if (!bin.endsWith('sharded')) assert.deepEqual([...a.header.tensors.keys()], [...b.header.tensors.keys()], `${bin}: same order`);
      for (const name of b.header.tensors.keys()) {
        assert.equal(a.info(name).dtype, b.info(name).dtype, name);
        assert.deepEqual(a.info(name).shape, b.info(name).shape, name);
        assert.ok(Buffer.from(await a.readBytes(name)).equals(Buffer.from(await b.readBytes(name))), `${bin}: bytes of ${name}`);
      }
      assert.deepEqual(a.header.metadata, b.header.metadata);
    } finally {
      await a.close();
      await b.close();
    }
  }
  // the MLM's tied decoder weight and bias are views of the embeddings and the bias: not separate tensors
  const r = await TorchBinReader.open(join(MODELS, 'bert-mlm-en-bin', 'pytorch_model.bin'));
  assert.deepEqual(Object.fromEntries(r.aliases), {
    'cls.predictions.decoder.weight': 'bert.embeddings.word_embeddings.weight',
    'cls.predictions.decoder.bias': 'cls.predictions.bias',
  });
  await r.close();
});

/** Protocol-2 pickle pieces, as torch.save writes them, for hand-made state dicts. */
const pk = {
  str(s: string) {
    const head = Buffer.from([0x58, 0, 0, 0, 0]); // BINUNICODE, u32 length
    head.writeUInt32LE(Buffer.byteLength(s), 1);
    return Buffer.concat([head, Buffer.from(s)]);
  },
  int: (n: number) => Buffer.from([0x4b, n]),
  global: (m: string, n: string) => Buffer.from(`c${m}\n${n}\n`, 'latin1'),
  /** _rebuild_tensor_v2(storage(key, numel floats), offset, shape, stride, False, OrderedDict()) */
  tensor(key: string, numel: number, offset: number, shape: number[], stride: number[]) {
    const tuple = (xs: number[]) => Buffer.concat([Buffer.from('('), ...xs.map(pk.int), Buffer.from('t')]);
    return Buffer.concat([
      pk.global('torch._utils', '_rebuild_tensor_v2'),
      Buffer.from('(('), pk.str('storage'), pk.global('torch', 'FloatStorage'), pk.str(key), pk.str('cpu'), pk.int(numel), Buffer.from('tQ'),
      pk.int(offset), tuple(shape), tuple(stride), Buffer.from([0x89]), pk.global('collections', 'OrderedDict'), Buffer.from(')R'),
      Buffer.from('tR'),
    ]);
  },
  stateDict: (items: [string, Buffer][]) =>
    Buffer.concat([Buffer.from([0x80, 2]), pk.global('collections', 'OrderedDict'), Buffer.from(')R('), ...items.flatMap(([k, v]) => [pk.str(k), v]), Buffer.from('u.')]),
};

test('tied weights keep the embedding side whatever the key order; ZIP64 archives read the same; views past their storage are refused', async () => {
  const dir = tmp();
  const floats = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  // the decoder key first, as a model that registers its head before its embeddings would write it
  const tied = pk.stateDict([
    ['lm_head.decoder.weight', pk.tensor('0', 6, 0, [3, 2], [2, 1])],
    ['roberta.embeddings.word_embeddings.weight', pk.tensor('0', 6, 0, [3, 2], [2, 1])],
    ['lm_head.decoder.bias', pk.tensor('0', 6, 4, [2], [1])],
  ]);
  writeFileSync(join(dir, 'tied.bin'), storedZip([['m/data.pkl', tied], ['m/data/0', floats]]));
  const r = await TorchBinReader.open(join(dir, 'tied.bin'));
  assert.deepEqual([...r.header.tensors.keys()], ['lm_head.decoder.bias', 'roberta.embeddings.word_embeddings.weight']);
  assert.equal(r.aliases.get('lm_head.decoder.weight'), 'roberta.embeddings.word_embeddings.weight');
  assert.deepEqual([...(await r.readFloat32('lm_head.decoder.bias'))], [5, 6], 'storage offset 4');
  await assert.rejects(r.readBytes('lm_head.decoder.weight'), /no tensor 'lm_head\.decoder\.weight' \(it is tied to 'roberta\.embeddings\.word_embeddings\.weight'\)/);
  await r.close();

  // the same archive with ZIP64 records (what torch writes past 4 GiB) reads the same
  writeFileSync(join(dir, 'tied64.bin'), storedZip([['m/data.pkl', tied], ['m/data/0', floats]], 0, true));
  const r64 = await TorchBinReader.open(join(dir, 'tied64.bin'));
  assert.deepEqual([...(await r64.readFloat32('roberta.embeddings.word_embeddings.weight'))], [1, 2, 3, 4, 5, 6]);
  await r64.close();

  const past = pk.stateDict([['w', pk.tensor('0', 6, 2, [3, 2], [2, 1])]]);
  writeFileSync(join(dir, 'past.bin'), storedZip([['m/data.pkl', past], ['m/data/0', floats]]));
  await refused(join(dir, 'past.bin'), /tensor "w" \[3,2\] at offset 2 with strides \[2,1\] reaches past its storage of 6 elements/);
  writeFileSync(join(dir, 'short.bin'), storedZip([['m/data.pkl', past], ['m/data/0', floats.subarray(0, 8)]]));
  await refused(join(dir, 'short.bin'), /storage "0" holds 8 bytes, fewer than its 6 elements need/);
  writeFileSync(join(dir, 'norecord.bin'), storedZip([['m/data.pkl', past]]));
  await refused(join(dir, 'norecord.bin'), /storage record "m\/data\/0" is missing/);
});

test('findCheckpoint prefers safetensors (nothing to unpickle) and finds a .bin or its shard index otherwise', () => {
  const dir = tmp();
  assert.equal(findCheckpoint(dir), undefined);
  writeFileSync(join(dir, 'pytorch_model.bin.index.json'), '{}');
  assert.equal(findCheckpoint(dir), join(dir, 'pytorch_model.bin.index.json'));
  writeFileSync(join(dir, 'pytorch_model.bin'), '');
  assert.equal(findCheckpoint(dir), join(dir, 'pytorch_model.bin'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), '{}');
  assert.equal(findCheckpoint(dir), join(dir, 'model.safetensors.index.json'));
  writeFileSync(join(dir, 'model.safetensors'), '');
  assert.equal(findCheckpoint(dir), join(dir, 'model.safetensors'));
});
