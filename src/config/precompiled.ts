/**
 * Validators compiled ahead of time, by {@link schemaKey} (src/config/ajv.ts). Empty in the sources: the build
 * (deploy/bundle.mjs) replaces this module in the bundle with the standalone validators of every schema vigil
 * ships, so that `vigil run` from dist/ compiles none at start. Run from the sources, schemas compile at first use.
 */
export const PRECOMPILED: ReadonlyMap<string, (data: unknown) => boolean> = new Map();
