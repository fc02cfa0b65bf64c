// Messages between the bridge runner (main thread) and bridge.worker.ts. Plain JSON-able values
// plus one transferred Float32Array.
import type { BridgeModelOptions } from './bridgeModel';
import type { DensePooling } from '../model/hfFolder';

export interface BridgeWorkerRequest {
  model: BridgeModelOptions;
  strings: string[];
  template?: string;
  batchSize?: number;
}

export type BridgeWorkerMessage =
  | { type: 'ready'; pooling: DensePooling; maxLength: number }
  | { type: 'progress'; done: number; total: number }
  | { type: 'result'; rows: number; cols: number; data: Float32Array }
  | { type: 'error'; name: string; message: string; subject?: string };
