/**
 * The command line: `vigil run | validate | test | status | alerts | silence`. `main` returns the exit code (except `run`,
 * which exits on SIGTERM/SIGINT once drained).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { forgetValidators } from '../src/config/ajv.ts';
import { formatConfigError, loadConfig } from '../src/config/load.ts';
import { ErrorCodes, systemErrorCode } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';
import { components } from './components.ts';
import { capYoungGeneration, releaseAfterStartup } from '../src/startup-v8.ts';

const USAGE = `vigil: a telemetry pipeline daemon for LLM-backed services

usage:
  vigil run --config FILE [--config FILE ...]       run the daemon (SIGHUP reloads, SIGTERM drains and exits)
  vigil validate --config FILE [--config FILE ...]  check the config; exit 0, or 1 with every error
  vigil test --config FILE [...] TESTFILE...        run alert-rule unit tests (like promtool test rules)
  vigil status [--output text|json|markdown]         overview of a running daemon: health, latency, spend, alerts
  vigil alerts [MATCHER...] [--active] [--output json]   firing alerts (like amtool alert query)
  vigil silence add MATCHER... [--duration 2h | --end TIME] [--start TIME] --comment TEXT [--author NAME]
  vigil silence list [MATCHER...] [--expired] [--output json]
  vigil silence expire ID [ID...]

Several --config files are merged in order; later ones override earlier ones.
status, alerts and silence talk to the running daemon's API on its telemetry endpoint: --url http://host:port,
or --config FILE to take service.telemetry.endpoint (and the tokens) from the config, else $VIGIL_URL, else
http://localhost:8888. Writes send --token, else $VIGIL_API_TOKEN, else the config's api.bearer_token; reads send the
config's telemetry.auth.bearer_token, else the same.
A MATCHER is Alertmanager's: name="value", name!="value", name=~"regex", name!~"regex".
`;

const COMMANDS = ['run', 'validate', 'test', 'status', 'alerts', 'silence'];

/** The USAGE lines of one command, and the notes below them that concern it. */
function commandUsage(command: string): string {
  const [head, notes] = USAGE.split('\n\n').slice(1) as [string, string];
  const lines = head.split('\n').filter((l) => l.startsWith(`  vigil ${command} `));
  const configNote = ['run', 'validate', 'test'].includes(command) ? notes.split('\n')[0]! : notes.split('\n').slice(1).join('\n');
  return `usage:\n${lines.join('\n')}\n\n${configNote.trimEnd()}\n`;
}

type Out = { out: (s: string) => void; err: (s: string) => void };
const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** Runs one CLI command with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: Out = stdio): Promise<number> {
  const [command, ...rest] = argv;
  // `vigil COMMAND --help` (or -h) anywhere before a `--`: that command's usage lines, exit 0
  const beforeDashes = rest.indexOf('--') < 0 ? rest : rest.slice(0, rest.indexOf('--'));
  if (command && COMMANDS.includes(command) && beforeDashes.some((a) => a === '--help' || a === '-h')) {
    io.out(commandUsage(command));
    return 0;
  }
  switch (command) {
    case 'run':
      return run(rest, io);
    case 'validate':
      return validate(rest, io);
    case 'test':
      return test(rest, io);
    case 'silence':
      return silence(rest, io);
    case 'alerts':
      return alerts(rest, io);
    case 'status':
      return status(rest, io);
    case '--version':
    case 'version':
      io.out('vigil 0.1.0\n');
      return 0;
    case undefined:
      // no command is a usage error: the usage goes with it on stderr, and the exit code says so
      io.err(USAGE);
      return 1;
    case '-h':
    case '--help':
    case 'help':
      io.out(USAGE);
      return 0;
    default:
      io.err(`vigil: ${command.startsWith('-') ? `unknown option "${command}"` : `unknown command "${command}"`}\n\n${USAGE}`);
      return 1;
  }
}

function configArgs(args: string[]) {
  const parsed = parseArgs({
    args,
    options: { config: { type: 'string', multiple: true, short: 'c' } },
    allowPositionals: true,
    strict: true,
  });
  if (parsed.values.config?.some((f) => f.trim() === '')) throw new Error('--config needs a file name, not an empty value');
  return parsed;
}

/**
 * What was wrong with a command's arguments, in words: Node's own message for an unknown option goes on to
 * suggest `-- "--bogus"` (a positional argument, which no command takes that way); this points at the
 * command's --help instead.
 */
function argsError(command: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const message = e.message ?? String(err);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /^Unknown option '([^']*)'/.exec(message)?.[1];
    if (option !== undefined) return `Unknown option '${option}' (vigil ${command} --help lists its options)`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${message} (vigil ${command} --help)`;
  return message;
}

async function validate(args: string[], io: Out): Promise<number> {
  let parsed;
  try {
    parsed = configArgs(args);
  } catch (err) {
    io.err(`vigil validate: ${argsError('validate', err)}\n`);
    return 1;
  }
  const files = parsed.values.config ?? [];
  if (!files.length) {
    io.err('vigil validate: no --config file given (vigil validate --config pipelines.yaml)\n');
    return 1;
  }
  if (parsed.positionals.length) {
    // `--config a.yaml b.yaml` would otherwise check or run a.yaml alone
    io.err(`vigil validate: unexpected argument${parsed.positionals.length === 1 ? '' : 's'} ${parsed.positionals.map((p) => JSON.stringify(p)).join(' ')}: give each file with its own --config (vigil validate --config a.yaml --config b.yaml)\n`);
    return 1;
  }
  const result = await loadConfig(files, components);
  if (result.errors.length) {
    for (const e of result.errors) io.err(`${formatConfigError(e)}\n`);
    io.err(`${result.errors.length} error${result.errors.length === 1 ? '' : 's'} in ${files.join(', ')}\n`);
    return 1;
  }
  io.out(`config OK: ${files.join(', ')} (${Object.keys(result.config!.service.pipelines).length} pipeline${Object.keys(result.config!.service.pipelines).length === 1 ? '' : 's'})\n`);
  return 0;
}

async function run(args: string[], io: Out): Promise<number> {
  let parsed;
  try {
    parsed = configArgs(args);
  } catch (err) {
    io.err(`vigil run: ${argsError('run', err)}\n`);
    return 1;
  }
  const files = parsed.values.config ?? [];
  if (!files.length) {
    io.err('vigil run: no --config file given (vigil run --config pipelines.yaml)\n');
    return 1;
  }
  if (parsed.positionals.length) {
    // `--config a.yaml b.yaml` would otherwise check or run a.yaml alone
    io.err(`vigil run: unexpected argument${parsed.positionals.length === 1 ? '' : 's'} ${parsed.positionals.map((p) => JSON.stringify(p)).join(' ')}: give each file with its own --config (vigil run --config a.yaml --config b.yaml)\n`);
    return 1;
  }
  const result = await loadConfig(files, components);
  if (!result.config) {
    for (const e of result.errors) io.err(`${formatConfigError(e)}\n`);
    io.err(`vigil run: ${result.errors.length} config error(s); not starting\n`);
    return 1;
  }
  // The daemon's own modules (service, self-telemetry and the OpenTelemetry metrics SDK under it) load only
  // for `run`: `validate`, `test` and the API commands do not pay for them (test/startup-modules.test.ts).
  const [{ startSelfExport }, { Service }, { ServiceTelemetry }] = await Promise.all([
    import('../src/self-export.ts'),
    import('../src/service.ts'),
    import('../src/telemetry.ts'),
  ]);
  const own = result.config.service.telemetry;
  let selfExport;
  try {
    selfExport = await startSelfExport(own);
  } catch (err) {
    io.err(`vigil run: service.telemetry: cannot set up OTLP export: ${(err as Error).message}\n`);
    return 1;
  }
  const logger = createLogger(own.logs.level, selfExport.logDestination);
  const service = new Service(result.config, {
    logger,
    registry: components,
    configFiles: files,
    telemetry: new ServiceTelemetry(selfExport.meter ? { mirror: selfExport.meter } : {}),
    ...(selfExport.tracer ? { tracer: selfExport.tracer } : {}),
  });
  // Signals are handled from before the start: a SIGTERM that arrives while the pipelines start (or right
  // as "everything is ready" is logged) drains once the start is over, instead of killing the process.
  let running = false;
  let stopping = false;
  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((r) => (resolveExit = r));
  // The daemon runs until a signal stops it, whatever its config holds open: the telemetry endpoint does not
  // hold the event loop (unref'd), so a config of `nop` receivers would otherwise end the process right after
  // "everything is ready", with `main` never settled. One idle timer holds it: no wake-up.
  const hold = setInterval(() => undefined, 2 ** 31 - 1);
  void exit.then(() => clearInterval(hold));
  const starting = service.start().then(
    () => {
      running = true;
      // start-up is over: hot code is optimized and the young generation grows under load from here, within a cap (src/startup-v8.ts)
      releaseAfterStartup();
      capYoungGeneration();
      // the config's validators ran once: a reload loads them again (src/config/ajv.ts)
      forgetValidators('config');
    },
    async (err: unknown) => {
      // The catalogue's code always (src/errors.ts: "a port in use, a state folder not writable"); the system
      // error's own code (EADDRINUSE, EACCES ...) goes beside it as `cause`.
      const cause = systemErrorCode(err);
      logger.fatal({ code: ErrorCodes.START_FAILED, ...(typeof cause === 'string' && cause !== ErrorCodes.START_FAILED ? { cause } : {}), err: (err as Error).message }, 'start failed');
      await service.shutdown().catch(() => undefined);
      await selfExport.shutdown();
      resolveExit(1);
      throw err;
    },
  );
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      resolveExit(1);
      return;
    }
    stopping = true;
    logger.info({ signal }, running ? 'draining and shutting down' : 'signal during start: draining once started');
    void starting
      .then(() => service.shutdown())
      .then(async (ok) => {
        logger.info({ clean: ok }, 'stopped');
        await selfExport.shutdown();
        resolveExit(ok ? 0 : 1);
      })
      .catch(() => undefined);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (stopping) return;
    if (!running) {
      logger.warn({ files }, 'SIGHUP during start: ignored (send it again once ready)');
      return;
    }
    logger.info({ files }, 'SIGHUP: reloading config');
    void service.reload(files);
  });
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection (kept running)');
  });
  await starting.catch(() => undefined);
  return exit;
}

/** `--output` of `vigil alerts` and `vigil silence list`: `text` (the default) or `json`; throws otherwise. */
function checkOutput(output: string | undefined): void {
  if (output !== undefined && output !== 'text' && output !== 'json') throw new Error(`--output ${JSON.stringify(output)}: expected text or json`);
}

/** Who creates a silence when --author is not given: the user's name, as amtool's default (`$USER`, else the account's). */
function osUserName(): string {
  if (process.env.USER) return process.env.USER;
  try {
    return os.userInfo().username || 'vigil';
  } catch {
    return 'vigil';
  }
}

async function test(args: string[], io: Out): Promise<number> {
  let parsed;
  try {
    parsed = configArgs(args);
  } catch (err) {
    io.err(`vigil test: ${argsError('test', err)}\n`);
    return 1;
  }
  const files = parsed.values.config ?? [];
  if (!files.length || !parsed.positionals.length) {
    io.err('vigil test: give --config FILE and at least one TESTFILE\n');
    return 1;
  }
  const { runRuleTests } = await import('../processors/alerts/rule-test.ts');
  // as promtool test rules: what passed on stdout, every failure and error on stderr; exit 0, or 1
  const result = await runRuleTests(files, parsed.positionals, components);
  if (result.stdout) io.out(result.stdout);
  if (result.stderr) io.err(result.stderr);
  return result.ok ? 0 : 1;
}

/** --url, --config, --token: where the daemon is (see resolveTarget). */
const TARGET_OPTIONS = {
  url: { type: 'string' },
  config: { type: 'string', multiple: true, short: 'c' },
  token: { type: 'string' },
} as const;

async function clientFor(values: { url?: string; config?: string[]; token?: string }) {
  const { ApiClient, resolveTarget } = await import('../src/api/client.ts');
  const t = await resolveTarget(values, components);
  return new ApiClient(t.url, t.token, undefined, t.readToken);
}

const pad = (rows: string[][]): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
};

/** `vigil silence add|list|query|expire`: through the daemon's API (amtool's commands, vigil's flags). */
async function silence(args: string[], io: Out): Promise<number> {
  const [sub, ...rest] = args;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        ...TARGET_OPTIONS,
        matcher: { type: 'string', multiple: true, short: 'm' },
        duration: { type: 'string', short: 'd' },
        start: { type: 'string' },
        end: { type: 'string' },
        comment: { type: 'string' },
        author: { type: 'string' },
        'created-by': { type: 'string' },
        expired: { type: 'boolean' },
        filter: { type: 'string', multiple: true },
        output: { type: 'string', short: 'o' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.err(`vigil silence: ${argsError('silence', err)}\n`);
    return 1;
  }
  const v = parsed.values;
  try {
    const { amtoolArguments, formatAmMatcher, parseAmMatcher } = await import('../src/api/matchers.ts');
    if (sub === 'add') {
      // as amtool: a first argument that is not a matcher is the alert name
      const texts = [...(v.matcher ?? []), ...amtoolArguments(parsed.positionals)];
      if (!texts.length) throw new Error('give at least one matcher: vigil silence add alertname=HighP95Latency service.name=checkout --duration 2h');
      const matchers = texts.map((t) => parseAmMatcher(t)); // one matcher an argument, as amtool silence add
      const { parseDuration } = await import('../src/duration.ts');
      const { parseApiTime } = await import('../src/rfc3339.ts');
      const startMs = v.start ? (parseApiTime(v.start) ?? NaN) : Date.now();
      if (Number.isNaN(startMs)) throw new Error(`--start ${JSON.stringify(v.start)}: expected an RFC 3339 time such as 2026-11-30T12:00:00Z`);
      let endMs: number;
      if (v.end) {
        if (v.duration) throw new Error('give --duration or --end, not both');
        endMs = parseApiTime(v.end) ?? NaN;
        if (Number.isNaN(endMs)) throw new Error(`--end ${JSON.stringify(v.end)}: expected an RFC 3339 time such as 2026-11-30T12:00:00Z`);
      } else {
        const d = v.duration ?? '1h';
        try {
          endMs = startMs + parseDuration(d);
        } catch {
          throw new Error(`--duration ${JSON.stringify(d)}: expected a duration such as 30m, 2h or 1d`);
        }
      }
      const client = await clientFor(v);
      const r = await client.request<{ silenceID: string }>('POST', '/api/v2/silences', {
        matchers,
        startsAt: new Date(startMs).toISOString(),
        endsAt: new Date(endMs).toISOString(),
        createdBy: v.author ?? v['created-by'] ?? osUserName(),
        comment: v.comment ?? '',
      });
      io.out(`${r.silenceID}\n`);
      return 0;
    }
    if (sub === 'list' || sub === 'query') {
      checkOutput(v.output);
      const client = await clientFor(v);
      const q = new URLSearchParams();
      for (const f of [...(v.filter ?? []), ...amtoolArguments(parsed.positionals)]) q.append('filter', f);
      type S = { id: string; status: { state: string }; matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[]; startsAt: string; endsAt: string; createdBy: string; comment: string };
      const list = (await client.request<S[]>('GET', `/api/v2/silences${q.size ? `?${q}` : ''}`)).filter((s) => (v.expired ? s.status.state === 'expired' : s.status.state !== 'expired'));
      if (v.output === 'json') io.out(`${JSON.stringify(list, null, 2)}\n`);
      else if (!list.length) io.out(v.expired ? 'no expired silences\n' : 'no active or pending silences (--expired shows the expired ones)\n');
      else io.out(pad([['ID', 'STATE', 'MATCHERS', 'ENDS AT', 'CREATED BY', 'COMMENT'], ...list.map((s) => [s.id, s.status.state, s.matchers.map(formatAmMatcher).join(' '), s.endsAt, s.createdBy, s.comment])]));
      return 0;
    }
    if (sub === 'expire') {
      if (!parsed.positionals.length) throw new Error('give the id of the silence to expire (vigil silence list shows them)');
      const client = await clientFor(v);
      for (const given of parsed.positionals) {
        let id = given;
        if (!/^[0-9a-f-]{36}$/.test(given) && !given.startsWith('config-')) {
          // a unique prefix of an id, as shown by `vigil silence list`
          const all = await client.request<{ id: string; status: { state: string } }[]>('GET', '/api/v2/silences');
          const hits = all.filter((s) => s.id.startsWith(given) && s.status.state !== 'expired');
          if (hits.length !== 1) throw new Error(hits.length ? `silence id prefix ${given} is ambiguous` : `no active or pending silence with id ${given}`);
          id = hits[0]!.id;
        }
        await client.request('DELETE', `/api/v2/silence/${encodeURIComponent(id)}`);
        io.out(`expired ${id}\n`);
      }
      return 0;
    }
  } catch (err) {
    io.err(`vigil silence: ${(err as Error).message}\n`);
    return 1;
  }
  io.err('vigil silence: expected add, list (or query) or expire ID\n');
  return 1;
}

/** `vigil alerts`: the firing alerts, as `amtool alert query` lists them. */
async function alerts(args: string[], io: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...TARGET_OPTIONS, filter: { type: 'string', multiple: true }, active: { type: 'boolean' }, output: { type: 'string', short: 'o' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.err(`vigil alerts: ${argsError('alerts', err)}\n`);
    return 1;
  }
  const v = parsed.values;
  try {
    checkOutput(v.output);
    const client = await clientFor(v);
    const { amtoolArguments } = await import('../src/api/matchers.ts');
    const q = new URLSearchParams();
    // as amtool alert query: a first argument that is not a matcher is the alert name
    for (const f of [...(v.filter ?? []), ...amtoolArguments(parsed.positionals)]) q.append('filter', f);
    if (v.active) {
      q.set('silenced', 'false');
      q.set('inhibited', 'false');
    }
    type A = { labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; status: { state: string; silencedBy: string[]; inhibitedBy: string[] } };
    const list = await client.request<A[]>('GET', `/api/v2/alerts${q.size ? `?${q}` : ''}`);
    if (v.output === 'json') {
      io.out(`${JSON.stringify(list, null, 2)}\n`);
      return 0;
    }
    if (!list.length) {
      // with --active, silenced and inhibited alerts may well be firing: say what was left out
      io.out(v.active ? 'no alerts firing that are neither silenced nor inhibited (without --active: those too)\n' : 'no alerts firing\n');
      return 0;
    }
    const state = (a: A) => (a.status.silencedBy.length ? 'silenced' : a.status.inhibitedBy.length ? 'inhibited' : 'firing');
    const labels = (a: A) =>
      Object.entries(a.labels)
        .filter(([k]) => k !== 'alertname')
        .map(([k, x]) => `${k}=${x}`)
        .join(' ');
    io.out(pad([['ALERTNAME', 'STATE', 'STARTS AT', 'LABELS', 'SUMMARY'], ...list.map((a) => [a.labels.alertname ?? '', state(a), a.startsAt, labels(a), a.annotations.summary ?? ''])]));
    return 0;
  } catch (err) {
    io.err(`vigil alerts: ${(err as Error).message}\n`);
    return 1;
  }
}

/** `vigil status`: the overview of a running daemon, as text, JSON or Markdown. */
async function status(args: string[], io: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...TARGET_OPTIONS, output: { type: 'string', short: 'o', default: 'text' } }, strict: true });
  } catch (err) {
    io.err(`vigil status: ${argsError('status', err)}\n`);
    return 1;
  }
  const v = parsed.values;
  if (!['text', 'json', 'markdown'].includes(v.output)) {
    io.err(`vigil status: --output ${JSON.stringify(v.output)}: expected text, json or markdown\n`);
    return 1;
  }
  try {
    const client = await clientFor(v);
    const o = await client.request<import('../src/api/overview.ts').Overview>('GET', '/api/overview');
    const { formatOverviewMarkdown, formatOverviewText } = await import('../src/api/overview-format.ts');
    io.out(v.output === 'json' ? `${JSON.stringify(o, null, 2)}\n` : v.output === 'markdown' ? formatOverviewMarkdown(o) : formatOverviewText(o));
    return 0;
  } catch (err) {
    io.err(`vigil status: ${(err as Error).message}\n`);
    return 1;
  }
}
