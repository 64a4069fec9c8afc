/** JSON log lines on stdout: `{"level":"info","time":"...","component":"receiver/otlp","message":"..."}`. */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

/** The daemon's logger: a pino logger writing one JSON object per line. */
export type Logger = PinoLogger;
/** The log levels a user may set (`service.telemetry.logs.level`), lowest to highest. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * A pino logger that writes JSON lines `{"level","time" (ISO 8601),"message",...}` at `level` and above, to
 * `destination` or synchronously to stdout (fd 1).
 */
export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A logger that writes nothing (tests, and `vigil test`). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
