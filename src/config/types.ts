/** Schema helpers every component config uses, so that durations and endpoints are checked the same way. */
import { Type, type TSchema } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../duration.ts';

/** A duration string (`500ms`, `10s`, `5m`, `4h`, `1d`); parse it with parseDuration. */
export const Duration = (defaultValue?: string, description?: string) =>
  Type.String({ pattern: DURATION_PATTERN, ...(defaultValue !== undefined ? { default: defaultValue } : {}), ...(description ? { description } : {}) });

/** `host:port`, `[::1]:port` or `:port`. */
export const Endpoint = (defaultValue?: string) =>
  Type.String({ pattern: '^(\\[[^\\]]+\\]|[^:\\[\\]]*):\\d{1,5}$', ...(defaultValue !== undefined ? { default: defaultValue } : {}) });

/** An object schema that rejects unknown keys and gets `{}` as its default, so nested defaults apply. */
export const Obj = <T extends Record<string, TSchema>>(props: T, opts: { default?: unknown; description?: string } = {}) =>
  Type.Object(props, { additionalProperties: false, default: opts.default ?? {}, ...(opts.description ? { description: opts.description } : {}) });
