/** Schema helpers every component config uses, so that durations and endpoints are checked the same way. */
import { Type, type TSchema } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../duration.ts';

/** A duration string (`500ms`, `10s`, `5m`, `4h`, `1d`); parse it with parseDuration. */
export const Duration = (defaultValue?: string, description?: string) =>
  Type.String({ pattern: DURATION_PATTERN, ...(defaultValue !== undefined ? { default: defaultValue } : {}), ...(description ? { description } : {}) });

/** A TCP port, 0 to 65535, as a regex (JSON Schema cannot bound a number inside a string otherwise). */
const PORT_PATTERN = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d{2}|6[0-4]\\d{3}|[1-5]\\d{4}|\\d{1,4})';

/** `host:port`, `[::1]:port` or `:port`, the port 0 to 65535 (`localhost:99999` is refused by the loader, not at listen). */
export const Endpoint = (defaultValue?: string) =>
  Type.String({ pattern: `^(\\[[^\\]]+\\]|[^:\\[\\]]*):${PORT_PATTERN}$`, ...(defaultValue !== undefined ? { default: defaultValue } : {}) });

/** An object schema that rejects unknown keys and gets `{}` as its default, so nested defaults apply. */
export const Obj = <T extends Record<string, TSchema>>(props: T, opts: { default?: unknown; description?: string } = {}) =>
  Type.Object(props, { additionalProperties: false, default: opts.default ?? {}, ...(opts.description ? { description: opts.description } : {}) });
