// What the CLI prints for an error that is not a SemBridgeError: a system error on a path becomes
// "file not found: PATH" and the like; anything else is a bug, shown in one line (the stack trace only
// with SEMBRIDGE_DEBUG=1), with exit code 70 so that scripts and the fuzz suite can tell it apart.
const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: 'file not found',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder, expected a file',
  ENOTDIR: 'not a folder',
  ENOSPC: 'no space left on the device',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
};

export const INTERNAL_ERROR_EXIT = 70;

export function describeUnexpected(err: unknown): { message: string; code: number } {
  const e = err as { code?: unknown; path?: unknown; dest?: unknown; message?: unknown; stack?: unknown };
  const debug = process.env.SEMBRIDGE_DEBUG === '1';
  if (typeof e?.code === 'string' && SYSTEM_ERRORS[e.code]) {
    const path = typeof e.path === 'string' ? `: ${e.path}` : '';
    return { message: `${SYSTEM_ERRORS[e.code]}${path}${debug ? `\n${String(e.stack)}` : ''}`, code: 1 };
  }
  const text = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
  return {
    message: debug && err instanceof Error ? `unexpected error: ${err.stack}` : `unexpected error (a bug; SEMBRIDGE_DEBUG=1 shows where): ${text}`,
    code: INTERNAL_ERROR_EXIT,
  };
}
