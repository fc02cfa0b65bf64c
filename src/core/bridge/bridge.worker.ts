// Worker thread that runs the bridge model, so the CLI's and the extension host's event loops stay
// free. Protocol: workerData = BridgeWorkerRequest; posts BridgeWorkerMessage values.
process.env.ORT_DISABLE_TELEMETRY = '1';
import { parentPort, workerData } from 'node:worker_threads';
import { BridgeModel } from './bridgeModel';
import type { BridgeWorkerMessage, BridgeWorkerRequest } from './bridgeProtocol';

async function run(req: BridgeWorkerRequest): Promise<void> {
  const post = (m: BridgeWorkerMessage, transfer?: ArrayBuffer[]): void => parentPort!.postMessage(m, transfer);
  const cancel = { cancelled: false };
  parentPort!.on('message', (m: { type?: string }) => {
    if (m?.type === 'cancel') cancel.cancelled = true;
  });
  try {
    const model = await BridgeModel.open(req.model);
    post({ type: 'ready', pooling: model.pooling, maxLength: model.maxLength });
    const m = await model.embedAll(req.strings, {
      template: req.template,
      batchSize: req.batchSize,
      signal: cancel,
      onBatch: (done, total) => post({ type: 'progress', done, total }),
    });
    await model.dispose();
    const buf = m.data.buffer as ArrayBuffer;
    post({ type: 'result', rows: m.rows, cols: m.cols, data: m.data }, [buf]);
  } catch (err) {
    const e = err as Error & { subject?: string };
    post({ type: 'error', name: e.name, message: e.message, subject: e.subject });
  } finally {
    parentPort!.removeAllListeners('message');
  }
}

void run(workerData as BridgeWorkerRequest);
