/** A failure the CLI reports as one line; `exitCode` defaults to 1. */
export class CliError extends Error {
  readonly code = 'ECLI';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit codes, as the README lists them. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  interrupted: 130,
} as const;
