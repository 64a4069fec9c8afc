/** Types of deploy/code-cache.mjs, for the tests that import it. */
/** The NODE_OPTIONS of the shipped deployments, '' for none: the build makes a code cache of the bundle for each. */
export declare const FLAG_SETS: string[];
/** One training start under NODE_OPTIONS `flags`: the cache file written and its size. */
export declare function makeCodeCache(root: string, dist: string, flags?: string, options?: { timeoutMs?: number }): Promise<{ file: string; bytes: number }>;
/** A training start for each of FLAG_SETS. */
export declare function makeCodeCaches(root: string, dist: string): Promise<{ file: string; bytes: number }[]>;
