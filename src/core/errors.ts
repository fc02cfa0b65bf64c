/**
 * The one error type the core throws for bad input. It always names what was wrong and where
 * (a file, a tensor, an option), so the CLI and the extension can show it as is.
 */
export class SemBridgeError extends Error {
  constructor(
    message: string,
    /** the file, folder, tensor or option the error is about */
    readonly subject?: string,
  ) {
    super(subject ? `${subject}: ${message}` : message);
    this.name = 'SemBridgeError';
  }
}

export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal?: { cancelled: boolean }): void {
  if (signal?.cancelled) throw new CancelledError();
}
