/**
 * The I/O layer: safetensors, HF config.json, tokenizers. Browser-safe; the functions that
 * read and write files (loadSafetensors, saveSafetensors, loadConfig, loadTokenizer) are in `./node.js`.
 */
export * from './safetensors.js';
export { halfToFloatBits, floatToHalfBits, bfloat16ToFloatBits, floatToBfloat16Bits } from './float-bits.js';
export * from './config.js';
export * from './config-presets.js';
export * from './tokenizer.js';
export * from './tokenizer-schema.js';
export * from './wordpiece.js';
