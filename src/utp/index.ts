export * from './errors.js';
export * from './packet.js';
export * from './rtt.js';
export * from './congestion.js';
export * from './connection.js';
export * from './stream.js';
export * from './socket.js';
