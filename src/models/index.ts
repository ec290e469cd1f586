export * from './hooks.js';
export * from './params.js';
export * from './attention.js';
export * from './cache.js';
export * from './checkpoint.js';
export * from './gpt2.js';
export * from './generate.js';
export * from './bert.js';
export { ModelInputError } from './common.js';
