/**
 * Bit-exact conversions between the narrow float formats found in checkpoints (IEEE half, bfloat16, FP8) and f32.
 * Everything works on raw bit patterns (Uint16/Uint32), never through JS numbers, so NaN payloads, -0 and
 * subnormals survive. Narrowing rounds to nearest, ties to even, as PyTorch's `.half()` / `.bfloat16()` do.
 */

/** f16 bits → f32 bits. Exact: every half is representable as a float. */
export function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // ±inf, NaN (payload kept)
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0; // ±0
  // Subnormal half: shift the mantissa up until its leading 1 becomes the implicit bit.
  let e = 113;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

/** f32 bits → f16 bits, round to nearest even; overflow → ±inf; NaN stays NaN (quiet). */
export function floatToHalfBits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff;
  const mantissa = f & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0);
  const e = exponent - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    const full = mantissa | 0x800000; // value = full · 2^(exponent-150); a half subnormal unit is 2^-24
    const shift = 14 - e;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (rest > midpoint || (rest === midpoint && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // a carry may roll into inf: correct
  return sign | half;
}

/** bf16 bits → f32 bits: bfloat16 is the top half of a float. */
export function bfloat16ToFloatBits(b: number): number {
  return (b << 16) >>> 0;
}

/** f32 bits → bf16 bits, round to nearest even; NaN stays NaN (quiet bit set). */
export function floatToBfloat16Bits(f: number): number {
  if ((f & 0x7fffffff) >>> 0 > 0x7f800000) return ((f >>> 16) | 0x40) & 0xffff;
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

/** FP8 E4M3 ("fn": no infinities, 0x7f/0xff are NaN) → f32 bits. */
export function fp8e4m3ToFloatBits(byte: number): number {
  const negative = (byte & 0x80) !== 0;
  const exponent = (byte >>> 3) & 0xf;
  const mantissa = byte & 0x7;
  let value: number;
  if (exponent === 0xf && mantissa === 0x7) value = NaN;
  else if (exponent === 0) value = (mantissa / 8) * 2 ** -6;
  else value = (1 + mantissa / 8) * 2 ** (exponent - 7);
  scratch[0] = negative ? -value : value;
  return scratchBits[0];
}

/** FP8 E5M2 is the top byte of an IEEE half. */
export function fp8e5m2ToFloatBits(byte: number): number {
  return halfToFloatBits(byte << 8);
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

let halfTable: Uint32Array | null = null;
/** All 65536 halves as f32 bits, built on first use (256 KiB). */
function halfToFloatTable(): Uint32Array {
  if (halfTable === null) {
    halfTable = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloatBits(h);
  }
  return halfTable;
}

/** Decode little-endian f16 values into a new Float32Array. */
export function decodeHalf(halves: Uint16Array): Float32Array {
  const table = halfToFloatTable();
  const out = new Float32Array(halves.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) outBits[i] = table[halves[i]];
  return out;
}

/** Decode little-endian bf16 values into a new Float32Array. */
export function decodeBfloat16(values: Uint16Array): Float32Array {
  const out = new Float32Array(values.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < values.length; i++) outBits[i] = values[i] << 16;
  return out;
}

/** Decode FP8 bytes (E4M3 or E5M2) into a new Float32Array. */
export function decodeFp8(bytes: Uint8Array, format: 'E4M3' | 'E5M2'): Float32Array {
  const convert = format === 'E4M3' ? fp8e4m3ToFloatBits : fp8e5m2ToFloatBits;
  const table = new Uint32Array(256);
  for (let b = 0; b < 256; b++) table[b] = convert(b);
  const out = new Float32Array(bytes.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bytes.length; i++) outBits[i] = table[bytes[i]];
  return out;
}

/** Narrow f32 values to f16 or bf16 bit patterns. */
export function encodeNarrowFloats(values: Float32Array, format: 'F16' | 'BF16'): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  const narrow = format === 'F16' ? floatToHalfBits : floatToBfloat16Bits;
  for (let i = 0; i < values.length; i++) out[i] = narrow(bits[i]);
  return out;
}
