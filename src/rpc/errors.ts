/**
 * A request argument that is missing, of the wrong type or out of range. Its message is the
 * RPC `result` the client sees (`invalid argument "ids": ...`), so it names the argument.
 */
export class RpcArgumentError extends Error {
  readonly code = 'ERPC_ARGUMENT';
  /** The offending argument, as the client spelt it (`files-wanted`, `ids[3]`). */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`invalid argument "${field}": ${problem}`);
    this.name = 'RpcArgumentError';
    this.field = field;
  }
}

/** A server option that cannot be honoured (e.g. a public address without auth). */
export class RpcConfigError extends Error {
  readonly code = 'ERPC_CONFIG';
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`rpc: ${field}: ${problem}`);
    this.name = 'RpcConfigError';
    this.field = field;
  }
}
