/**
 * End-to-end accuracy on real imagery, when ../shared/data is present (CI has it; skipped
 * otherwise): validation-split aerial scenes served as tiles must get their terrain, and
 * matched (tile, photo) pairs must score higher than mismatched ones. The split rule is the
 * trainer's (sha1 of the relative path % 100 < 15), so none of these images were trained on.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import sharp from "sharp";
import { tileBoundsGeometry } from "../src/tiles/tile-math.js";
import { createTestDatabase } from "./helpers/databases.js";
import { gql, startTestApp } from "./helpers/app.js";

const DATA = process.env.GROUNDVIEW_DATA ?? fileURLToPath(new URL("../../../shared/data/", import.meta.url));
const present = existsSync(path.join(DATA, "rsscn7"));
const isVal = (rel: string) => parseInt(createHash("sha1").update(rel).digest("hex").slice(0, 8), 16) % 100 < 15;
const PER_CLASS = 8;
const Z = 17;
const X0 = 29000;
const Y0 = 46000;

function valFiles(dir: string, prefix: string, n: number): string[] {
  return readdirSync(path.join(DATA, dir))
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .map((f) => `${prefix}/${f}`)
    .filter(isVal)
    .slice(0, n);
}

function auc(pos: number[], neg: number[]): number {
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

describe("accuracy on held-out real imagery", { skip: present ? false : `no shared data at ${DATA}` }, () => {
  test("aerial scenes of known terrain get that terrain; matched photos outscore mismatched ones", async () => {
    const manifest = JSON.parse(readFileSync(fileURLToPath(new URL("../../models/manifest.json", import.meta.url)), "utf8"));
    const classes: string[] = manifest.models.terrainClassifier.classes;
    const matrix: number[][] = manifest.models.validation.compatibility.matrix;
    const ground: string[] = manifest.models.validation.compatibility.ground;
    const classMap = readFileSync(path.join(DATA, "ground", "CLASS_MAP.csv"), "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(","));
    const photosByGround = new Map<string, string[]>();
    for (const [ds, src, terrain] of classMap) {
      if (!existsSync(path.join(DATA, "ground", ds, src))) continue;
      const list = photosByGround.get(terrain) ?? [];
      list.push(...valFiles(path.join("ground", ds, src), `ground/${ds}/${src}`, 6));
      photosByGround.set(terrain, list);
    }
    const dir = await mkdtemp(path.join(tmpdir(), "gv-real-"));
    const tiles: { x: number; y: number; terrain: string }[] = [];
    for (const [ci, cls] of classes.entries()) {
      for (const [i, rel] of valFiles(path.join("rsscn7", cls), `rsscn7/${cls}`, PER_CLASS).entries()) {
        const x = X0 + ci;
        const y = Y0 + i;
        await mkdir(path.join(dir, String(Z), String(x)), { recursive: true });
        await writeFile(
          path.join(dir, String(Z), String(x), `${y}.jpg`),
          await sharp(path.join(DATA, rel)).resize(256, 256).jpeg({ quality: 90 }).toBuffer(),
        );
        tiles.push({ x, y, terrain: cls });
      }
    }
    const db = await createTestDatabase("embedded");
    const app = await startTestApp(db, { TILE_SOURCE: dir });
    try {
      let correct = 0;
      const matched: number[] = [];
      const mismatched: number[] = [];
      for (const [i, t] of tiles.entries()) {
        const b = tileBoundsGeometry({ z: Z, x: t.x, y: t.y }).coordinates[0];
        const point = { lat: (b[0][1] + b[2][1]) / 2, lon: (b[0][0] + b[1][0]) / 2 };
        const r = await gql(
          app,
          `query($lat: Float!, $lon: Float!) { landscape(lat: $lat, lon: $lon, zoom: ${Z}) { dominantTerrain } }`,
          point,
        );
        if (r.body.data.landscape.dominantTerrain.toLowerCase() === t.terrain) correct++;
        const row = matrix[classes.indexOf(t.terrain)];
        const good = ground[row.indexOf(Math.max(...row))];
        const badChoices = ground.filter((g, gi) => row[gi] === 0 && photosByGround.get(g)?.length);
        const bad = badChoices[i % badChoices.length];
        for (const [g, into] of [
          [good, matched],
          [bad, mismatched],
        ] as const) {
          const list = photosByGround.get(g) as string[];
          const bytes = readFileSync(path.join(DATA, list[i % list.length]));
          const form = new FormData();
          form.set(
            "operations",
            JSON.stringify({
              query: `mutation($p: Upload!, $lat: Float!, $lon: Float!) { validatePhoto(photo: $p, lat: $lat, lon: $lon, zoom: ${Z}) { score } }`,
              variables: { p: null, ...point },
            }),
          );
          form.set("map", JSON.stringify({ 0: ["variables.p"] }));
          form.set("0", new Blob([bytes]), "p.jpg");
          const res = (await (
            await fetch(`${app.url}/graphql`, { method: "POST", body: form, headers: { "apollo-require-preflight": "true" } })
          ).json()) as any;
          into.push(res.data.validatePhoto.score);
        }
      }
      const accuracy = correct / tiles.length;
      const a = auc(matched, mismatched);
      console.log(
        `# real-imagery: terrain accuracy ${(accuracy * 100).toFixed(1)}% on ${tiles.length} held-out scenes; matched-vs-mismatched ROC-AUC ${a.toFixed(3)} on ${matched.length}+${mismatched.length} pairs`,
      );
      assert.ok(accuracy >= 0.7, `terrain accuracy ${accuracy}`);
      assert.ok(a >= 0.75, `ROC-AUC ${a}`);
    } finally {
      await app.close();
      await db.drop();
    }
  });
});
