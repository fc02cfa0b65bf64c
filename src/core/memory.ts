// Returning released arrays to the system between the stages of a large job. A stage that drops
// its references to a big typed array (hundreds of MB at a 262k vocabulary) frees nothing until
// V8 collects it, and V8 sees little reason to while its own heap is small: the next stage would
// then allocate on top of memory that is already garbage. A full collection at the boundary
// returns those buffers (allocations this large are mapped and unmapped one by one).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null | undefined;

/**
 * A full garbage collection where the runtime allows one (else nothing), then a short wait: V8
 * frees the buffers of dead ArrayBuffers off the main thread, after the collection returns.
 */
export async function collectGarbage(): Promise<void> {
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
  if (!collect) return;
  collect();
  await new Promise((resolve) => setTimeout(resolve, 10));
}
