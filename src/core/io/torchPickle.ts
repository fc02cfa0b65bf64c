// A restricted reader of the pickle inside a `torch.save` archive (`<archive>/data.pkl`). It never
// executes anything: the pickle opcodes are interpreted here, and the only globals it accepts are the
// few a plain state dict is made of (OrderedDict, the tensor rebuild functions, the storage types).
// Any other global (os.system, builtins.eval, a model class, ...) is refused at once with its name,
// before any tensor data is read. The result describes each tensor (storage record, dtype, offset,
// shape, strides); the data stays in the archive until a caller reads it.
import { SemBridgeError } from '../errors';

/** The storage types of the state dicts SemBridge reads, with their safetensors dtype and element size. */
export const TORCH_STORAGE_TYPES = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
} as const;
export type TorchStorageType = keyof typeof TORCH_STORAGE_TYPES;
export type TorchDtype = (typeof TORCH_STORAGE_TYPES)[TorchStorageType]['dtype'];

const ALLOWED_FUNCTIONS = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter']);

export interface TorchStorageRef {
  /** the record name under `<archive>/data/` */
  key: string;
  dtype: TorchDtype;
  elementBytes: number;
  /** elements in the storage */
  numel: number;
}

export interface TorchTensorRef {
  storage: TorchStorageRef;
  /** in elements */
  offset: number;
  shape: number[];
  /** in elements */
  stride: number[];
}

class Global {
  constructor(readonly qualified: string) {}
}
type Value = null | boolean | number | bigint | string | Uint8Array | Value[] | Map<Value, Value> | Global | TorchStorageRef | TorchTensorRef;

const isTensor = (v: unknown): v is TorchTensorRef => !!v && typeof v === 'object' && 'storage' in v && 'stride' in v;
const isStorage = (v: unknown): v is TorchStorageRef => !!v && typeof v === 'object' && 'key' in v && 'elementBytes' in v;

/**
 * Interprets the pickle bytes of a torch state dict. `file` names the archive in errors.
 * Returns the tensors by key, in the pickle's order.
 */
export function parseTorchStateDict(bytes: Uint8Array, file: string): Map<string, TorchTensorRef> {
  const top = unpickle(bytes, file);
  if (!(top instanceof Map)) throw new SemBridgeError(`is not a state dict: the pickle holds a ${describe(top)}, not a dict of tensors`, file);
  const out = new Map<string, TorchTensorRef>();
  for (const [k, v] of top) {
    if (typeof k !== 'string') throw new SemBridgeError(`is not a state dict: a key is a ${describe(k)}`, file);
    if (!isTensor(v)) throw new SemBridgeError(`is not a plain state dict: "${k}" is a ${describe(v)}, not a tensor`, file);
    out.set(k, v);
  }
  return out;
}

function describe(v: Value): string {
  if (v === null) return 'None';
  if (v instanceof Map) return 'dict';
  if (Array.isArray(v)) return 'tuple/list';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Global) return `global ${v.qualified}`;
  if (isTensor(v)) return 'tensor';
  if (isStorage(v)) return 'storage';
  return typeof v;
}

function unpickle(bytes: Uint8Array, file: string): Value {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: false });
  const latin1 = new TextDecoder('latin1');
  let pos = 0;
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Value>();
  const bad = (msg: string): never => {
    throw new SemBridgeError(`unreadable pickle at byte ${pos}: ${msg}`, file);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) bad('unexpected end of data');
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad('length too large');
    return Number(v);
  };
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) bad('unterminated line');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): Value => (stack.length ? (stack.pop() as Value) : bad('stack underflow'));
  const popMark = (): Value[] => {
    const m = marks.pop();
    if (m === undefined) bad('no MARK');
    return stack.splice(m as number);
  };
  const top = (): Value => (stack.length ? stack[stack.length - 1] : bad('empty stack'));
  const global = (module: string, name: string): Global => {
    const q = `${module}.${name}`;
    if (ALLOWED_FUNCTIONS.has(q) || (module === 'torch' && name in TORCH_STORAGE_TYPES)) return new Global(q);
    throw new SemBridgeError(
      `refused: the pickle asks for the global "${q}", which a plain state dict never needs (allowed: ${[...ALLOWED_FUNCTIONS].join(', ')}, torch.{${Object.keys(TORCH_STORAGE_TYPES).join(',')}}); nothing was executed`,
      file,
    );
  };
  const int = (v: Value, what: string): number => {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
    return bad(`${what} is not an integer`);
  };
  const ints = (v: Value, what: string): number[] => (Array.isArray(v) ? v.map((x) => int(x, what)) : bad(`${what} is not a tuple`));
  const call = (fn: Value, args: Value): Value => {
    if (!(fn instanceof Global)) return bad(`REDUCE on a ${describe(fn)}`);
    if (!Array.isArray(args)) return bad('REDUCE arguments are not a tuple');
    switch (fn.qualified) {
      case 'collections.OrderedDict':
        if (args.length !== 0) bad('OrderedDict called with arguments');
        return new Map();
      case 'torch._utils._rebuild_tensor_v2': {
        const [storage, offset, size, stride] = args;
        if (!isStorage(storage)) return bad('_rebuild_tensor_v2 without a storage');
        const shape = ints(size, 'tensor size');
        const strides = ints(stride, 'tensor stride');
        if (shape.length !== strides.length) bad('tensor size and stride differ in length');
        if (shape.some((d) => d < 0) || strides.some((s) => s < 0)) bad('negative size or stride');
        return { storage, offset: int(offset, 'storage offset'), shape, stride: strides } satisfies TorchTensorRef;
      }
      case 'torch._utils._rebuild_parameter': {
        if (!isTensor(args[0])) return bad('_rebuild_parameter without a tensor');
        return args[0];
      }
      default:
        return bad(`${fn.qualified} cannot be called`);
    }
  };
  const persistent = (pid: Value): TorchStorageRef => {
    // ('storage', storage_type, key, location, numel)
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') return bad('a persistent id that is not a storage record');
    const type = pid[1];
    const key = pid[2];
    if (!(type instanceof Global) || !type.qualified.startsWith('torch.')) return bad('storage without a storage type');
    const st = TORCH_STORAGE_TYPES[type.qualified.slice(6) as TorchStorageType];
    if (!st) return bad(`${type.qualified} is not a storage type`);
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) return bad('storage key is not a plain name');
    return { key, dtype: st.dtype, elementBytes: st.bytes, numel: int(pid[4], 'storage size') };
  };
  const setItems = (target: Value, items: Value[]) => {
    if (!(target instanceof Map)) bad('SETITEMS on a non-dict');
    if (items.length % 2) bad('odd number of dict items');
    for (let i = 0; i < items.length; i += 2) (target as Map<Value, Value>).set(items[i], items[i + 1]);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) bad('pickle protocol above 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) bad(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x29: // EMPTY_TUPLE
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text.decode(take(u64())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') bad('STACK_GLOBAL without strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) bad(`memo ${i} is not set`);
        stack.push(memo.get(i) as Value);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistent(pop()));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: only OrderedDict instances get state (their `_metadata`), which is not needed
        pop();
        if (!(top() instanceof Map)) bad(`BUILD on a ${describe(top())}`);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) bad('APPEND on a non-list');
        (list as Value[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) bad('APPENDS on a non-list');
        (list as Value[]).push(...items);
        break;
      }
      default:
        // INST, OBJ, NEWOBJ, PERSID (text), EXT*, ... : never written for a plain state dict
        bad(`opcode 0x${op.toString(16).padStart(2, '0')} is not accepted in a state dict`);
    }
  }
}
