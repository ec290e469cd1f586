// Data layer: tokenizer (byte-level BPE), shipped data sets, batchers, metrics. Independent of the tensor engine.
// Everything except ./load.js (Node file access) also runs in the browser.
export * from './bpe.js';
export * from './datasets.js';
export * from './metrics.js';
export * from './load.js';
export * from './text.js';
