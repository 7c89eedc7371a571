/** validatePhoto's score must equal the trainer's (trainer/groundview/validation.py) on the same inputs. */
import "reflect-metadata";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { GroundTerrain, Terrain } from "../src/terrain/terrain.enum.js";
import { atTemperature, scorePair } from "../src/validate-photo/validate-photo.service.js";
import { Verdict } from "../src/validate-photo/validate-photo.type.js";

// The trainer's matrix, prior, classes and scores (trainer/make_score_golden.py writes them from
// groundview/validation.py; a trainer test keeps the file equal to that implementation).
const GOLDEN = JSON.parse(readFileSync(fileURLToPath(new URL("../../trainer/tests/golden/score.json", import.meta.url)), "utf8")) as {
  terrainClasses: string[];
  sceneClasses: string[];
  matrix: number[][];
  groundPrior: number[];
  cases: {
    photo: string;
    tile: number[];
    scene: number[];
    calibration: { a: number; b: number; terrainTemperature?: number; sceneTemperature?: number };
    score: number;
  }[];
};
const v = {
  compatibility: { matrix: GOLDEN.matrix },
  groundPrior: GOLDEN.groundPrior,
  calibration: { a: 1.7, b: -0.3 },
  plausibleAbove: 0.7,
  suspiciousBelow: 0.3,
};
const forestTile = [0.05, 0.05, 0.05, 0.05, 0.7, 0.05, 0.05];

test("the trainer's classes are the API's", () => {
  assert.deepEqual(GOLDEN.terrainClasses, Object.values(Terrain));
  assert.deepEqual(GOLDEN.sceneClasses, Object.values(GroundTerrain));
});

test("the score equals the trainer's numpy implementation on every golden case, with and without temperatures", () => {
  assert.ok(GOLDEN.cases.length >= 4);
  for (const c of GOLDEN.cases) {
    const r = scorePair(c.tile, c.scene, { ...v, calibration: c.calibration });
    assert.ok(Math.abs(r.score - c.score) < 1e-9, `${c.photo} ${JSON.stringify(c.calibration)}: ${r.score} vs ${c.score}`);
    assert.ok(Math.abs(r.expectedGround.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  }
  const at1 = (name: string) => GOLDEN.cases.find((c) => c.photo === name && c.calibration.terrainTemperature === undefined)!;
  assert.equal(scorePair(at1("forest").tile, at1("forest").scene, v).verdict, Verdict.PLAUSIBLE);
  assert.equal(scorePair(at1("city").tile, at1("city").scene, v).verdict, Verdict.SUSPICIOUS);
});

test("between the bands the verdict is INCONCLUSIVE", () => {
  const r = scorePair(forestTile, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], v);
  assert.ok(r.score >= 0.3 && r.score < 0.7, String(r.score));
  assert.equal(r.verdict, Verdict.INCONCLUSIVE);
});

test("temperatures change the score, not expectedGround (p @ matrix)", () => {
  const vt = { ...v, calibration: { ...v.calibration, terrainTemperature: 0.5, sceneTemperature: 0.35 } };
  const photo = [0.6, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.02, 0.02];
  const sharp = scorePair(forestTile, photo, vt);
  const plain = scorePair(forestTile, photo, v);
  assert.notEqual(sharp.score, plain.score);
  assert.deepEqual(sharp.expectedGround, plain.expectedGround);
});

test("atTemperature sharpens below 1, leaves a distribution at 1 and keeps it summing to 1", () => {
  const p = [0.5, 0.3, 0.2];
  assert.equal(atTemperature(p, 1), p);
  const s = atTemperature(p, 0.5);
  assert.ok(Math.abs(s.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(s[0] > 0.5 && s[2] < 0.2);
  assert.ok(Math.abs(s[0] - 0.25 / 0.38) < 1e-12);
});
