/**
 * src/config/ajv.ts `forgetValidators` (issue 21, idle memory): once the daemon runs, the config's validators
 * (used once, at start) are no longer held: not cached, not in require's cache, and collectable, while the
 * per-request `events` validators stay. Seen through a WeakRef after a full garbage collection, not a timing.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { components } from '../app/components.ts';
import { compileSchema, forgetValidators, loadedPrecompiledValidators } from '../src/config/ajv.ts';
import { TopSchema } from '../src/config/load.ts';
import { EVENT_SCHEMAS } from '../receivers/http_json/event-schema.ts';

/** A full, synchronous garbage collection (the `gc` of --expose-gc, taken from a fresh context). */
function fullGc(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
}
const turn = () => new Promise((r) => setTimeout(r, 0));

describe('forgetValidators', () => {
  it("drops the config set's validators so that they are collected, keeps the events set's, and a later use compiles again", async () => {
    const factory = (await components.load('processor', 'cost'))!;
    // a WeakRef is only cleared after the job that made it: hold the validators in a function's scope only
    const refs = (() => {
      const top = compileSchema(TopSchema);
      const cost = compileSchema(factory.schema);
      expect(compileSchema(TopSchema), 'cached while not forgotten').toBe(top);
      return { top: new WeakRef(top), cost: new WeakRef(cost) };
    })();
    const events = compileSchema(EVENT_SCHEMAS.span as never, 'events');
    forgetValidators('config');
    expect(loadedPrecompiledValidators('config')).toEqual([]);
    // A full collection clears a WeakRef whose target nothing holds; a background compile job of V8 can hold
    // an object for a moment (seen once in CI under load), so a few collections a few ms apart are allowed.
    // Held for good (the cache of the code before forgetValidators) it stays set through all of them.
    for (let i = 0; i < 20 && (refs.top.deref() !== undefined || refs.cost.deref() !== undefined); i++) {
      await turn();
      fullGc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(refs.top.deref(), 'the top-level config validator is collected').toBeUndefined();
    expect(refs.cost.deref(), "a component's config validator is collected").toBeUndefined();
    expect(compileSchema(EVENT_SCHEMAS.span as never, 'events'), 'the events validators stay cached').toBe(events);
    // a reload validates again
    const again = compileSchema(TopSchema);
    expect(again({})).toBe(false);
    expect(again.errors?.length).toBeGreaterThan(0);
  });
});
