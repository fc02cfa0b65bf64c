// Seeded mutations of the inputs the CLI reads, for test/integration/fuzz.test.ts. Every mutation
// returns the new content and a short label, so a failing case can be named and replayed by seed.

export class FuzzRng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

export interface Mutated<T> {
  value: T;
  label: string;
}

/** Values that break parsers: wrong types, out-of-range and non-finite numbers, huge strings. */
const NASTY_VALUES: readonly [string, unknown][] = [
  ['null', null],
  ['true', true],
  ['-1', -1],
  ['0', 0],
  ['1.5', 1.5],
  ['2^31', 2 ** 31],
  ['2^53+', 2 ** 53 + 2],
  ['1e308', 1e308],
  ['"NaN"', 'NaN'],
  ['""', ''],
  ['"x"', 'x'],
  ['[]', []],
  ['{}', {}],
  ['[[1]]', [[1]]],
  ['long string', 'ab'.repeat(5000)],
];

type JsonPath = (string | number)[];

function paths(value: unknown, prefix: JsonPath = [], out: JsonPath[] = [], depth = 0): JsonPath[] {
  if (depth > 6 || out.length > 4000) return out;
  if (Array.isArray(value)) {
    // long arrays (vocabularies, merges): a few positions are enough
    const n = value.length;
    const idx = n <= 8 ? [...Array(n).keys()] : [0, 1, Math.floor(n / 2), n - 1];
    for (const i of idx) {
      out.push([...prefix, i]);
      paths(value[i], [...prefix, i], out, depth + 1);
    }
  } else if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    const pickKeys = keys.length <= 40 ? keys : [...keys.slice(0, 20), ...keys.slice(-5), keys[Math.floor(keys.length / 2)]];
    for (const k of pickKeys) {
      out.push([...prefix, k]);
      paths((value as Record<string, unknown>)[k], [...prefix, k], out, depth + 1);
    }
  }
  return out;
}

function getParent(root: unknown, path: JsonPath): Record<string | number, unknown> {
  let cur = root as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  return cur;
}

/** One structural change somewhere in a JSON value: delete, replace with a nasty value, duplicate. */
export function mutateJson(rng: FuzzRng, value: unknown, focus?: (path: JsonPath) => boolean): Mutated<unknown> {
  const root = structuredClone(value);
  if (root === null || typeof root !== 'object' || rng.int(20) === 0) {
    const [name, v] = rng.pick(NASTY_VALUES);
    return { value: v, label: `root=${name}` };
  }
  let all = paths(root);
  if (focus) {
    const focused = all.filter(focus);
    if (focused.length && rng.int(4) !== 0) all = focused;
  }
  if (all.length === 0) return { value: null, label: 'root=null' };
  const path = rng.pick(all);
  const parent = getParent(root, path);
  const key = path[path.length - 1];
  const where = path.join('.');
  const op = rng.int(4);
  if (op === 0) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    return { value: root, label: `delete ${where}` };
  }
  if (op === 1 && typeof parent[key] === 'number') {
    const v = rng.pick([-(parent[key] as number), (parent[key] as number) + 1, (parent[key] as number) * 1000, 0, -1, 2 ** 32, 1e300]);
    parent[key] = v;
    return { value: root, label: `${where}=${v}` };
  }
  if (op === 2 && Array.isArray(parent[key]) && (parent[key] as unknown[]).length > 0) {
    const arr = parent[key] as unknown[];
    arr.push(arr[rng.int(arr.length)]);
    return { value: root, label: `dup-item ${where}` };
  }
  const [name, v] = rng.pick(NASTY_VALUES);
  parent[key] = v;
  return { value: root, label: `${where}=${name}` };
}

/** Generic byte damage: truncation, flipped bytes, inserted/deleted ranges, zeroed ranges. */
export function mutateBytes(rng: FuzzRng, input: Uint8Array): Mutated<Uint8Array> {
  const bytes = new Uint8Array(input); // a copy that owns its buffer (Buffer.slice would share)
  const n = bytes.length;
  const at = n ? rng.int(n) : 0;
  switch (rng.int(6)) {
    case 0:
      return { value: bytes.slice(0, at), label: `truncate@${at}` };
    case 1: {
      const out = bytes.slice();
      const k = 1 + rng.int(8);
      for (let i = 0; i < k && n; i++) out[rng.int(n)] ^= 1 << rng.int(8);
      return { value: out, label: `flip${k}` };
    }
    case 2: {
      const ins = Uint8Array.from({ length: 1 + rng.int(64) }, () => rng.int(256));
      return { value: concat(bytes.subarray(0, at), ins, bytes.subarray(at)), label: `insert${ins.length}@${at}` };
    }
    case 3: {
      const len = 1 + rng.int(Math.max(1, Math.min(256, n - at)));
      return { value: concat(bytes.subarray(0, at), bytes.subarray(at + len)), label: `delete${len}@${at}` };
    }
    case 4: {
      const out = bytes.slice();
      out.fill(0, at, Math.min(n, at + 1 + rng.int(512)));
      return { value: out, label: `zero@${at}` };
    }
    default:
      return { value: new Uint8Array(0), label: 'empty' };
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Line damage for text formats (JSONL, TSV, TREC, vocab.txt): edits of whole lines and fields. */
export function mutateLines(rng: FuzzRng, text: Uint8Array): Mutated<Uint8Array> {
  const lines = Buffer.from(text).toString('utf8').split('\n');
  const i = rng.int(Math.max(1, lines.length - 1));
  const enc = (ls: string[]) => new Uint8Array(Buffer.from(ls.join('\n'), 'utf8'));
  switch (rng.int(11)) {
    case 0:
      lines.splice(i, 1);
      return { value: enc(lines), label: `drop-line ${i + 1}` };
    case 1:
      lines.splice(i, 0, lines[i]);
      return { value: enc(lines), label: `dup-line ${i + 1}` };
    case 2:
      lines.splice(i, 0, rng.pick(['garbage', '{', '[]', '"x"', '\t\t', 'a b c d e f g', '{"_id": null, "text": 1}', '{"text": "no id"}', '0 0 0 0']));
      return { value: enc(lines), label: `insert-junk ${i + 1}` };
    case 3: {
      const b = Buffer.from(lines[i] ?? '', 'utf8');
      const cut = rng.int(b.length + 1);
      lines[i] = b.subarray(0, cut).toString('utf8');
      return { value: enc(lines), label: `cut-line ${i + 1}@${cut}` };
    }
    case 4: {
      // invalid UTF-8 bytes in the middle of a line
      const before = Buffer.from(lines.slice(0, i).join('\n') + (i ? '\n' : ''), 'utf8');
      const line = Buffer.from(lines[i] ?? '', 'utf8');
      const at = rng.int(line.length + 1);
      const after = Buffer.from((i < lines.length - 1 ? '\n' : '') + lines.slice(i + 1).join('\n'), 'utf8');
      const bad = Buffer.from(rng.pick([[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]));
      return { value: new Uint8Array(Buffer.concat([before, line.subarray(0, at), bad, line.subarray(at), after])), label: `bad-utf8 line ${i + 1}` };
    }
    case 5: {
      const cols = (lines[i] ?? '').split(/(\s+)/);
      const j = rng.int(cols.length);
      cols[j] = rng.pick(['', 'NaN', '-1', '1e400', 'Infinity', '12345678901234567891', '1.50', '\u0000', 'x'.repeat(3000)]);
      lines[i] = cols.join('');
      return { value: enc(lines), label: `field line ${i + 1}` };
    }
    case 6:
      return { value: enc(lines.map((l) => l + '\r')), label: 'crlf' };
    case 7:
      return { value: new Uint8Array(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])), label: 'bom' };
    case 8: {
      // a JSON line: mutate its object structurally
      try {
        const m = mutateJson(rng, JSON.parse(lines[i]));
        lines[i] = JSON.stringify(m.value);
        return { value: enc(lines), label: `json line ${i + 1}: ${m.label}` };
      } catch {
        lines[i] = lines[i] + ' extra';
        return { value: enc(lines), label: `append line ${i + 1}` };
      }
    }
    case 9:
      return { value: enc(['']), label: 'empty' };
    default:
      return { value: mutateBytes(rng, text).value, label: 'bytes' };
  }
}

/** safetensors damage aimed at its parts: header length, header JSON (dtype/shape/offsets), NaN/Inf data, truncation. */
export function mutateSafetensors(rng: FuzzRng, input: Uint8Array): Mutated<Uint8Array> {
  const bytes = new Uint8Array(input); // a copy that owns its buffer, so DataViews address it
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const data = bytes.subarray(8 + headerLen);
  const rebuild = (h: unknown, d: Uint8Array = data) => {
    const hb = Buffer.from(JSON.stringify(h), 'utf8');
    const pad = (8 - (hb.length % 8)) % 8;
    const hp = Buffer.concat([hb, Buffer.alloc(pad, 0x20)]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hp.length));
    return new Uint8Array(Buffer.concat([len, hp, Buffer.from(d)]));
  };
  const tensors = Object.keys(header).filter((k) => k !== '__metadata__');
  switch (rng.int(8)) {
    case 0: {
      const out = bytes.slice();
      const v = rng.pick([0n, 1n, BigInt(headerLen + 1), BigInt(bytes.length), 2n ** 40n, 2n ** 63n]);
      new DataView(out.buffer).setBigUint64(0, v, true);
      return { value: out, label: `header-length=${v}` };
    }
    case 1: {
      const t = rng.pick(tensors);
      header[t].dtype = rng.pick(['F16', 'BF16', 'F64', 'I32', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'Q4', '']);
      return { value: rebuild(header), label: `${t}.dtype=${header[t].dtype}` };
    }
    case 2: {
      const t = rng.pick(tensors);
      const s = header[t].shape;
      const op = rng.int(5);
      header[t].shape = op === 0 ? [...s].reverse() : op === 1 ? [...s, 1] : op === 2 ? s.slice(1) : op === 3 ? s.map((x) => x + 1) : [2 ** 31, 2 ** 31];
      return { value: rebuild(header), label: `${t}.shape=[${header[t].shape}]` };
    }
    case 3: {
      const t = rng.pick(tensors);
      const [a, b] = header[t].data_offsets;
      const op = rng.int(4);
      header[t].data_offsets = op === 0 ? [b, a] : op === 1 ? [a, b + 4] : op === 2 ? [a + 4, b + 4] : [0, data.length + 8];
      return { value: rebuild(header), label: `${t}.data_offsets=[${header[t].data_offsets}]` };
    }
    case 4: {
      // NaN / ±Inf in the data of a float tensor
      const floats = tensors.filter((t) => header[t].dtype === 'F32');
      if (floats.length === 0) break;
      const t = rng.pick(floats);
      const [a, b] = header[t].data_offsets;
      const d = new Uint8Array(data);
      const at = a + 4 * rng.int(Math.max(1, (b - a) / 4));
      const v = rng.pick([NaN, Infinity, -Infinity, 3.4e38, -3.4e38]);
      new DataView(d.buffer).setFloat32(at, v, true);
      return { value: rebuild(header, d), label: `${t}[${(at - a) / 4}]=${v}` };
    }
    case 5: {
      const m = mutateJson(rng, header);
      return { value: rebuild(m.value), label: `header: ${m.label}` };
    }
    case 6: {
      const cut = 8 + headerLen + rng.int(data.length);
      return { value: bytes.slice(0, cut), label: `truncate-data@${cut}` };
    }
  }
  const cut = rng.int(8 + headerLen);
  return { value: bytes.slice(0, cut), label: `truncate-header@${cut}` };
}
