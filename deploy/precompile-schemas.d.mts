/** Types of deploy/precompile-schemas.mjs, for the tests that import it. */
/** Ajv standalone code (CommonJS) minified by esbuild, still CommonJS: what the build writes per schema. */
export declare function minifyValidator(code: string): string;
/** Writes every shipped schema's validator into `<dist>/precompiled-validators/`; returns how many and where. */
export declare function precompileSchemas(dist: string): Promise<{ count: number; dir: string }>;
