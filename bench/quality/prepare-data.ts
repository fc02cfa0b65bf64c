// CLI of the data stage: node --import tsx bench/quality/prepare-data.ts --data ../shared/data --out DIR
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SemBridgeError } from '../../src/core/errors';
import { loadSplit, prepareQualityData } from './data';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      out: { type: 'string' },
      split: { type: 'string', default: join(import.meta.dirname, 'splits.json') },
    },
  });
  if (!values.data) throw new SemBridgeError('is required', '--data');
  if (!values.out) throw new SemBridgeError('is required', '--out');
  const manifest = await prepareQualityData({ dataDir: values.data, outDir: values.out, split: await loadSplit(values.split!) });
  for (const [path, f] of Object.entries(manifest.files)) console.log(`${f.role}\t${String(f.records).padStart(6)}\t${path}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err instanceof SemBridgeError ? `error: ${err.message}` : `error: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
