// Small helpers the bench files share: sizes, medians, formatting, env parsing, and the
// flags that keep every pytor command on loopback.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(s);
  if (!m) throw new Error(`SIZE: cannot parse ${JSON.stringify(s)} (try 256M or 1G)`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`SIZE: ${s} is not a positive size`);
  return n;
}

/** 268435456 -> "256M", 1073741824 -> "1G". */
export function sizeLabel(n: number): string {
  if (n % 2 ** 30 === 0) return `${n / 2 ** 30}G`;
  if (n % 2 ** 20 === 0) return `${n / 2 ** 20}M`;
  if (n % 2 ** 10 === 0) return `${n / 2 ** 10}K`;
  return String(n);
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

export function tail(s: string, n = 1500): string {
  return s.length > n ? '…' + s.slice(-n) : s;
}

export function envInt(name: string, def: number, min: number, max: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: want an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

export function envList(name: string, def: string): string[] {
  return (process.env[name] ?? def)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const PYTOR_BIN = path.resolve(process.cwd(), 'bin', 'pytor.js');

/**
 * Node flags for every pytor process the bench starts: those of bin/pytor.js's own `#!` line
 * (what a user's shell runs), then PYTOR_NODE_ARGS (space-separated), to try a runtime setting
 * without changing pytor, e.g. `--max-semi-space-size=1`.
 */
export function pytorNodeArgs(): string[] {
  return [...shebangNodeFlags(readFileSync(PYTOR_BIN, 'utf8')), ...(process.env.PYTOR_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)];
}

/** The node flags of a `#!/usr/bin/env -S node --flag ...` line ([] for a plain `#!... node`). */
export function shebangNodeFlags(script: string): string[] {
  const first = script.split('\n', 1)[0] ?? '';
  const m = /^#!\S*env\s+(?:-S\s+)?node((?:\s+--?\S+)*)\s*$/.exec(first);
  return m ? m[1]!.split(/\s+/).filter(Boolean) : [];
}

const loopbackFlags = new Map<string, string[]>();

/**
 * Flags every pytor command of the bench gets so that it only ever talks to loopback:
 * `--no-dht` once `pytor <command> --help` lists it (DHT is to become on by default).
 * Probed once per command per bench run.
 */
export function pytorLoopbackFlags(command: 'download' | 'seed'): string[] {
  const known = loopbackFlags.get(command);
  if (known) return known;
  const r = spawnSync(process.execPath, [PYTOR_BIN, command, '--help'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`pytor ${command} --help failed (${r.status ?? r.signal}): ${r.stderr}`);
  let flags: string[] = [];
  if (/--no-dht\b/.test(r.stdout)) flags = ['--no-dht'];
  // A DHT we cannot switch off would contact public routers: refuse rather than leak.
  else if (/\bdht\b/i.test(r.stdout)) throw new Error(`pytor ${command} --help mentions a DHT but lists no --no-dht: the bench must stay on loopback`);
  loopbackFlags.set(command, flags);
  return flags;
}
