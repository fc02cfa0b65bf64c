// @vscode/test-cli configuration, for machines that can download VS Code (the CI machine cannot:
// there the end-to-end suite runs in code-server instead, see docs/e2e.md). Not a dependency of the
// project; run with:  npx --yes @vscode/test-cli   (after `npm run build`)
import { defineConfig } from '@vscode/test-cli';

export default defineConfig({
  label: 'extension-host',
  files: 'test/e2e/vscode-test/**/*.test.js',
  version: '1.100.3', // the VS Code the code-server suite runs (code-server 4.100.3)
  workspaceFolder: 'test/fixtures/corpus/ko-files',
  launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
  env: { ORT_DISABLE_TELEMETRY: '1' },
  mocha: { ui: 'tdd', timeout: 60_000 },
});
