// Finds the Python used as a benchmark comparison (SEMBRIDGE_PYTHON, else /work/pyenv); benches
// must run without it and then say the comparison was skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function findPython(modules: string[]): { python?: string; reason?: string } {
  const candidates = [process.env.SEMBRIDGE_PYTHON, '/work/pyenv/bin/python'].filter((p): p is string => !!p);
  const python = candidates.find((p) => existsSync(p));
  if (!python) return { reason: 'no Python found (set SEMBRIDGE_PYTHON)' };
  const r = spawnSync(python, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
  if (r.status !== 0) return { reason: `${python} lacks ${modules.join(', ')}: ${(r.stderr || '').trim().split('\n').pop()}` };
  return { python };
}

/** Runs a comparison script and parses the last stdout line as JSON. */
export function runPythonJson<T>(python: string, args: string[]): T {
  const r = spawnSync(python, args, {
    encoding: 'utf8',
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', TOKENIZERS_PARALLELISM: 'false' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`python ${args[0]} failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}
