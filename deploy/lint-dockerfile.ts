#!/usr/bin/env node
// Lints a Dockerfile without a Docker engine: the instruction-level checks of `dockerfile-utils` (syntax,
// flags, durations, deprecated instructions: every diagnostic fails), plus checks that need the build
// context and a view across stages:
//   - `COPY --from=<stage>` names a stage defined earlier;
//   - every plain COPY/ADD source exists in the build context and is not excluded by .dockerignore;
//   - EXPOSE ports are integers in 1..65535 (optionally /tcp or /udp);
//   - the final stage runs as a non-root USER (and a numeric one, so Kubernetes' runAsNonRoot can check
//     it), has a HEALTHCHECK, installs production dependencies only (`npm ci --omit=dev`, never
//     `npm install`), and uses the exec (JSON) form for ENTRYPOINT and CMD so signals reach node.
//
//   node --import tsx deploy/lint-dockerfile.ts [Dockerfile] [context dir]   (exit 1 with one line per problem)
import fs from 'node:fs';
import path from 'node:path';
import * as dockerfileUtils from 'dockerfile-utils';

export interface Instruction {
  /** 1-based line of the instruction's first line. */
  line: number;
  keyword: string;
  args: string;
}

export interface LintProblem {
  line: number;
  message: string;
}

/** Instructions with their 1-based first line, continuation lines joined, comments dropped. */
export function parseInstructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (!buf && (trimmed === '' || trimmed.startsWith('#'))) continue;
    if (buf && trimmed.startsWith('#')) continue; // comment inside a continuation
    if (!buf) start = i + 1;
    if (trimmed.endsWith('\\')) {
      buf += trimmed.slice(0, -1) + ' ';
      continue;
    }
    buf += trimmed;
    const m = /^(\S+)\s*(.*)$/.exec(buf);
    if (m) out.push({ line: start, keyword: m[1]!.toUpperCase(), args: m[2]! });
    buf = '';
  }
  if (buf.trim()) {
    const m = /^(\S+)\s*(.*)$/.exec(buf.trim());
    if (m) out.push({ line: start, keyword: m[1]!.toUpperCase(), args: m[2]! });
  }
  return out;
}

/** Splits `--flag=value` options off the front of an instruction's arguments. */
function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    if (!m) break;
    flags[m[1]!] = m[2] ?? '';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

function words(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const arr: unknown = JSON.parse(t);
      if (Array.isArray(arr)) return arr.map(String);
    } catch {
      /* shell form after all */
    }
  }
  return t.split(/\s+/).filter(Boolean);
}

/** A .dockerignore as a predicate over context-relative paths (last matching pattern wins, `!` re-includes). */
export function dockerignoreMatcher(text: string): (rel: string) => boolean {
  const rules: { negate: boolean; re: RegExp }[] = [];
  for (let line of text.split(/\r?\n/)) {
    line = line.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = line.replace(/^\/+/, '').replace(/\/+$/, '');
    let re = '';
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === '*' && line[i + 1] === '*') {
        re += '.*';
        i++;
        if (line[i + 1] === '/') i++;
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    rules.push({ negate, re: new RegExp(`^${re}$`) });
  }
  return (rel: string) => {
    const parts = rel.split('/').filter((p) => p && p !== '.');
    let excluded = false;
    // a path is excluded when it or one of its parent folders matches
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      for (const r of rules) if (r.re.test(prefix)) excluded = !r.negate;
    }
    return excluded;
  };
}

/**
 * Every problem found in `text` (a Dockerfile), each `{ line, message }`. `contextDir` (optional) is the
 * build context used to check COPY/ADD sources.
 */
export function lintDockerfile(text: string, contextDir?: string): LintProblem[] {
  const problems: LintProblem[] = [];
  const W = dockerfileUtils.ValidationSeverity.WARNING;
  const settings: dockerfileUtils.ValidatorSettings = {
    deprecatedMaintainer: W, directiveCasing: W, emptyContinuationLine: W, instructionCasing: W,
    instructionCmdMultiple: W, instructionEntrypointMultiple: W, instructionHealthcheckMultiple: W,
    instructionJSONInSingleQuotes: W, instructionWorkdirRelative: W,
  };
  for (const d of dockerfileUtils.validate(text, settings)) {
    problems.push({ line: d.range.start.line + 1, message: `${d.severity === 1 ? 'error' : 'warning'}: ${d.message}` });
  }
  const ins = parseInstructions(text);
  const ignored = contextDir && fs.existsSync(path.join(contextDir, '.dockerignore'))
    ? dockerignoreMatcher(fs.readFileSync(path.join(contextDir, '.dockerignore'), 'utf8'))
    : (_rel: string) => false;

  const stages: { name: string | undefined; from: string | undefined; line: number; instructions: Instruction[] }[] = [];
  for (const i of ins) {
    if (i.keyword === 'FROM') {
      const { rest } = splitFlags(i.args);
      const w = words(rest);
      const name = w.length >= 3 && w[1]!.toUpperCase() === 'AS' ? w[2]!.toLowerCase() : undefined;
      stages.push({ name, from: w[0], line: i.line, instructions: [] });
      continue;
    }
    if (!stages.length) {
      if (i.keyword !== 'ARG') problems.push({ line: i.line, message: `${i.keyword} before the first FROM` });
      continue;
    }
    const stage = stages[stages.length - 1]!;
    stage.instructions.push(i);
    if (i.keyword === 'COPY' || i.keyword === 'ADD') {
      const { flags, rest } = splitFlags(i.args);
      const w = words(rest);
      if (w.length < 2) {
        problems.push({ line: i.line, message: `${i.keyword} needs at least one source and a destination` });
        continue;
      }
      const sources = w.slice(0, -1);
      if (flags.from !== undefined) {
        const ref = flags.from.toLowerCase();
        const earlier = stages.slice(0, -1);
        const known = earlier.some((s) => s.name === ref) || (/^\d+$/.test(ref) && Number(ref) < stages.length - 1);
        if (!known && !ref.includes(':') && !ref.includes('/')) {
          problems.push({ line: i.line, message: `COPY --from=${flags.from} names no earlier build stage` });
        }
      } else if (contextDir) {
        for (const src of sources) {
          if (/^https?:\/\//.test(src) || /[*?[]/.test(src)) continue;
          const rel = path.posix.normalize(src.replace(/^\/+/, ''));
          if (!fs.existsSync(path.join(contextDir, rel))) {
            problems.push({ line: i.line, message: `${i.keyword} source "${src}" does not exist in the build context` });
          } else if (ignored(rel)) {
            problems.push({ line: i.line, message: `${i.keyword} source "${src}" is excluded by .dockerignore` });
          }
        }
      }
    }
    if (i.keyword === 'EXPOSE') {
      for (const p of words(i.args)) {
        const m = /^(\d+)(?:\/(tcp|udp))?$/i.exec(p);
        if (p.startsWith('$')) continue;
        if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) problems.push({ line: i.line, message: `EXPOSE "${p}" is not a port in 1..65535` });
      }
    }
  }
  if (!stages.length) {
    problems.push({ line: 1, message: 'no FROM instruction' });
    return problems.sort((a, b) => a.line - b.line);
  }

  const final = stages[stages.length - 1]!;
  const kw = (k: string) => final.instructions.filter((i) => i.keyword === k);
  const users = kw('USER');
  if (!users.length) {
    problems.push({ line: final.line, message: 'the final stage has no USER: it would run as root' });
  } else {
    const u = users[users.length - 1]!;
    const name = u.args.trim().split(':')[0] ?? '';
    if (name === 'root' || name === '0') problems.push({ line: u.line, message: 'the final stage runs as root' });
    else if (!/^\d+$/.test(name)) problems.push({ line: u.line, message: `USER "${name}" is not numeric: Kubernetes runAsNonRoot cannot verify a user name` });
  }
  if (!kw('HEALTHCHECK').some((h) => !/^NONE\b/i.test(h.args.trim()))) {
    problems.push({ line: final.line, message: 'the final stage has no HEALTHCHECK' });
  }
  for (const r of kw('RUN')) {
    if (/\bnpm\s+(install|i)\b/.test(r.args)) problems.push({ line: r.line, message: 'use "npm ci --omit=dev" (from the lock file) in the runtime stage, not npm install' });
    if (/\bnpm\s+ci\b/.test(r.args) && !/--omit=dev|--only=prod/.test(r.args)) problems.push({ line: r.line, message: 'npm ci in the runtime stage must omit dev dependencies (--omit=dev)' });
  }
  for (const k of ['ENTRYPOINT', 'CMD']) {
    for (const i of kw(k)) {
      if (!i.args.trim().startsWith('[')) problems.push({ line: i.line, message: `${k} in shell form: signals go to /bin/sh, not to node; use the JSON form` });
    }
  }
  if (!kw('ENTRYPOINT').length && !kw('CMD').length) problems.push({ line: final.line, message: 'the final stage has neither ENTRYPOINT nor CMD' });
  return problems.sort((a, b) => a.line - b.line);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] ?? 'deploy/Dockerfile';
  const context = process.argv[3] ?? '.';
  const problems = lintDockerfile(fs.readFileSync(file, 'utf8'), context);
  for (const p of problems) console.log(`${file}:${p.line}: ${p.message}`);
  if (problems.length) process.exit(1);
  console.log(`${file}: no problems`);
}
