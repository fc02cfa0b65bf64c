// Finds the file to start a worker thread from, in both ways the code runs:
// - bundled (dist/cli.js, dist/extension.js): esbuild writes src/**/x.worker.ts to dist/workers/x.worker.js;
// - from sources under tsx (tests, benches): the worker is the .ts file next to the caller. Node 20
//   does not apply `--import tsx` hooks to a Worker's entry file, so the worker starts from a tiny
//   CommonJS bootstrap that registers tsx's require hook and then requires the .ts file.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { SemBridgeError } from '../errors';

export interface WorkerScript {
  /** the worker's entry file (.js when bundled, .ts under tsx) */
  path: string;
  /** set under tsx: the bootstrap source to start with `eval: true` */
  bootstrap?: string;
  /** set under tsx: tsx's CommonJS require hook, for a child process (`--require`) */
  tsxHook?: string;
}

/**
 * @param baseName worker file name without extension, e.g. 'bridge.worker'
 * @param callerDir the caller's `__dirname` (src/... under tsx, dist/ or dist/workers/ when bundled)
 */
export function resolveWorkerScript(baseName: string, callerDir: string): WorkerScript {
  const ts = join(callerDir, `${baseName}.ts`);
  if (existsSync(ts)) {
    // createRequire keeps esbuild from trying to bundle tsx (only needed when running from sources)
    const tsxHook = createRequire(__filename).resolve('tsx/cjs');
    return { path: ts, tsxHook, bootstrap: `require(${JSON.stringify(tsxHook)});\nrequire(${JSON.stringify(ts)});\n` };
  }
  for (const p of [
    join(callerDir, 'workers', `${baseName}.js`),
    join(callerDir, `${baseName}.js`),
    join(callerDir, '..', 'workers', `${baseName}.js`),
  ])
    if (existsSync(p)) return { path: p };
  throw new SemBridgeError(`worker script '${baseName}' not found (run 'npm run build' to create dist/workers/)`, callerDir);
}

/** Starts a worker from a resolved script (bootstrap under tsx, the bundled file otherwise). */
export function startWorker(script: WorkerScript, options: WorkerOptions = {}): Worker {
  if (script.bootstrap) return new Worker(script.bootstrap, { ...options, eval: true });
  return new Worker(script.path, options);
}
