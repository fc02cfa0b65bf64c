// Where the read-only shared material (real tokenizers and data) lives: SEMBRIDGE_SHARED if set,
// else the `shared/` folder beside the repository (how CI lays it out), else /work/shared.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export function sharedRoot(): string {
  if (process.env.SEMBRIDGE_SHARED) return process.env.SEMBRIDGE_SHARED;
  const beside = resolve(__dirname, '..', '..', '..', 'shared');
  return existsSync(beside) ? beside : '/work/shared';
}
