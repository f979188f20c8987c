export * from './codecs.js';
export * from './emodel.js';
export * from './delay.js';
