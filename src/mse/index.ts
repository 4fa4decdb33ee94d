export * from './errors.js';
export * from './rc4.js';
export * from './dh.js';
export * from './handshake.js';
export * from './stream.js';
export * from './negotiate.js';
