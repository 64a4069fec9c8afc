/**
 * `host:port` endpoints as the config writes them. A module of its own so that the config loader and the
 * receivers do not load vigil's self-telemetry (and with it the OpenTelemetry metrics SDK) to parse one.
 */

/**
 * Splits `host:port` (`[::1]:4317`, `:4317`, `0.0.0.0:4318`); an empty host means every interface.
 * @throws Error naming the endpoint when it is not `host:port` with a decimal port from 0 to 65535.
 */
export function splitHostPort(endpoint: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(endpoint.trim());
  if (!m || Number(m[3]) > 65535) throw new Error(`invalid endpoint "${endpoint}": expected host:port with a port from 0 to 65535`);
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port: Number(m[3]) };
}
