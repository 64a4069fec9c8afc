/**
 * The one delivery config block every queued exporter shares, the notification exporters and `otlp` alike
 * (`timeout`, `retry`, `sending_queue`, `shutdown_timeout`): each exporter's schema spreads
 * {@link deliveryConfigProps} into its own, and each exporter's README points at src/delivery/README.md
 * for the meaning of these keys. (Collector: exporterhelper's `timeout`, `retry_on_failure`, `sending_queue`.)
 */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../config/types.ts';
import { parseDuration } from '../duration.ts';

/**
 * The schema of an exporter's `retry` block (TypeBox; defaults applied by Ajv): the Collector exporterhelper's
 * `retry_on_failure` keys, durations as strings (`1s`).
 */
export const RetrySchema = Obj(
  {
    enabled: Type.Boolean({ default: true, description: 'false: one attempt, then the dead letter' }),
    initial_interval: Duration('1s', 'wait before the first retry'),
    max_interval: Duration('30s', 'cap on the wait between two attempts'),
    max_elapsed_time: Duration('1h', 'give up (dead letter) once this long has passed since the first attempt; 0 = never'),
    multiplier: Type.Number({ minimum: 1, default: 2, description: 'growth of the wait after each failure' }),
    randomization_factor: Type.Number({ minimum: 0, maximum: 1, default: 0.5, description: 'jitter: the wait is drawn from [w*(1-f), w*(1+f)]' }),
  },
  { description: 'retries with exponential backoff and jitter; a Retry-After from the target wins' },
);

/**
 * The schema of an exporter's `sending_queue` block (TypeBox; defaults applied by Ajv), after the Collector
 * exporterhelper's `sending_queue`: storage (disk or memory), bounds in items and bytes, concurrent deliveries.
 */
export const SendingQueueSchema = Obj(
  {
    enabled: Type.Boolean({ default: true, description: 'false: no queue; one attempt inside the call, failures go back upstream' }),
    storage: Type.Union([Type.Literal('disk'), Type.Literal('memory')], {
      default: 'disk',
      description: "disk: queued and fsync'd in the exporter's state folder before the call returns (survives a crash); memory: lost with the process (what shutdown cannot deliver goes to the dead letter)",
    }),
    max_items: Type.Integer({ minimum: 1, default: 10_000, description: 'notifications held at most' }),
    max_bytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024, description: 'bytes of queued notifications held at most' }),
    num_consumers: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'concurrent deliveries' }),
  },
  { description: 'the queue in the exporter state folder (or in memory)' },
);

/** Spread into an exporter's schema: `Obj({ url: ..., ...deliveryConfigProps })`. */
export const deliveryConfigProps = {
  timeout: Duration('10s', 'per-attempt timeout'),
  shutdown_timeout: Duration('5s', 'how long shutdown keeps delivering before leaving the rest queued for the next start'),
  retry: RetrySchema,
  sending_queue: SendingQueueSchema,
};

/** A validated `retry` block (durations still strings such as `30s`; see {@link deliveryOptions}). */
export type RetryConfig = Static<typeof RetrySchema>;
/** A validated `sending_queue` block. */
export type SendingQueueConfig = Static<typeof SendingQueueSchema>;
/** The delivery keys of an exporter config. */
export interface DeliveryConfig {
  timeout: string;
  shutdown_timeout: string;
  retry: RetryConfig;
  sending_queue: SendingQueueConfig;
}

/** The delivery config in milliseconds and counts, as the DeliveryQueue takes it. */
export interface DeliveryOptions {
  timeoutMs: number;
  shutdownTimeoutMs: number;
  retryEnabled: boolean;
  initialIntervalMs: number;
  maxIntervalMs: number;
  /** 0 = retry forever. */
  maxElapsedMs: number;
  multiplier: number;
  randomizationFactor: number;
  maxItems: number;
  maxBytes: number;
  concurrency: number;
  /** `sending_queue.storage`. */
  storage: 'disk' | 'memory';
  /** `sending_queue.enabled`: false sends inside `enqueue`, once. */
  queueEnabled: boolean;
  /** Minimum time between two sends (a target's rate limit: Slack's one message a second); 0 = none. */
  minSendIntervalMs: number;
  /**
   * Queues with the same key share the rate limit (Slack's is per webhook URL, so two exporters posting to
   * one URL share it); empty: the queue's own.
   */
  rateLimitKey: string;
}

/**
 * For a factory's validate(): a problem with a URL that must be http(s), or undefined. The message never
 * quotes the URL: it may be a secret (a Slack webhook URL, a token in a query), and `vigil validate` output
 * ends up in CI logs. It names the scheme found instead.
 */
export function httpUrlIssue(url: string): string | undefined {
  if (/^https?:\/\/[^/\s]/i.test(url)) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  return `expected an http:// or https:// URL, got ${scheme ? `a "${scheme.toLowerCase()}:" URL` : 'a value without a scheme'} (the value is not shown: it may be a secret)`;
}

/**
 * The delivery config of an exporter in milliseconds and counts ({@link DeliveryOptions}); `over` replaces any
 * field (exporters and tests). Throws when a duration does not parse (already checked by the schema).
 */
export function deliveryOptions(c: DeliveryConfig, over: Partial<DeliveryOptions> = {}): DeliveryOptions {
  return {
    timeoutMs: parseDuration(c.timeout),
    shutdownTimeoutMs: parseDuration(c.shutdown_timeout),
    retryEnabled: c.retry.enabled,
    initialIntervalMs: parseDuration(c.retry.initial_interval),
    maxIntervalMs: parseDuration(c.retry.max_interval),
    maxElapsedMs: parseDuration(c.retry.max_elapsed_time),
    multiplier: c.retry.multiplier,
    randomizationFactor: c.retry.randomization_factor,
    maxItems: c.sending_queue.max_items,
    maxBytes: c.sending_queue.max_bytes,
    concurrency: c.sending_queue.num_consumers,
    storage: c.sending_queue.storage,
    queueEnabled: c.sending_queue.enabled,
    minSendIntervalMs: 0,
    rateLimitKey: '',
    ...over,
  };
}
