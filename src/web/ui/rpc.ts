// The one API the page uses: Transmission's RPC on the same origin, with the
// X-Transmission-Session-Id handshake (a 409 carries the id to resend with). The browser sends
// the HTTP Basic login it asked the person for, as for the page itself.

export const RPC_URL = '/transmission/rpc';
const SESSION_HEADER = 'X-Transmission-Session-Id';

export class RpcError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class Rpc {
  private sessionId: string;

  constructor(initialSessionId = '') {
    this.sessionId = initialSessionId;
  }

  async call<T = Record<string, unknown>>(method: string, args: Record<string, unknown> = {}): Promise<T> {
    const body = JSON.stringify({ method, arguments: args });
    // A second try after the 409 that hands out (or renews, after a daemon restart) the id.
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await fetch(RPC_URL, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [SESSION_HEADER]: this.sessionId },
        body,
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (res.status === 409) {
        this.sessionId = res.headers.get(SESSION_HEADER) ?? '';
        continue;
      }
      if (!res.ok) throw new RpcError(`${method}: HTTP ${res.status} ${(await res.text()).slice(0, 200).trim()}`, res.status);
      const json = (await res.json()) as { result?: string; arguments?: T };
      if (json.result !== 'success') throw new RpcError(`${method}: ${json.result ?? 'no result'}`);
      return (json.arguments ?? {}) as T;
    }
    throw new RpcError(`${method}: the server kept refusing the session id`);
  }
}
