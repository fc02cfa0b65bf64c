// float16 conversion and TensorProto data reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../../src/core/onnx';
import { float16BitsToFloat32, float32ToFloat16Bits, float32ToRawData, setTensorData, tensorToFloat32 } from '../../src/core/onnx/tensors';

test('float32 → float16 bits: exact values, rounding to nearest even, subnormals, overflow', () => {
  assert.equal(float32ToFloat16Bits(1), 0x3c00);
  assert.equal(float32ToFloat16Bits(-2), 0xc000);
  assert.equal(float32ToFloat16Bits(65504), 0x7bff);
  assert.equal(float32ToFloat16Bits(65520), 0x7c00); // rounds up to inf
  assert.equal(float32ToFloat16Bits(1e6), 0x7c00);
  assert.equal(float32ToFloat16Bits(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(float32ToFloat16Bits(2 ** -26), 0x0000); // below half of it
  assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00); // tie → even (down)
  assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(float32ToFloat16Bits(Infinity), 0x7c00);
  assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
  assert.equal(float32ToFloat16Bits(-0), 0x8000);
});

test('every float16 value survives float16 → float32 → float16', () => {
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaNs
    assert.equal(float32ToFloat16Bits(float16BitsToFloat32(h)), h, `bits ${h.toString(16)}`);
  }
});

test('tensorToFloat32 reads raw float16, int32_data float16 and float32; wrong sizes are named', () => {
  const values = Float32Array.from([0.5, -1.25, 3, 1024]);
  const raw16 = float32ToRawData(values, DataType.FLOAT16);
  assert.deepEqual(tensorToFloat32({ name: 'a', dims: [2, 2], dataType: DataType.FLOAT16, rawData: raw16 }), values);
  const bits = Array.from(new Uint16Array(raw16.buffer));
  assert.deepEqual(tensorToFloat32({ name: 'b', dims: [4], dataType: DataType.FLOAT16, int32Data: bits }), values);
  assert.deepEqual(tensorToFloat32({ name: 'c', dims: [4], dataType: DataType.FLOAT, floatData: [...values] }), values);
  // unaligned raw bytes (as protobuf views often are)
  const buf = new Uint8Array(17);
  buf.set(new Uint8Array(values.buffer), 1);
  assert.deepEqual(tensorToFloat32({ name: 'd', dims: [4], dataType: DataType.FLOAT, rawData: buf.subarray(1) }), values);
  assert.throws(() => tensorToFloat32({ name: 'e', dims: [5], dataType: DataType.FLOAT, rawData: buf.subarray(1) }, 'm.onnx'), /m\.onnx: tensor "e" has 16 bytes .* truncated/);
  assert.throws(() => tensorToFloat32({ name: 'f', dims: [4], dataType: DataType.INT8, rawData: new Uint8Array(4) }), /int8, not a floating-point tensor/);
});

test('setTensorData keeps the data type', () => {
  const t = { name: 'w', dims: [1], dataType: DataType.FLOAT16, rawData: new Uint8Array(2) };
  setTensorData(t, [3], Float32Array.from([1, 2, 3]));
  assert.deepEqual(t.dims, [3]);
  assert.equal(t.dataType, DataType.FLOAT16);
  assert.equal(t.rawData.byteLength, 6);
  assert.deepEqual(tensorToFloat32(t), Float32Array.from([1, 2, 3]));
});
