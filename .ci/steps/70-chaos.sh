# The chaos scenarios that fit in a few minutes, in their short mode (chaos/run.ts; `npm run chaos` runs
# them all at full size): hostile bodies, slow and idle connections at a low descriptor limit, an alert
# storm, a cardinality burst and decoding amplification through the sidecar config with its NODE_OPTIONS
# (from dist/, which the first of them builds). Each exits non-zero when one of its invariants fails.
# The overload scenario is left to `npm run chaos`: its figures depend on the machine's spare CPU.
CHAOS_SHORT=1 CHAOS_TIMEOUT_MS=180000 node --import tsx chaos/run.ts hostile connections alert-storm cardinality amplification
