// Reads the GPS position from a JPEG's EXIF block (APP1 "Exif", TIFF IFD0 → GPS IFD), so the
// map page can check a dropped photo where it says it was taken. Returns { lat, lon } in degrees
// or undefined when there is no usable position. Pure: also runs in Node for its tests.

const GPS_IFD_POINTER = 0x8825;
const TYPE_SIZES = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };

/** @param {ArrayBuffer} buffer */
export function readExifGps(buffer) {
  const v = new DataView(buffer);
  if (v.byteLength < 4 || v.getUint16(0) !== 0xffd8) return undefined; // not a JPEG
  let p = 2;
  while (p + 4 <= v.byteLength) {
    if (v.getUint8(p) !== 0xff) return undefined;
    const marker = v.getUint8(p + 1);
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image / start of scan: no EXIF before the data
    const len = v.getUint16(p + 2);
    if (marker === 0xe1 && len >= 8 && p + 2 + len <= v.byteLength && v.getUint32(p + 4) === 0x45786966 /* "Exif" */) {
      return parseTiff(v, p + 10, len - 8);
    }
    p += 2 + len;
  }
  return undefined;
}

function parseTiff(v, start, length) {
  const end = start + length;
  if (length < 8) return undefined;
  const order = v.getUint16(start);
  if (order !== 0x4949 && order !== 0x4d4d) return undefined;
  const le = order === 0x4949;
  const u16 = (o) => (o + 2 <= end ? v.getUint16(o, le) : NaN);
  const u32 = (o) => (o + 4 <= end ? v.getUint32(o, le) : NaN);
  const entries = (ifd) => {
    const at = start + ifd;
    const n = u16(at);
    if (!Number.isFinite(n) || n > 1000) return [];
    const out = [];
    for (let i = 0; i < n; i++) {
      const e = at + 2 + i * 12;
      if (e + 12 > end) break;
      out.push({ tag: u16(e), type: u16(e + 2), count: u32(e + 4), at: e + 8 });
    }
    return out;
  };
  const gpsEntry = entries(u32(start + 4)).find((e) => e.tag === GPS_IFD_POINTER);
  if (!gpsEntry) return undefined;
  const gps = new Map(entries(u32(gpsEntry.at)).map((e) => [e.tag, e]));
  const valueAt = (e) => ((TYPE_SIZES[e.type] ?? 1) * e.count > 4 ? start + u32(e.at) : e.at);
  const ascii = (e) => (e ? String.fromCharCode(v.getUint8(valueAt(e))) : "");
  const rationals = (e) => {
    if (!e || e.type !== 5 || e.count < 3) return undefined;
    const o = valueAt(e);
    if (o + 24 > end) return undefined;
    const r = [0, 1, 2].map((i) => u32(o + 8 * i) / u32(o + 8 * i + 4));
    return r.every(Number.isFinite) ? r[0] + r[1] / 60 + r[2] / 3600 : undefined;
  };
  let lat = rationals(gps.get(2));
  let lon = rationals(gps.get(4));
  if (lat === undefined || lon === undefined) return undefined;
  if (ascii(gps.get(1)) === "S") lat = -lat;
  if (ascii(gps.get(3)) === "W") lon = -lon;
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) return undefined;
  return { lat, lon };
}
