// Worker thread that runs the bridge model, so the CLI's and the extension host's event loops stay
// free. Protocol: workerData = BridgeWorkerRequest; posts BridgeWorkerMessage values.
process.env.ORT_DISABLE_TELEMETRY = '1';
import { parentPort, workerData } from 'node:worker_threads';
import { CancelledError } from '../errors';
import { BridgeModel } from './bridgeModel';
import type { BridgeWorkerMessage, BridgeWorkerRequest } from './bridgeProtocol';

async function run(req: BridgeWorkerRequest): Promise<void> {
  const post = (m: BridgeWorkerMessage, transfer?: ArrayBuffer[]): void => parentPort!.postMessage(m, transfer);
  const cancel = { cancelled: false };
  parentPort!.on('message', (m: { type?: string }) => {
    if (m?.type === 'cancel') cancel.cancelled = true;
  });
  let model: BridgeModel | undefined;
  try {
    model = await BridgeModel.open(req.model);
    if (cancel.cancelled) throw new CancelledError();
    post({ type: 'ready', pooling: model.pooling, maxLength: model.maxLength });
    const m = await model.embedAll(req.strings, {
      template: req.template,
      batchSize: req.batchSize,
      signal: cancel,
      onBatch: (done, total) => post({ type: 'progress', done, total }),
    });
    const buf = m.data.buffer as ArrayBuffer;
    post({ type: 'result', rows: m.rows, cols: m.cols, data: m.data }, [buf]);
  } catch (err) {
    const e = err as Error & { subject?: string };
    post({ type: 'error', name: e.name, message: e.message, subject: e.subject });
  } finally {
    // release the session and stop listening, so the thread ends by itself: terminating a worker
    // while onnxruntime runs native code can abort the whole process
    await model?.dispose().catch(() => undefined);
    parentPort!.removeAllListeners('message');
    // onnxruntime's handles keep the thread's event loop alive; end it here, with no native call in flight
    setImmediate(() => process.exit(0));
  }
}

void run(workerData as BridgeWorkerRequest);
