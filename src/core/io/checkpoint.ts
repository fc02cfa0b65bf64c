// A model's checkpoint: one `model.safetensors`, or shards named by `model.safetensors.index.json`
// (what transformers writes past `max_shard_size`); else the same two as `torch.save` pickles,
// `pytorch_model.bin` and `pytorch_model.bin.index.json` (what older checkpoints such as SPLADE v3 and
// bge-m3 ship). All are read through one face, tensor by tensor, so callers never care which they got.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SemBridgeError } from '../errors';
import { readJsonFile } from '../fsUtil';
import type { Matrix } from '../types';
import { SafetensorsReader, type SafetensorsHeader, type TensorInfo } from './safetensors';
import { TorchBinReader } from './torchCheckpoint';

const SINGLE_CHECKPOINT = 'model.safetensors';
export const SHARDED_CHECKPOINT_INDEX = 'model.safetensors.index.json';
const SINGLE_TORCH_CHECKPOINT = 'pytorch_model.bin';
export const SHARDED_TORCH_CHECKPOINT_INDEX = 'pytorch_model.bin.index.json';
/** in order of preference: safetensors first (no pickle to check), single file before shards */
export const CHECKPOINT_FILES = [SINGLE_CHECKPOINT, SHARDED_CHECKPOINT_INDEX, SINGLE_TORCH_CHECKPOINT, SHARDED_TORCH_CHECKPOINT_INDEX];

/** What readers of model weights need; the safetensors, torch and sharded readers have it. */
export interface TensorReader {
  /** the file to name in errors: the safetensors file, or the shard index */
  readonly path: string;
  /** every tensor in checkpoint order (for shards: shard by shard), and the file's metadata */
  readonly header: Pick<SafetensorsHeader, 'tensors' | 'metadata'>;
  /** keys a torch checkpoint stores as views identical to another key's (tied weights): alias → kept key */
  readonly aliases?: Map<string, string>;
  has(name: string): boolean;
  info(name: string): TensorInfo;
  readBytes(name: string): Promise<Uint8Array>;
  /** `scratch`: a buffer the reader may read an F32 tensor into (the result is then a view of it) */
  readFloat32(name: string, scratch?: Float32Array): Promise<Float32Array>;
  readMatrix(name: string, expect?: { rows?: number; cols?: number }): Promise<Matrix>;
  close(): Promise<void>;
}

/** The checkpoint of a model folder (the first of CHECKPOINT_FILES it has); undefined when it has none. */
export function findCheckpoint(modelDir: string): string | undefined {
  return CHECKPOINT_FILES.map((f) => join(modelDir, f)).find((p) => existsSync(p));
}

/** True for a shard index (`*.index.json`) rather than a weights file. */
export function isShardIndex(path: string): boolean {
  return path.endsWith('.index.json');
}

/** Opens a safetensors file, a `torch.save` .bin, or every shard of a `*.safetensors.index.json` / `*.bin.index.json`. */
export async function openCheckpoint(path: string): Promise<TensorReader> {
  if (isShardIndex(path)) return ShardedSafetensorsReader.open(path);
  return path.endsWith('.bin') ? TorchBinReader.open(path) : SafetensorsReader.open(path);
}

/**
 * Shards named by an index file, read as one checkpoint; a tensor is read from the shard that holds it.
 * The shards are safetensors files, or `.bin` pickles for a `pytorch_model.bin.index.json`.
 */
export class ShardedSafetensorsReader implements TensorReader {
  private constructor(
    readonly path: string,
    readonly header: Pick<SafetensorsHeader, 'tensors' | 'metadata'>,
    private readonly shardOf: Map<string, TensorReader>,
    private readonly shards: TensorReader[],
  ) {}

  static async open(indexPath: string): Promise<ShardedSafetensorsReader> {
    const index = await readJsonFile<{ weight_map?: unknown }>(indexPath);
    const map = index?.weight_map;
    if (!map || typeof map !== 'object' || Array.isArray(map) || Object.keys(map).length === 0)
      throw new SemBridgeError('has no "weight_map" object naming each tensor\'s shard', indexPath);
    const weightMap = map as Record<string, unknown>;
    const ext = indexPath.endsWith('.bin.index.json') ? '.bin' : '.safetensors';
    const shardNames: string[] = [];
    for (const [tensor, shard] of Object.entries(weightMap)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || !shard.endsWith(ext))
        throw new SemBridgeError(`weight_map names "${String(shard)}" for tensor "${tensor}"; expected a ${ext} file beside the index`, indexPath);
      if (!shardNames.includes(shard)) shardNames.push(shard);
    }
    shardNames.sort();
    const shards: TensorReader[] = [];
    try {
      for (const name of shardNames) {
        const file = join(dirname(indexPath), name);
        if (!existsSync(file)) throw new SemBridgeError(`names the shard "${name}", which is missing`, indexPath);
        shards.push(ext === '.bin' ? await TorchBinReader.open(file) : await SafetensorsReader.open(file));
      }
      const byFile = new Map(shardNames.map((n, i) => [n, shards[i]]));
      const tensors = new Map<string, TensorInfo>();
      const shardOf = new Map<string, TensorReader>();
      for (const shard of shards)
        for (const [name, info] of shard.header.tensors) {
          const owner = byFile.get(weightMap[name] as string);
          if (owner === undefined) throw new SemBridgeError(`holds tensor "${name}", which the index's weight_map does not name`, shard.path);
          if (owner !== shard) continue; // a copy in another shard: the index decides
          tensors.set(name, info);
          shardOf.set(name, shard);
        }
      for (const [tensor, shard] of Object.entries(weightMap))
        if (!shardOf.has(tensor) && !byFile.get(shard as string)?.aliases?.has(tensor)) throw new SemBridgeError(`says tensor "${tensor}" is in "${String(shard)}", but that shard does not hold it`, indexPath);
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

  readFloat32(name: string, scratch?: Float32Array): Promise<Float32Array> {
    return this.owner(name).readFloat32(name, scratch);
  }

  readMatrix(name: string, expect?: { rows?: number; cols?: number }): Promise<Matrix> {
    return this.owner(name).readMatrix(name, expect);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }

  private owner(name: string): TensorReader {
    const shard = this.shardOf.get(name);
    if (!shard) throw new SemBridgeError(`no tensor '${name}' in any shard`, this.path);
    return shard;
  }
}
