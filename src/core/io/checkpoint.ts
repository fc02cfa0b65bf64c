// A model's safetensors checkpoint: one `model.safetensors`, or shards named by
// `model.safetensors.index.json` (what transformers writes past `max_shard_size`). Both are read
// through one face, tensor by tensor, so callers never care which they got.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SemBridgeError } from '../errors';
import { readJsonFile } from '../fsUtil';
import type { Matrix } from '../types';
import { SafetensorsReader, type SafetensorsHeader, type TensorInfo } from './safetensors';

const SINGLE_CHECKPOINT = 'model.safetensors';
export const SHARDED_CHECKPOINT_INDEX = 'model.safetensors.index.json';

/** What readers of model weights need; `SafetensorsReader` and `ShardedSafetensorsReader` have it. */
export interface TensorReader {
  /** the file to name in errors: the safetensors file, or the shard index */
  readonly path: string;
  /** every tensor in checkpoint order (for shards: shard by shard), and the file's metadata */
  readonly header: Pick<SafetensorsHeader, 'tensors' | 'metadata'>;
  has(name: string): boolean;
  info(name: string): TensorInfo;
  readBytes(name: string): Promise<Uint8Array>;
  readFloat32(name: string): Promise<Float32Array>;
  readMatrix(name: string, expect?: { rows?: number; cols?: number }): Promise<Matrix>;
  close(): Promise<void>;
}

/** The checkpoint of a model folder: its `model.safetensors` or its shard index; undefined when it has neither. */
export function findCheckpoint(modelDir: string): string | undefined {
  return [SINGLE_CHECKPOINT, SHARDED_CHECKPOINT_INDEX].map((f) => join(modelDir, f)).find((p) => existsSync(p));
}

/** Opens a safetensors file, or every shard of a `*.safetensors.index.json`. */
export async function openCheckpoint(path: string): Promise<TensorReader> {
  return path.endsWith('.json') ? ShardedSafetensorsReader.open(path) : SafetensorsReader.open(path);
}

/** Shards named by an index file, read as one checkpoint; a tensor is read from the shard that holds it. */
export class ShardedSafetensorsReader implements TensorReader {
  private constructor(
    readonly path: string,
    readonly header: Pick<SafetensorsHeader, 'tensors' | 'metadata'>,
    private readonly shardOf: Map<string, SafetensorsReader>,
    private readonly shards: SafetensorsReader[],
  ) {}

  static async open(indexPath: string): Promise<ShardedSafetensorsReader> {
    const index = await readJsonFile<{ weight_map?: unknown }>(indexPath);
    const map = index?.weight_map;
    if (!map || typeof map !== 'object' || Array.isArray(map) || Object.keys(map).length === 0)
      throw new SemBridgeError('has no "weight_map" object naming each tensor\'s shard', indexPath);
    const weightMap = map as Record<string, unknown>;
    const shardNames: string[] = [];
    for (const [tensor, shard] of Object.entries(weightMap)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || !shard.endsWith('.safetensors'))
        throw new SemBridgeError(`weight_map names "${String(shard)}" for tensor "${tensor}"; expected a .safetensors file beside the index`, indexPath);
      if (!shardNames.includes(shard)) shardNames.push(shard);
    }
    shardNames.sort();
    const shards: SafetensorsReader[] = [];
    try {
      for (const name of shardNames) {
        const file = join(dirname(indexPath), name);
        if (!existsSync(file)) throw new SemBridgeError(`names the shard "${name}", which is missing`, indexPath);
        shards.push(await SafetensorsReader.open(file));
      }
      const byFile = new Map(shardNames.map((n, i) => [n, shards[i]]));
      const tensors = new Map<string, TensorInfo>();
      const shardOf = new Map<string, SafetensorsReader>();
      for (const shard of shards)
        for (const [name, info] of shard.header.tensors) {
          const owner = byFile.get(weightMap[name] as string);
          if (owner === undefined) throw new SemBridgeError(`holds tensor "${name}", which the index's weight_map does not name`, shard.path);
          if (owner !== shard) continue; // a copy in another shard: the index decides
          tensors.set(name, info);
          shardOf.set(name, shard);
        }
      for (const [tensor, shard] of Object.entries(weightMap))
        if (!shardOf.has(tensor)) throw new SemBridgeError(`says tensor "${tensor}" is in "${String(shard)}", but that shard does not hold it`, indexPath);
      return new ShardedSafetensorsReader(indexPath, { tensors, metadata: shards[0].header.metadata }, shardOf, shards);
    } catch (err) {
      await Promise.all(shards.map((s) => s.close()));
      throw err;
    }
  }

  has(name: string): boolean {
    return this.shardOf.has(name);
  }

  info(name: string): TensorInfo {
    return this.owner(name).info(name);
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.owner(name).readBytes(name);
  }

  readFloat32(name: string): Promise<Float32Array> {
    return this.owner(name).readFloat32(name);
  }

  readMatrix(name: string, expect?: { rows?: number; cols?: number }): Promise<Matrix> {
    return this.owner(name).readMatrix(name, expect);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }

  private owner(name: string): SafetensorsReader {
    const shard = this.shardOf.get(name);
    if (!shard) throw new SemBridgeError(`no tensor '${name}' in any shard`, this.path);
    return shard;
  }
}
