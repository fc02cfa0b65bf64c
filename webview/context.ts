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

/** An error line (role=alert) that a view keeps at its top. */
export function errorBox(id: string): { el: HTMLElement; show(err: unknown): void; clear(): void } {
  const el = h('div', { id, class: 'error', role: 'alert', hidden: true });
  return {
    el,
    show(err: unknown) {
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
