// `pytor daemon` as a child process for tests: always --no-dht, peers and RPC on 127.0.0.1,
// ports chosen by the system and read back from its ready line; driven with the real
// transmission-remote and with raw JSON requests (node:http, no keep-alive left open).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { PYTOR_ENTRY } from '../helpers/cli.js';
import { spawnManaged, type ExitInfo, type ManagedProcess } from '../interop/harness/process.js';

export const TR_BIN = '/usr/bin/transmission-remote';
export const READY = /^pytor daemon: RPC on http:\/\/127\.0\.0\.1:(\d+)\/transmission\/rpc, peers on port (\d+)$/;

export interface TrRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DaemonProc {
  readonly proc: ManagedProcess;
  readonly rpcPort: number;
  readonly peerPort: number;
  /** Runs transmission-remote against this daemon; never rejects. */
  tr(...args: string[]): Promise<TrRun>;
  /** One RPC call (with the session-id handshake); resolves with the whole reply. */
  rpc(method: string, args?: Record<string, unknown>): Promise<{ result: string; arguments: any }>;
  /** Bytes the daemon has read so far (rchar of /proc/<pid>/io). */
  readBytes(): number;
  /** Resident memory now, bytes (VmRSS). */
  rssBytes(): number;
  /** SIGTERM, then waits; SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** SIGKILL now (a crash). */
  kill(): Promise<ExitInfo>;
}

export interface DaemonStart {
  readonly stateDir: string;
  /** Left out: no --download-dir (the saved setting or the default). */
  readonly downloadDir?: string;
  /** A HOME for transmission-remote (it may write its own config there). */
  readonly home: string;
  readonly extra?: readonly string[];
}

export async function startDaemon(opts: DaemonStart): Promise<DaemonProc> {
  const env = { ...process.env };
  delete env.DEBUG;
  env.PYTOR_DHT_BOOTSTRAP = '';
  let ready: RegExpExecArray | null = null;
  const proc = await spawnManaged({
    name: 'pytor-daemon',
    cmd: process.execPath,
    args: [
      PYTOR_ENTRY,
      'daemon',
      '--rpc-port',
      '0',
      '--rpc-bind',
      '127.0.0.1',
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--no-dht',
      '--state-dir',
      opts.stateDir,
      ...(opts.downloadDir === undefined ? [] : ['--download-dir', opts.downloadDir]),
      ...(opts.extra ?? []),
    ],
    env,
    readyLine: READY,
    readyTimeoutMs: 30_000,
    hardTimeoutMs: 300_000,
    onStdoutLine: (line) => (ready ??= READY.exec(line)),
  });
  if (!ready) {
    await proc.stop();
    throw new Error(`pytor daemon: no ready line\n${proc.output()}`);
  }
  const rpcPort = Number((ready as RegExpExecArray)[1]);
  const peerPort = Number((ready as RegExpExecArray)[2]);
  let sessionId = '';

  const post = (body: string): Promise<{ status: number; id: string | undefined; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: rpcPort, path: '/transmission/rpc', method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'X-Transmission-Session-Id': sessionId } },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, id: res.headers['x-transmission-session-id'] as string | undefined, text }));
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('RPC request timed out')));
      req.on('error', reject);
      req.end(body);
    });

  return {
    proc,
    rpcPort,
    peerPort,
    tr: (...args) =>
      new Promise((resolve) => {
        execFile(TR_BIN, [`127.0.0.1:${rpcPort}`, ...args], { timeout: 30_000, env: { ...process.env, HOME: opts.home }, encoding: 'utf8' }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : -1) : 0;
          resolve({ code, stdout, stderr });
        });
      }),
    async rpc(method, args = {}) {
      const body = JSON.stringify({ method, arguments: args });
      let r = await post(body);
      if (r.status === 409 && r.id) {
        sessionId = r.id;
        r = await post(body);
      }
      if (r.status !== 200) throw new Error(`RPC ${method}: HTTP ${r.status} ${r.text}`);
      return JSON.parse(r.text) as { result: string; arguments: any };
    },
    readBytes() {
      const m = /^rchar: (\d+)$/m.exec(readFileSync(`/proc/${proc.pid}/io`, 'utf8'));
      if (!m) throw new Error('no rchar in /proc/<pid>/io');
      return Number(m[1]);
    },
    rssBytes() {
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      if (!m) throw new Error('no VmRSS in /proc/<pid>/status');
      return Number(m[1]) * 1024;
    },
    stop: (graceMs = 10_000) => proc.stop(graceMs),
    async kill() {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
      return proc.stop(100);
    },
  };
}

/** `-l` rows as objects (ID, Done, Have, ETA, Up, Down, Ratio, Status, Name). */
export function parseList(stdout: string): Record<string, string>[] {
  const lines = stdout.split('\n');
  const header = lines.findIndex((l) => /^\s+ID\s+Done\s+Have\s+ETA\s+Up\s+Down\s+Ratio\s+Status\s+Name/.test(l));
  if (header < 0) throw new Error(`no -l header in:\n${stdout}`);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(header + 1)) {
    if (line.startsWith('Sum:') || line.trim() === '') continue;
    const m = /^\s*(\d+)(\*?)\s+(\S+%|n\/a)\s+(.+?)\s{2,}(\S+(?: \S+)?)\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s+(Up & Down|Will Verify|\S+(?: \(\d+%\))?)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unparsed -l line: ${JSON.stringify(line)}`);
    rows.push({ id: m[1]!, error: m[2]!, done: m[3]!, have: m[4]!, eta: m[5]!, up: m[6]!, down: m[7]!, ratio: m[8]!, status: m[9]!, name: m[10]! });
  }
  return rows;
}

/** The value after `label:` in transmission-remote's -i output. */
export function field(stdout: string, label: string): string {
  const m = new RegExp(`^\\s*${label}:\\s*(.*)$`, 'm').exec(stdout);
  if (!m) throw new Error(`no "${label}:" in:\n${stdout}`);
  return m[1]!.trim();
}

/** Polls `check` every 100 ms until it is true or `ms` pass. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
