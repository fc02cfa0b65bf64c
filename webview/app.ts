// The inspector app: tabs for the four views, state kept through the webview's setState, and the
// protocol endpoint. Independent of the custom elements' definitions so tests can build it.
import { restoreState, VIEW_NAMES, type HostInfo, type HostToWebview, type InspectorState, type ViewName, type WebviewToHost } from '../src/protocol/inspectorProtocol';
import { h, replace } from './dom';
import { Rpc } from './rpc';
import type { View, ViewContext } from './context';
import { MappingView } from './views/mappingView';
import { ExpansionView } from './views/expansionView';
import { RetrievalView } from './views/retrievalView';
import { EvaluationView } from './views/evaluationView';
import { ReportView } from './views/reportView';

export interface WebviewApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

const NO_MODEL = 'No active model yet. Run "SemBridge: Transfer Encoder to Target Language…" (or the demo transfer), or pick one with "SemBridge: Switch Model…".';

const DEMO = 'Demo model: made from tiny, untrained fixture models. Its weights, hits and scores show how SemBridge works, not how well a transfer does.';

const TAB_TITLES: Record<ViewName, string> = { mapping: 'Mapping', expansion: 'Expansion', retrieval: 'Retrieval', evaluation: 'Evaluation', report: 'Report' };

export class InspectorApp {
  readonly rpc: Rpc;
  readonly state: InspectorState;
  readonly views: Record<ViewName, View>;
  private readonly shown = new Set<ViewName>();
  private readonly tabs: HTMLElement;
  private readonly banner = h('div', { id: 'host-banner', class: 'banner', hidden: true });

  constructor(
    private readonly root: HTMLElement,
    private readonly api: WebviewApi,
    timeoutMs?: number,
  ) {
    this.rpc = new Rpc((m: WebviewToHost) => api.postMessage(m), timeoutMs);
    this.state = restoreState(api.getState());
    const ctx: ViewContext = {
      rpc: this.rpc,
      state: this.state,
      save: () => api.setState(this.state),
      go: (view, opts) => this.go(view, opts),
    };
    const expansion = new ExpansionView(ctx);
    this.views = { mapping: new MappingView(ctx), expansion, retrieval: new RetrievalView(ctx), evaluation: new EvaluationView(ctx), report: new ReportView(ctx) };
    this.tabs = h('vscode-tabs', { id: 'tabs', panel: true });
    // vscode-tabs gives its headers and panels ids of its own, so the stable ids sit on their content
    for (const name of VIEW_NAMES) {
      this.tabs.appendChild(h('vscode-tab-header', { slot: 'header', 'data-view': name }, h('span', { id: `tab-${name}` }, TAB_TITLES[name])));
      this.tabs.appendChild(h('vscode-tab-panel', { 'data-view': name }, this.views[name].root));
    }
    this.tabs.addEventListener('vsc-tabs-select', (e) => {
      const i = (e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex;
      this.activate(VIEW_NAMES[i]);
    });
    this.rpc.on('view/show', (p) => this.go(p.view, p));
    this.rpc.on('host/changed', (info) => {
      this.showHostBanner(info);
      for (const v of this.shown) this.views[v].refresh();
    });
    this.rpc.on('selection/preview', (r) => {
      this.go('expansion');
      expansion.display(r);
    });
    replace(root, this.banner, this.tabs);
  }

  /** A model that failed to load is a warning; no model yet is a neutral empty state. */
  private showBanner(text: string | undefined, kind: 'warning' | 'empty' = 'warning'): void {
    replace(this.banner, text ?? '');
    this.banner.className = kind === 'empty' ? 'banner empty-state' : 'banner';
    this.banner.setAttribute('data-kind', kind);
    this.banner.hidden = !text;
  }

  private showHostBanner(info: HostInfo): void {
    if (info.activeModel && info.demo) this.showBanner(DEMO, 'empty');
    else if (info.activeModel) this.showBanner(undefined);
    else if (info.activeModelProblem) this.showBanner(info.activeModelProblem, 'warning');
    else this.showBanner(NO_MODEL, 'empty');
  }

  receive(msg: HostToWebview): void {
    this.rpc.receive(msg);
  }

  /** First paint: restores the saved view, asks the host for its state, tells it we are ready. */
  start(): void {
    this.activate(this.state.view);
    void this.rpc.request('host/info', {}).then(
      (info) => this.showHostBanner(info),
      (err) => this.showBanner((err as Error).message),
    );
    this.root.setAttribute('data-state', 'ready');
    this.rpc.command('webview/ready', { view: this.state.view });
  }

  go(view: ViewName, opts: { tokenId?: number; text?: string } = {}): void {
    this.activate(view);
    if (opts.tokenId !== undefined || opts.text !== undefined) this.views[view].show?.(opts);
  }

  private activate(view: ViewName): void {
    (this.tabs as HTMLElement & { selectedIndex?: number }).selectedIndex = VIEW_NAMES.indexOf(view);
    this.root.setAttribute('data-view', view);
    this.state.view = view;
    this.api.setState(this.state);
    if (!this.shown.has(view)) {
      this.shown.add(view);
      this.views[view].refresh();
    }
  }
}
