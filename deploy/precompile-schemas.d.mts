/** Types of deploy/precompile-schemas.mjs, for the tests that import it. */
/** Ajv standalone code (CommonJS) minified by esbuild, still CommonJS: what the build writes per schema. */
export declare function minifyValidator(code: string): string;
/** Writes every shipped schema's validator into `<dist>/precompiled-validators/`; returns how many and where. */
export declare function precompileSchemas(dist: string): Promise<{ count: number; dir: string }>;
/** Writes validator `code` as schema `key`'s files in `dir`: <key>.code.cjs, <key>.v8cache (V8's code cache, made under the flags in force) and the <key>.cjs that loads them. */
export declare function writeValidator(dir: string, key: string, code: string): void;
