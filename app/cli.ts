/**
 * The command line: `vigil run | validate | test | silence`. `main` returns the exit code (except `run`,
 * which exits on SIGTERM/SIGINT once drained).
 */
import { parseArgs } from 'node:util';
import { formatConfigError, loadConfig } from '../src/config/load.ts';
import { ErrorCodes } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';
import { Service } from '../src/service.ts';
import { components } from './components.ts';

const USAGE = `vigil: a telemetry pipeline daemon for LLM-backed services

usage:
  vigil run --config FILE [--config FILE ...]       run the daemon (SIGHUP reloads, SIGTERM drains and exits)
  vigil validate --config FILE [--config FILE ...]  check the config; exit 0, or 1 with every error
  vigil test --config FILE [...] TESTFILE...        run alert-rule unit tests (like promtool test rules)
  vigil silence add --config FILE --matcher 'label=value' [--matcher ...] --duration 2h [--comment TEXT] [--processor alerts]
  vigil silence list --config FILE [--processor alerts]
  vigil silence expire --config FILE ID [--processor alerts]

Several --config files are merged in order; later ones override earlier ones.
`;

type Out = { out: (s: string) => void; err: (s: string) => void };
const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export async function main(argv: string[], io: Out = stdio): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest, io);
    case 'validate':
      return validate(rest, io);
    case 'test':
      return test(rest, io);
    case 'silence':
      return silence(rest, io);
    case '--version':
    case 'version':
      io.out('vigil 0.1.0\n');
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.out(USAGE);
      return command === undefined ? 1 : 0;
    default:
      io.err(`vigil: unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}

function configArgs(args: string[]) {
  return parseArgs({
    args,
    options: { config: { type: 'string', multiple: true, short: 'c' } },
    allowPositionals: true,
    strict: true,
  });
}

async function validate(args: string[], io: Out): Promise<number> {
  let parsed;
  try {
    parsed = configArgs(args);
  } catch (err) {
    io.err(`vigil validate: ${(err as Error).message}\n`);
    return 1;
  }
  const files = parsed.values.config ?? [];
  const result = await loadConfig(files, components);
  if (result.errors.length) {
    for (const e of result.errors) io.err(`${formatConfigError(e)}\n`);
    io.err(`${result.errors.length} error${result.errors.length === 1 ? '' : 's'} in ${files.join(', ')}\n`);
    return 1;
  }
  io.out(`config OK: ${files.join(', ')} (${Object.keys(result.config!.service.pipelines).length} pipelines)\n`);
  return 0;
}

async function run(args: string[], io: Out): Promise<number> {
  let parsed;
  try {
    parsed = configArgs(args);
  } catch (err) {
    io.err(`vigil run: ${(err as Error).message}\n`);
    return 1;
  }
  const files = parsed.values.config ?? [];
  const result = await loadConfig(files, components);
  if (!result.config) {
    for (const e of result.errors) io.err(`${formatConfigError(e)}\n`);
    io.err(`vigil run: ${result.errors.length} config error(s); not starting\n`);
    return 1;
  }
  const logger = createLogger(result.config.service.telemetry.logs.level);
  const service = new Service(result.config, { logger, registry: components });
  try {
    await service.start();
  } catch (err) {
    logger.fatal({ code: (err as { code?: string }).code ?? ErrorCodes.START_FAILED, err: (err as Error).message }, 'start failed');
    await service.shutdown().catch(() => undefined);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      logger.info({ signal }, 'draining and shutting down');
      void service.shutdown().then((ok) => {
        logger.info({ clean: ok }, 'stopped');
        resolve(ok ? 0 : 1);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      if (stopping) return;
      logger.info({ files }, 'SIGHUP: reloading config');
      void service.reload(files);
    });
    process.on('unhandledRejection', (reason) => {
      logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection (kept running)');
    });
  });
}

async function test(args: string[], io: Out): Promise<number> {
  let parsed;
  try {
    parsed = configArgs(args);
  } catch (err) {
    io.err(`vigil test: ${(err as Error).message}\n`);
    return 1;
  }
  const files = parsed.values.config ?? [];
  if (!files.length || !parsed.positionals.length) {
    io.err('vigil test: give --config FILE and at least one TESTFILE\n');
    return 1;
  }
  const { runRuleTests } = await import('../processors/alerts/rule-test.ts');
  const result = await runRuleTests(files, parsed.positionals, components);
  io.out(result.output.endsWith('\n') ? result.output : `${result.output}\n`);
  return result.ok ? 0 : 1;
}

async function silence(args: string[], io: Out): Promise<number> {
  const [sub, ...rest] = args;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        config: { type: 'string', multiple: true, short: 'c' },
        matcher: { type: 'string', multiple: true },
        duration: { type: 'string' },
        comment: { type: 'string' },
        processor: { type: 'string' },
        'created-by': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.err(`vigil silence: ${(err as Error).message}\n`);
    return 1;
  }
  const result = await loadConfig(parsed.values.config ?? [], components);
  if (!result.config) {
    for (const e of result.errors) io.err(`${formatConfigError(e)}\n`);
    return 1;
  }
  const alertIds = Object.keys(result.config.processors).filter((id) => id === 'alerts' || id.startsWith('alerts/'));
  const processorId = parsed.values.processor ?? (alertIds.length === 1 ? alertIds[0] : undefined);
  if (!processorId || !alertIds.includes(processorId)) {
    io.err(`vigil silence: name the alerts processor with --processor (one of: ${alertIds.join(', ') || 'none defined'})\n`);
    return 1;
  }
  const silences = await import('../processors/alerts/silences.ts');
  const stateDir = result.config.service.state_dir;
  try {
    if (sub === 'add') {
      const s = await silences.addSilence(stateDir, processorId, {
        matchers: parsed.values.matcher ?? [],
        duration: parsed.values.duration,
        comment: parsed.values.comment ?? '',
        createdBy: parsed.values['created-by'] ?? process.env.USER ?? 'vigil',
      });
      io.out(`${JSON.stringify(s)}\n`);
      return 0;
    }
    if (sub === 'list') {
      for (const s of await silences.listSilences(stateDir, processorId)) io.out(`${JSON.stringify(s)}\n`);
      return 0;
    }
    if (sub === 'expire' && parsed.positionals[0]) {
      await silences.expireSilence(stateDir, processorId, parsed.positionals[0]);
      io.out(`expired ${parsed.positionals[0]}\n`);
      return 0;
    }
  } catch (err) {
    io.err(`vigil silence: ${(err as Error).message}\n`);
    return 1;
  }
  io.err(`vigil silence: expected add, list or expire ID\n`);
  return 1;
}
