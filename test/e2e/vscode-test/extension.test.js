// Runs inside a desktop VS Code extension host through @vscode/test-cli (.vscode-test.mjs); needs a
// VS Code download, so it is not part of `npm test` or `npm run test:e2e`. Checks that the packaged
// manifest and the running extension agree: it activates, and every contributed command exists.
const assert = require('node:assert/strict');
const vscode = require('vscode');

suite('SemBridge extension host', () => {
  const ext = vscode.extensions.getExtension('sembridge.sembridge');

  test('is installed and activates', async () => {
    assert.ok(ext, 'extension sembridge.sembridge is not loaded');
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  test('registers every command it contributes', async () => {
    const contributed = (ext.packageJSON.contributes?.commands ?? []).map((c) => c.command);
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });
});
