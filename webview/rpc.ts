// Webview side of the protocol: requests get an id and a timer; a response settles them, a
// timeout rejects them with a message the view shows. Notifications go to registered handlers.
import {
  REQUEST_TIMEOUT_MS,
  type ErrorCode,
  type CommandMap,
  type CommandMethod,
  type HostToWebview,
  type NotificationMap,
  type NotificationMethod,
  type RequestMethod,
  type RequestParams,
  type RequestResult,
  type WebviewToHost,
} from '../src/protocol/inspectorProtocol';

export class RequestTimeoutError extends Error {}

/** A failed request; `code` says whether it is an empty state ('empty') or a user mistake ('user'). */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly code?: ErrorCode,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Rpc {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, ((params: unknown) => void)[]>();

  constructor(
    private readonly post: (msg: WebviewToHost) => void,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  request<M extends RequestMethod>(method: M, params: RequestParams<M>): Promise<RequestResult<M>> {
    const id = this.nextId++;
    return new Promise<RequestResult<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestTimeoutError(`${method}: no answer from the extension after ${Math.round(this.timeoutMs / 1000)} s`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.post({ kind: 'request', id, method, params } as WebviewToHost);
    });
  }

  command<M extends CommandMethod>(method: M, params: CommandMap[M]): void {
    this.post({ kind: 'command', method, params } as WebviewToHost);
  }

  on<M extends NotificationMethod>(method: M, handler: (params: NotificationMap[M]) => void): void {
    const list = this.handlers.get(method) ?? [];
    list.push(handler as (p: unknown) => void);
    this.handlers.set(method, list);
  }

  /** Feed every message from the host here (window 'message' events). */
  receive(msg: HostToWebview): void {
    if (!msg || typeof msg !== 'object') return;
    if (msg.kind === 'response') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new RequestError(msg.error, msg.code));
    } else if (msg.kind === 'notification') {
      for (const h of this.handlers.get(msg.method) ?? []) h(msg.params);
    }
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}
