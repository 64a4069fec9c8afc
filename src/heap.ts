/**
 * V8's full garbage collection for the code that must measure live memory rather than garbage (the
 * memory_limiter processor, the decode memory guard of the receivers).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | undefined | null = null;
/**
 * V8's full collection, obtained once without `--expose-gc` (the flag is set at run time, `gc` taken from a
 * fresh context, and the flag unset again); undefined where that is not possible.
 */
export function fullGc(): (() => void) | undefined {
  if (collect !== null) return collect;
  collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
      // back to the default: the function taken stays usable, and V8's flags stay those a start compiles the
      // bundle under, which its code cache is checked against (deploy/bundle-main.mjs)
      v8.setFlagsFromString('--no-expose-gc');
    } catch {
      collect = undefined;
    }
  }
  return collect;
}
