/** Types of scripts/module-log/shipped-env.mjs. */
/** `VIGIL_*` variables of pipelines.yaml for a run in `dir` (state, alerts file, listeners on 127.0.0.1:0). */
export declare function shippedConfigEnv(dir: string): Record<string, string>;
