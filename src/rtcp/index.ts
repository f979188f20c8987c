export * from './types.js';
export * from './reader.js';
export * from './parse.js';
export * from './homer.js';
export * from './rtt.js';
