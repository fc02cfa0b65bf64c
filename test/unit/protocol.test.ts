import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STATE, parseWebviewMessage, restoreState } from '../../src/protocol/inspectorProtocol';

test('parseWebviewMessage accepts the declared requests and commands', () => {
  const r = parseWebviewMessage({ kind: 'request', id: 3, method: 'mapping/query', params: { query: 'a' } });
  assert.equal(typeof r, 'object');
  assert.equal((r as { method: string }).method, 'mapping/query');
  const c = parseWebviewMessage({ kind: 'command', method: 'webview/ready', params: { view: 'mapping' } });
  assert.equal((c as { kind: string }).kind, 'command');
});

test('parseWebviewMessage refuses unknown methods and malformed envelopes with a reason', () => {
  assert.match(parseWebviewMessage(null) as string, /not an object/);
  assert.match(parseWebviewMessage({ kind: 'request', id: 1.5, method: 'host/info', params: {} }) as string, /integer id/);
  assert.match(parseWebviewMessage({ kind: 'request', id: 1, method: 'fs/delete', params: {} }) as string, /unknown request method fs\/delete/);
  assert.match(parseWebviewMessage({ kind: 'request', id: 1, method: 'host/info', params: 'x' }) as string, /params must be an object/);
  assert.match(parseWebviewMessage({ kind: 'command', method: 'eval', params: {} }) as string, /unknown command eval/);
  assert.match(parseWebviewMessage({ kind: 'notification', method: 'view/show', params: {} }) as string, /unknown message kind/);
});

test('restoreState keeps valid fields and replaces invalid ones with defaults', () => {
  assert.deepEqual(restoreState(undefined), DEFAULT_STATE);
  const s = restoreState({
    view: 'retrieval',
    mapping: { query: '학교', mode: 'text', match: 'bridged', minSupport: 2.7, selectedId: 42, alpha: 2.5, alphaTokenId: 42, scrollTop: 440 },
    expansion: { text: 'q' },
    retrieval: { query: 'r' },
  });
  assert.equal(s.view, 'retrieval');
  assert.deepEqual(s.mapping, { query: '학교', mode: 'text', match: 'bridged', minSupport: 2, selectedId: 42, alpha: 2.5, alphaTokenId: 42, scrollTop: 440 });
  assert.equal(s.expansion.text, 'q');
  const bad = restoreState({ view: 'settings', mapping: { mode: 'regex', match: 'x', minSupport: -1, alpha: 0.5 } });
  assert.equal(bad.view, 'mapping');
  assert.equal(bad.mapping.mode, 'prefix');
  assert.equal(bad.mapping.match, 'all');
  assert.equal(bad.mapping.minSupport, 0);
  assert.equal(bad.mapping.alpha, undefined);
  // the default object itself is never handed out for mutation
  restoreState(undefined).mapping.query = 'changed';
  assert.equal(DEFAULT_STATE.mapping.query, '');
});
