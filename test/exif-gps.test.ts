/** The map page's EXIF GPS reader (web/exif-gps.js), run in Node on photos written by sharp. */
import assert from "node:assert/strict";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, test } from "node:test";
import sharp from "sharp";

type Reader = (b: ArrayBuffer) => { lat: number; lon: number } | undefined;
const { readExifGps } = (await import(pathToFileURL(path.resolve("web/exif-gps.js")).href)) as { readExifGps: Reader };

const base = () => sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 140, b: 60 } } });
const bytes = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

describe("EXIF GPS in the map page", () => {
  test("reads degrees/minutes/seconds with their hemispheres", async () => {
    for (const [latRef, lonRef, sign] of [
      ["N", "W", [1, -1]],
      ["S", "E", [-1, 1]],
    ] as const) {
      const jpeg = await base()
        .withExif({
          IFD3: { GPSLatitudeRef: latRef, GPSLatitude: "47/1 1/1 12/1", GPSLongitudeRef: lonRef, GPSLongitude: "99/1 9/1 3000/100" },
        })
        .jpeg()
        .toBuffer();
      const gps = readExifGps(bytes(jpeg));
      assert.ok(gps);
      assert.ok(Math.abs(gps.lat - sign[0] * (47 + 1 / 60 + 12 / 3600)) < 1e-9, `${gps.lat}`);
      assert.ok(Math.abs(gps.lon - sign[1] * (99 + 9 / 60 + 30 / 3600)) < 1e-9, `${gps.lon}`);
    }
  });

  test("no GPS, no EXIF, not a JPEG, or a truncated file: undefined, never a throw", async () => {
    const plain = await base()
      .withExif({ IFD0: { Artist: "someone" } })
      .jpeg()
      .toBuffer();
    assert.equal(readExifGps(bytes(plain)), undefined);
    assert.equal(readExifGps(bytes(await base().jpeg().toBuffer())), undefined);
    assert.equal(readExifGps(bytes(await base().png().toBuffer())), undefined);
    const gps = await base()
      .withExif({ IFD3: { GPSLatitudeRef: "N", GPSLatitude: "47/1 1/1 12/1", GPSLongitudeRef: "W", GPSLongitude: "99/1 9/1 30/1" } })
      .jpeg()
      .toBuffer();
    for (let n = 0; n < 400; n += 7) assert.doesNotThrow(() => readExifGps(bytes(gps.subarray(0, n))));
  });
});
