// The single place that loads onnxruntime-node. ORT 1.30 writes a telemetry database under the
// user's cache unless ORT_DISABLE_TELEMETRY is set before the native module loads.
import type * as OrtModule from 'onnxruntime-node';

let cached: typeof OrtModule | undefined;

export function loadOrt(): typeof OrtModule {
  if (!cached) {
    process.env.ORT_DISABLE_TELEMETRY = '1';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require('onnxruntime-node') as typeof OrtModule;
  }
  return cached;
}
