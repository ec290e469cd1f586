/**
 * A zip archive of stored (uncompressed) files — what a browser needs to hand over an adapter folder in one
 * download. PKWARE APPNOTE 4.3: a local header + data per file, then the central directory and its end record;
 * CRC-32 (IEEE, reflected 0xEDB88320) of each file. No compression, no zip64 (files and archive under 4 GiB).
 */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** name → bytes, in order, under `folder/` (the folder a user unpacks and hands to `webpeft eval --adapter`). */
export function zipStored(files: Record<string, Uint8Array>, folder: string): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  // DOS time/date fields: 1980-01-01 00:00 (fixed, so the same files give the same archive)
  const time = 0, date = (0 << 9) | (1 << 5) | 1;
  for (const [name, data] of Object.entries(files)) {
    const path = enc.encode(`${folder}/${name}`);
    const crc = crc32(data);
    if (data.length >= 0xffffffff) throw new Error(`zip: ${name} is 4 GiB or more (no zip64 here)`);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true); // local file header signature
    local.setUint16(4, 20, true); // version needed: 2.0
    local.setUint16(6, 0x0800, true); // flags: names are UTF-8
    local.setUint16(8, 0, true); // method: stored
    local.setUint16(10, time, true);
    local.setUint16(12, date, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, data.length, true); // compressed size
    local.setUint32(22, data.length, true); // uncompressed size
    local.setUint16(26, path.length, true);
    local.setUint16(28, 0, true); // extra field length
    const entry = new DataView(new ArrayBuffer(46));
    entry.setUint32(0, 0x02014b50, true); // central directory header signature
    entry.setUint16(4, 20, true); // version made by
    entry.setUint16(6, 20, true);
    entry.setUint16(8, 0x0800, true);
    entry.setUint16(10, 0, true);
    entry.setUint16(12, time, true);
    entry.setUint16(14, date, true);
    entry.setUint32(16, crc, true);
    entry.setUint32(20, data.length, true);
    entry.setUint32(24, data.length, true);
    entry.setUint16(28, path.length, true);
    // extra, comment, disk number, internal and external attributes: 0
    entry.setUint32(42, offset, true); // where the local header starts
    parts.push(new Uint8Array(local.buffer), path, data);
    central.push(new Uint8Array(entry.buffer), path);
    offset += 30 + path.length + data.length;
  }
  const centralSize = central.reduce((n, p) => n + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true); // end of central directory signature
  const count = Object.keys(files).length;
  end.setUint16(8, count, true);
  end.setUint16(10, count, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  const all = [...parts, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) { out.set(p, at); at += p.length; }
  return out;
}

/**
 * The files of a zip of stored entries (what zipStored writes, or `zip -0`), by name. A compressed entry is an error
 * asking for the unpacked files instead (this page carries no inflater).
 */
export function unzipStored(bytes: Uint8Array, fileName = 'archive.zip'): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--; // the end record may carry a comment
  if (end < 0) throw new Error(`${fileName}: not a zip archive (no end of central directory record)`);
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) throw new Error(`${fileName}: central directory entry ${i} is damaged`);
    const method = view.getUint16(at + 10, true), crc = view.getUint32(at + 16, true), size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true), local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    if (name.endsWith('/')) continue; // a folder entry
    if (method !== 0) throw new Error(`${fileName}: ${name} is compressed (method ${method}); unpack the archive and pick its files instead`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = bytes.subarray(start, start + size);
    if (data.length !== size || crc32(data) !== crc) throw new Error(`${fileName}: ${name} is damaged (size or CRC-32 does not match)`);
    files.set(name, data);
  }
  return files;
}
