/**
 * The status page's silence form reads matcher text as Alertmanager does: the page sends the typed text to
 * `GET /api/matchers` (vigil's one parser, src/matchers.ts) instead of reading it with a parser of its own
 * (which took the value's escapes as JSON's: `foo=~"\d+"` and `foo="a\.b"` could not be silenced from the
 * page at all, and `foo="\t"` silenced a tab where Alertmanager and amtool read a backslash and a t). The same
 * text is given to a real Alertmanager 0.25 through amtool (Debian's package, .ci/steps/40-alertmanager.sh).
 * The matchers the page pre-fills from an alert (src/status-page/matchers.js, run here as the browser runs it)
 * read back as the alert's exact labels, tabs, backslashes, quotes and newlines included.
 */
import fs from 'node:fs';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../src/service.ts';
import { AlertmanagerProcess, alertmanagerBinary, AMTOOL, amtoolAt as amtool } from './doubles/alertmanager.ts';
import { tempDir } from './helpers/index.ts';
import { startSilencesApi } from './helpers/service.ts';

const bin = alertmanagerBinary();
const ready = Boolean(AMTOOL && bin);
if (!ready) console.warn('\n!!!!! amtool or prometheus-alertmanager is NOT installed: the status page matcher test fails in CI. Install them with .ci/steps/40-alertmanager.sh. !!!!!\n');

type Am = { name: string; value: string; isRegex: boolean; isEqual: boolean };
let am: AlertmanagerProcess | undefined;
let service: Service | undefined;
let dir = '';
let vigilUrl = '';

/** What the page sends for typed text: vigil's reading through GET /api/matchers. */
async function pageReads(text: string): Promise<{ status: number; matchers?: Am[]; error?: string }> {
  const r = await fetch(`${vigilUrl}/api/matchers?text=${encodeURIComponent(text)}`);
  const body = (await r.json()) as Am[] | string;
  return r.status === 200 ? { status: 200, matchers: body as Am[] } : { status: r.status, error: body as string };
}

let n = 0;
/** What Alertmanager stores for `amtool silence add ARGS...` (one matcher an argument), or undefined when amtool refuses them. */
async function alertmanagerReads(args: string[]): Promise<Am[] | undefined> {
  const comment = `c${n++}`;
  try {
    await amtool(am!.url, 'silence', 'add', 'alertname=Page', ...args, '-c', comment, '-a', 'tester', '-d', '1h');
  } catch {
    return undefined;
  }
  const all = (await (await fetch(`${am!.url}/api/v2/silences`)).json()) as { comment: string; matchers: Am[] }[];
  return all.find((s) => s.comment === comment)!.matchers.filter((m) => !(m.name === 'alertname' && m.value === 'Page'));
}
const byName = (ms: Am[]) => [...ms].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** The page's own formatting script, run as the browser runs it. */
function pageFormat(): (name: string, op: string, value: string) => string {
  const context = vm.createContext({});
  vm.runInContext(fs.readFileSync(new URL('../src/status-page/matchers.js', import.meta.url), 'utf8'), context);
  return (context as { vigilMatchers: { formatMatcher: (name: string, op: string, value: string) => string } }).vigilMatchers.formatMatcher;
}

beforeAll(async () => {
  if (!ready) return;
  am = await new AlertmanagerProcess(bin!).start();
  dir = tempDir('vigil-page-matchers-');
  ({ service, url: vigilUrl } = await startSilencesApi(dir));
}, 60_000);

afterAll(async () => {
  await service?.shutdown();
  await am?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the status page silence form beside a real Alertmanager', () => {
  it.skipIf(!ready).each([
    'foo=~"\\d+"', // a regex escape
    'foo="a\\.b"', // classic: a backslash and a dot
    'foo="\\t"', // classic: a backslash and a t, not a tab
    'foo="\\n"', // a newline
    'foo="a\\"b"',
    'foo="a\\\\b"',
    'foo="a\tb"', // a raw tab
    'foo=a b',
    'foo=~"a|b"',
    'foo!~"x.*"',
    'foo!=""',
    'foo="é😀"',
  ])('%j: the page sends what amtool gives Alertmanager', async (text) => {
    const theirs = await alertmanagerReads([text]);
    expect(theirs).toBeDefined();
    expect(await pageReads(text)).toEqual({ status: 200, matchers: theirs });
  });

  it.skipIf(!ready)('a list of matchers, with or without braces, is each matcher as Alertmanager reads it', async () => {
    const parts = ['a="\\d"', 'b=~"x|y"', 'c!="q\\"r"'];
    const theirs = byName((await alertmanagerReads(parts))!);
    for (const text of [parts.join(', '), `{${parts.join(',')}}`]) expect({ text, ...(await pageReads(text)) }).toEqual({ text, status: 200, matchers: theirs });
  });

  it.skipIf(!ready)('bad text gets 400 with the parser\'s message', async () => {
    for (const text of ['foo', 'foo=~"(a"', '', 'foo="bar']) {
      const r = await pageReads(text);
      expect(r.status, text).toBe(400);
      expect(r.error, text).toMatch(/./);
    }
  });

  it.skipIf(!ready)('the matchers pre-filled from an alert read back as its exact labels, in vigil and in Alertmanager', async () => {
    const format = pageFormat();
    const values = ['plain', 'a\tb', 'a\\b', 'a\\tb', 'a"b', 'a\nb', 'é😀', 'x}', 'a,b', ' spaced ', ''];
    const labels = Object.fromEntries(values.map((v, i) => [`l${i}`, v]));
    const text = Object.entries(labels)
      .map(([k, v]) => format(k, '=', v))
      .join(', ');
    const expected = Object.entries(labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
    expect(await pageReads(text)).toEqual({ status: 200, matchers: expected });
    // amtool, one matcher an argument, stores the same values
    const theirs = await alertmanagerReads(Object.entries(labels).filter(([, v]) => v !== '').map(([k, v]) => format(k, '=', v)));
    expect(byName(theirs!)).toEqual(byName(expected.filter((m) => m.value !== '')));
    // names that need quotes (dotted names do not), read by vigil (Alertmanager 0.25 has no quoted names)
    const odd = { 'service.name': 'checkout', 'team name': 'a\tb "x"', 'é': 'v\\' };
    const oddText = Object.entries(odd)
      .map(([k, v]) => format(k, '=', v))
      .join(', ');
    expect(oddText.startsWith('service.name="checkout", ')).toBe(true);
    expect(await pageReads(oddText)).toEqual({ status: 200, matchers: Object.entries(odd).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })) });
  });
});
