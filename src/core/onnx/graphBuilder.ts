// A small helper for writing ONNX graphs node by node (used by the config → ONNX builder).
import { AttributeType, DataType, type AttributeProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnxProto';
import { makeFloatTensor, makeInt64Tensor } from './tensors';

export type AttrValue = number | number[] | { float: number };

export function makeAttribute(name: string, value: AttrValue): AttributeProto {
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'object') return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INT, i: value };
}

export function tensorValueInfo(name: string, elemType: number, dims: Array<number | string>): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();
  private counter = 0;

  private fresh(base: string): string {
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node; returns its output name(s). `scope` prefixes the node and output names. */
  op(opType: string, inputs: string[], scope: string, attrs: Record<string, AttrValue> = {}): string {
    const name = this.fresh(`${scope}/${opType}`);
    const output = `${name}_output_0`;
    this.nodes.push({
      name,
      opType,
      input: inputs,
      output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
    });
    return output;
  }

  /** Adds a float32 initializer whose data is used as is (no copy). */
  weight(name: string, dims: number[], values: Float32Array): string {
    const unique = this.fresh(name);
    this.initializers.push(makeFloatTensor(unique, dims, values, DataType.FLOAT));
    return unique;
  }

  /** A float32 constant (scalar when dims is []), shared between uses. */
  float(values: number[], dims: number[] = []): string {
    const key = `f:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(`const_f32_${this.constants.size}`);
      this.initializers.push(makeFloatTensor(name, dims, Float32Array.from(values)));
      this.constants.set(key, name);
    }
    return name;
  }

  /** An int64 constant (scalar when dims is []), shared between uses. */
  int64(values: number[], dims: number[] = [values.length]): string {
    const key = `i:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(`const_i64_${this.constants.size}`);
      this.initializers.push(makeInt64Tensor(name, dims, values));
      this.constants.set(key, name);
    }
    return name;
  }
}
