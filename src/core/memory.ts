// Returning released arrays to the system between the stages of a large job. A stage that drops
// its references to a big typed array (hundreds of MB at a 262k vocabulary) frees nothing until
// V8 collects it, and V8 sees little reason to while its own heap is small: the next stage would
// then allocate on top of memory that is already garbage. A full collection at the boundary
// returns those buffers (allocations this large are mapped and unmapped one by one).
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null | undefined;

/**
 * A full garbage collection where the runtime allows one (else nothing), then a short wait: V8
 * frees the buffers of dead ArrayBuffers off the main thread, after the collection returns.
 */
export async function collectGarbage(): Promise<void> {
  if (!collectGarbageNow()) return;
  await new Promise((resolve) => setTimeout(resolve, 10));
}

/**
 * A full garbage collection now, where the runtime allows one; returns whether it ran. For
 * synchronous loops that drop large arrays as they go (the index merge).
 */
export function collectGarbageNow(): boolean {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) collect = exposed;
    else {
      try {
        // the documented way to reach gc() without the command-line flag: set it, then read it
        // from a fresh context (the flag is left as it was for this context)
        setFlagsFromString('--expose-gc');
        collect = runInNewContext('gc') as () => void;
      } catch {
        collect = null;
      }
    }
  }
  if (!collect) return false;
  collect();
  return true;
}

/**
 * Peak resident set of this process since it started, MiB (worker threads share it). On Linux this
 * is VmHWM of /proc/self/status: `process.resourceUsage().maxRSS` (getrusage) also counts what the
 * process was before exec, i.e. the parent's resident pages at fork — a child spawned by an 800 MiB
 * process reports ≥ 800 MiB before it has allocated anything. Elsewhere, getrusage's value.
 */
export function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS / 1024;
}
