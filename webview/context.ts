// What every view gets from the app: the RPC endpoint, the persisted state, and a way to show an
// error where the user is looking.
import type { InspectorState, ViewName } from '../src/protocol/inspectorProtocol';
import type { Rpc } from './rpc';
import { h, replace } from './dom';

export interface ViewContext {
  rpc: Rpc;
  state: InspectorState;
  /** persist `state` (vscode.setState) */
  save(): void;
  /** switch to a view (and optionally a token in the mapping view) */
  go(view: ViewName, opts?: { tokenId?: number; text?: string }): void;
}

export interface View {
  readonly name: ViewName;
  readonly root: HTMLElement;
  /** called the first time the view is shown and whenever the host's model changes */
  refresh(): void;
  /** jump to a token / text from a notification or another view */
  show?(opts: { tokenId?: number; text?: string }): void;
}

/**
 * The message line a view keeps at its top: an error (red, role=alert), or, for an answer with
 * code 'empty' (no model yet, no comparison yet), a neutral empty state (role=status).
 */
export function errorBox(id: string): { el: HTMLElement; show(err: unknown): void; clear(): void } {
  const el = h('div', { id, class: 'error', role: 'alert', hidden: true });
  return {
    el,
    show(err: unknown) {
      const empty = (err as { code?: unknown })?.code === 'empty';
      el.className = empty ? 'empty-state' : 'error';
      el.setAttribute('role', empty ? 'status' : 'alert');
      el.setAttribute('data-kind', empty ? 'empty' : 'error');
      replace(el, err instanceof Error ? err.message : String(err));
      el.hidden = false;
    },
    clear() {
      replace(el);
      el.hidden = true;
    },
  };
}

/** Marks a view as loaded (the e2e tests wait for `[data-loaded="true"]`). */
export function markLoaded(root: HTMLElement): void {
  root.setAttribute('data-loaded', 'true');
}
