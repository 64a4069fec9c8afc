/**
 * vigil's silences API beside a real Alertmanager (Debian's prometheus-alertmanager, installed by
 * .ci/steps/40-alertmanager.sh), both driven by Debian's real amtool: the same silences are added to both
 * with `amtool silence add`, then `amtool silence query MATCHER...` must select the same silences from
 * each (compared by comment; ids differ), and a silence must have the same fields on both sides.
 *
 * Alertmanager's filter is not a label match: a silence is selected when, for every filter matcher, it has
 * a matcher of the same name, operator and value (api/v2 CheckSilenceMatchesFilterLabels).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../src/service.ts';
import { AlertmanagerProcess, alertmanagerBinary, AMTOOL, amtoolAt as amtool } from './doubles/alertmanager.ts';
import { tempDir } from './helpers/index.ts';
import { startSilencesApi } from './helpers/service.ts';

const bin = alertmanagerBinary();
const ready = Boolean(AMTOOL && bin);
if (!ready) console.warn('\n!!!!! amtool or prometheus-alertmanager is NOT installed: the silences side-by-side test is SKIPPED. Install them with .ci/steps/40-alertmanager.sh. !!!!!\n');

let am: AlertmanagerProcess | undefined;
let service: Service | undefined;
let dir = '';
let vigilUrl = '';

const SILENCES: string[][] = [
  ['alertname=A', 'queue=orders'],
  ['alertname=A', 'queue=~"ord.*"'],
  ['alertname=B'],
  ['queue!=orders', 'alertname=C'],
  ['alertname=D', 'team=""'],
  ['alertname=E', 'queue=~"a|b"'],
  ['alertname=F', 'x="a b"'],
  ['alertname=G', 'queue!~"tmp.*"'],
];

beforeAll(async () => {
  if (!ready) return;
  am = await new AlertmanagerProcess(bin!).start();
  dir = tempDir('vigil-silences-sbs-');
  ({ service, url: vigilUrl } = await startSilencesApi(dir));
  for (const [i, matchers] of SILENCES.entries())
    for (const url of [am.url, vigilUrl]) await amtool(url, 'silence', 'add', ...matchers, '-c', `s${i}`, '-a', 'tester', '-d', '1h');
}, 60_000);

afterAll(async () => {
  await service?.shutdown();
  await am?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('silences beside a real Alertmanager, through amtool', () => {
  it.skipIf(!ready).each([
    [[]],
    [['alertname=A']],
    [['queue=orders']],
    [['queue=~"ord.*"']],
    [['queue=~ord.*']],
    [['queue!=orders']],
    [['queue=""']],
    [['queue!=""']],
    [['team=""']],
    [['queue=~".+"']],
    [['alertname=~"A|B"']],
    [['queue=~"a|b"']],
    [['x="a b"']],
    [['alertname!~"A"']],
    [['queue!~"tmp.*"']],
    [['alertname=A', 'queue=orders']],
    [['alertname=A', 'queue=nope']],
  ])('amtool silence query %j selects the same silences', async (filter) => {
    const selected = async (url: string) =>
      (JSON.parse(await amtool(url, 'silence', 'query', '-o', 'json', ...filter)) as { comment: string }[]).map((s) => s.comment).sort();
    expect(await selected(vigilUrl)).toEqual(await selected(am!.url));
  });

  it.skipIf(!ready)('a silence has the same fields and matcher objects on both sides', async () => {
    const one = async (url: string) => {
      const all = (await (await fetch(`${url}/api/v2/silences`)).json()) as Record<string, unknown>[];
      const s = all.find((x) => x.comment === 's3')!;
      return { keys: Object.keys(s).sort(), status: s.status, createdBy: s.createdBy, matchers: s.matchers };
    };
    expect(await one(vigilUrl)).toEqual(await one(am!.url));
  });
});
