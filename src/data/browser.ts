// The browser-safe part of the data layer (everything but ./load.js's file access).
export * from './bpe.js';
export * from './datasets.js';
export * from './metrics.js';
export * from './text.js';
