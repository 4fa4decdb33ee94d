// Sizes, rates and durations as people type them on the command line.
//
// Units are binary everywhere, as BitTorrent clients display them and as aria2 reads them:
// K = KiB = 1024 bytes, M = MiB, G = GiB. `KB`/`kB`/`KiB` all mean 1024 too (a rate limit
// does not need the 2.4% between kB and KiB, and one meaning is easier to remember).
// Case does not matter; a trailing `/s` on a rate is allowed.
import { InvalidArgumentError } from 'commander';
import ms from 'ms';

const MULTIPLIERS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Largest size or rate accepted: 1 PiB (well inside exact integer arithmetic). */
export const MAX_BYTES = 1024 ** 5;
/** Longest duration accepted: 100 years. */
export const MAX_DURATION_MS = 100 * 365.25 * 86_400_000;

/**
 * '500K' | '2M' | '1.5MiB' | '800k' | '1g' | '4096' | '0' -> bytes. Fractions are allowed and
 * rounded to whole bytes. Throws commander's InvalidArgumentError (so it is usable directly
 * as an option parser) saying what is accepted.
 */
export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgt])(?:i?b)?|(b))?$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`"${text}" is not a size (e.g. 4096, 500K, 2M, 1.5MiB, 1G)`);
  const unit = (m[2] ?? m[3] ?? '').toLowerCase();
  const bytes = Math.round(Number(m[1]) * MULTIPLIERS[unit]!);
  if (!Number.isFinite(bytes) || bytes > MAX_BYTES) throw new InvalidArgumentError(`"${text}" is larger than 1 PiB`);
  return bytes;
}

/**
 * A rate in bytes per second: '500K', '2M', '1.5MiB', '800k/s', '0'. 0 means unlimited; a
 * non-zero rate below 1 byte/s is refused (it would round to unlimited).
 */
export function parseRate(text: string): number {
  const bare = text.trim().replace(/\s*\/\s*s$/i, '');
  let bytes: number;
  try {
    bytes = parseBytes(bare);
  } catch {
    throw new InvalidArgumentError(`"${text}" is not a rate (bytes per second, e.g. 500K, 2M, 1.5MiB; 0 for no limit)`);
  }
  if (bytes === 0 && Number(bare.replace(/[^\d.]/g, '')) !== 0) {
    throw new InvalidArgumentError(`"${text}" is less than 1 byte per second (0 means no limit)`);
  }
  return bytes;
}

/**
 * '90s' | '30m' | '2h' | '1d' | '1w' | '1.5h' | '2 days' -> milliseconds, with the `ms`
 * package's units (s, m, h, d, w, y and their long names; m is minutes). A bare number is
 * seconds, like the other time options of pytor (--timeout). Negative durations are refused.
 */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(t)) return checkDuration(Number(t) * 1000, text);
  // ms() takes months as nothing and 'ms' as milliseconds; a leading '-' would be accepted.
  let value: number | undefined;
  try {
    value = t.startsWith('-') ? undefined : (ms(t as ms.StringValue) as number | undefined);
  } catch {
    value = undefined; // ms() throws on an empty string
  }
  if (value === undefined || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`"${text}" is not a duration (e.g. 90s, 30m, 2h, 1d; a bare number is seconds)`);
  }
  return checkDuration(value, text);
}

function checkDuration(value: number, text: string): number {
  if (!(value >= 0)) throw new InvalidArgumentError(`"${text}" is negative`);
  if (value > MAX_DURATION_MS) throw new InvalidArgumentError(`"${text}" is longer than 100 years`);
  return Math.round(value);
}
