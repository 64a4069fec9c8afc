/**
 * Route matcher text read as Alertmanager reads it, checked against Debian's real amtool
 * (prometheus-alertmanager 0.25, installed by .ci/steps/40-alertmanager.sh).
 *
 * Alertmanager 0.27 and later, in their default (fallback) mode, read a matcher line with both parsers and
 * keep the classic (pkg/labels) reading whenever the classic parser accepts the text, even where the UTF-8
 * grammar reads it differently (matcher/compat FallbackMatchersParser). So for every text the classic
 * parser accepts, amtool 0.25 (classic only) is the ground truth of today's Alertmanager too: quoted values
 * whose only escapes are `\n`, `\"` and `\\` (any other backslash is literal), unquoted values with spaces,
 * one stray brace, a trailing comma. Each matcher text below is one child route (`continue: true`, its own
 * receiver) of one tree; for each label set, `amtool config routes test` on that tree must name the
 * receivers vigil's tree walk names, in the same order. Texts the classic parser refuses, which only
 * Alertmanager's newer UTF-8 grammar reads (quoted or dotted label names), are not compared here.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { ConfigIssue } from '../src/component.ts';
import type { AlertsConfig } from '../processors/alerts/config.ts';
import { compileRoutes, matchRoute } from '../processors/alerts/routes.ts';
import { tempDir } from './helpers/index.ts';
import { AMTOOL } from './doubles/alertmanager.ts';

if (!AMTOOL) console.warn('\n!!!!! amtool is NOT installed: the matcher agreement test is SKIPPED. Install it with .ci/steps/40-alertmanager.sh. !!!!!\n');

/** Matcher texts the classic parser reads (each the `matchers` of one route). */
const TEXTS = [
  'foo=bar',
  'foo=',
  'foo!=""',
  'foo=~""',
  'foo=~a|b',
  'foo=~"(?i)abc"',
  'foo=~"\\\\d+"', // an escaped backslash: the regex \d+
  'foo=~"\\d+"', // a lone backslash before d is literal in the classic grammar: the regex \d+ as well
  'foo=~"\\."', // likewise: the regex \. (a dot), which the UTF-8 grammar would refuse
  'foo=~\\.', // unquoted
  'foo="\\t"', // a backslash and a t, not a tab
  'foo="\\u00e9"', // six characters, not é
  'foo="bar\\"baz"',
  'foo=bar\\"baz', // unquoted, the escape still read
  'foo="a\\\\b"',
  'foo="a,b"',
  'foo = spaced value ',
  'foo=" padded "',
  'foo=bar}', // one trailing brace dropped
  '{foo=bar', // one leading brace dropped
  '{foo="x",}',
  'foo="x",bar=~"y|z"',
  'foo="ñ😀"',
  'foo=~"a.b"', // RE2: . does not match a newline
];

/** The label sets routed; amtool reads each `name="value"` argument with the classic escapes. */
const LABEL_SETS: Record<string, string>[] = [
  {},
  { foo: 'bar' },
  { foo: '' },
  { foo: 'a' },
  { foo: 'ab' },
  { foo: 'ABC' },
  { foo: '123' },
  { foo: 'd' },
  { foo: '.' },
  { foo: '\\.' },
  { foo: '\\t' },
  { foo: '\t' },
  { foo: '\\u00e9' },
  { foo: 'é' },
  { foo: 'bar"baz' },
  { foo: 'bar\\"baz' },
  { foo: 'a\\b' },
  { foo: 'a,b' },
  { foo: 'spaced value' },
  { foo: ' padded ' },
  { foo: 'bar}' },
  { foo: 'x', bar: 'z' },
  { foo: 'x', bar: 'q' },
  { foo: 'x' },
  { foo: 'ñ😀' },
  { foo: 'a\nb' },
  { foo: 'axb' },
];

const classicArg = (k: string, v: string) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

describe('route matcher text, beside amtool', () => {
  it.skipIf(!AMTOOL)('every text the classic parser reads routes as amtool routes it', async () => {
    const route = { receiver: 'none', routes: TEXTS.map((t, i) => ({ matchers: [t], receiver: `r${i}`, continue: true })) };
    const receivers = [{ name: 'none' }, ...TEXTS.map((_, i) => ({ name: `r${i}` }))];
    const dir = tempDir('vigil-amtool-matchers-');
    try {
      const amConfig = path.join(dir, 'alertmanager.yml');
      fs.writeFileSync(amConfig, YAML.stringify({ route, receivers }));
      await promisify(execFile)(AMTOOL!, ['check-config', amConfig]);
      const issues: ConfigIssue[] = [];
      const config = { route, receivers: receivers.map((r) => ({ name: r.name, exporters: [`webhook/${r.name}`] })), time_intervals: [] } as unknown as AlertsConfig;
      const root = compileRoutes(config, issues);
      expect(issues).toEqual([]);
      for (const labels of LABEL_SETS) {
        const args = Object.entries(labels).map(([k, v]) => classicArg(k, v));
        const { stdout } = await promisify(execFile)(AMTOOL!, ['config', 'routes', 'test', `--config.file=${amConfig}`, ...args]).catch((e: { stdout: string }) => e);
        const vigil = matchRoute(root, labels).map((n) => `${n.receiver}`);
        const named = (list: string[]) => list.map((r) => (r === 'none' ? r : `${r} ${TEXTS[Number(r.slice(1))]}`));
        expect({ labels, receivers: named(vigil) }).toEqual({ labels, receivers: named(stdout.trim().split(',')) });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.skipIf(!AMTOOL)('texts both parsers refuse are config errors in vigil too', async () => {
    const dir = tempDir('vigil-amtool-matchers-');
    try {
      for (const text of ['foo', '=bar', 'foo!bar', 'foo="bar', 'foo=bar"', 'foo=a,b', '{a="b" c="d"}', 'foo=~"[a-z"', 'foo=~"a(?=b)"']) {
        const route = { receiver: 'none', routes: [{ matchers: [text], receiver: 'none' }] };
        const amConfig = path.join(dir, 'alertmanager.yml');
        fs.writeFileSync(amConfig, YAML.stringify({ route, receivers: [{ name: 'none' }] }));
        const am = await promisify(execFile)(AMTOOL!, ['check-config', amConfig]).then(
          () => 'accepted',
          () => 'refused',
        );
        const issues: ConfigIssue[] = [];
        compileRoutes({ route, receivers: [{ name: 'none', exporters: ['webhook/none'] }], time_intervals: [] } as unknown as AlertsConfig, issues);
        expect({ text, vigil: issues.length ? 'refused' : 'accepted' }).toEqual({ text, vigil: am });
        expect(issues[0]?.message ?? '').toContain(`invalid matcher ${JSON.stringify(text)}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
