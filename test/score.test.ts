/** validatePhoto's score must equal the trainer's (trainer/fit_validation.py) on the same inputs. */
import "reflect-metadata";
import assert from "node:assert/strict";
import { test } from "node:test";
import { atTemperature, scorePair } from "../src/validate-photo/validate-photo.service.js";
import { Verdict } from "../src/validate-photo/validate-photo.type.js";

// trainer/groundview/compat.py, rows grass..parking, columns forest..wetland.
const matrix = [
  [0.1, 0.6, 0.0, 0.05, 0.05, 0.15, 0.0, 0.0, 0.0, 0.05],
  [0.0, 0.75, 0.0, 0.0, 0.05, 0.05, 0.0, 0.05, 0.1, 0.0],
  [0.0, 0.0, 0.0, 0.7, 0.25, 0.0, 0.0, 0.0, 0.05, 0.0],
  [0.0, 0.0, 0.85, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.1],
  [0.85, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.05],
  [0.0, 0.05, 0.0, 0.75, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
  [0.0, 0.0, 0.0, 0.6, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0],
];
const groundPrior = matrix[0].map((_, g) => matrix.reduce((s, row) => s + row[g], 0) / matrix.length);
const v = { compatibility: { matrix }, groundPrior, calibration: { a: 1.7, b: -0.3 }, plausibleAbove: 0.7, suspiciousBelow: 0.3 };
const forestTile = [0.05, 0.05, 0.05, 0.05, 0.7, 0.05, 0.05];

test("golden values computed by the trainer's numpy implementation", () => {
  const forestPhoto = scorePair(forestTile, [0.6, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.02, 0.02], v);
  assert.ok(Math.abs(forestPhoto.score - 0.8168268207905591) < 1e-9, String(forestPhoto.score));
  assert.equal(forestPhoto.verdict, Verdict.PLAUSIBLE);
  const cityPhoto = scorePair(forestTile, [0.02, 0.02, 0.05, 0.7, 0.1, 0.05, 0.03, 0.01, 0.01, 0.01], v);
  assert.ok(Math.abs(cityPhoto.score - 0.140508672213271) < 1e-9, String(cityPhoto.score));
  assert.equal(cityPhoto.verdict, Verdict.SUSPICIOUS);
  assert.ok(Math.abs(forestPhoto.expectedGround.reduce((a, b) => a + b, 0) - 1) < 1e-9);
});

test("between the bands the verdict is INCONCLUSIVE", () => {
  const r = scorePair(forestTile, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], v);
  assert.ok(r.score >= 0.3 && r.score < 0.7, String(r.score));
  assert.equal(r.verdict, Verdict.INCONCLUSIVE);
});

test("with fitted temperatures the score still equals the trainer's, and expectedGround stays p @ matrix", () => {
  const vt = { ...v, calibration: { ...v.calibration, terrainTemperature: 0.5, sceneTemperature: 0.35 } };
  const forestPhoto = scorePair(forestTile, [0.6, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.02, 0.02], vt);
  assert.ok(Math.abs(forestPhoto.score - 0.9397934760234733) < 1e-9, String(forestPhoto.score));
  const cityPhoto = scorePair(forestTile, [0.02, 0.02, 0.05, 0.7, 0.1, 0.05, 0.03, 0.01, 0.01, 0.01], vt);
  assert.ok(Math.abs(cityPhoto.score - 0.002466948795264974) < 1e-9, String(cityPhoto.score));
  const plain = scorePair(forestTile, [0.6, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.02, 0.02], v);
  assert.deepEqual(forestPhoto.expectedGround, plain.expectedGround);
});

test("atTemperature sharpens below 1, leaves a distribution at 1 and keeps it summing to 1", () => {
  const p = [0.5, 0.3, 0.2];
  assert.equal(atTemperature(p, 1), p);
  const s = atTemperature(p, 0.5);
  assert.ok(Math.abs(s.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(s[0] > 0.5 && s[2] < 0.2);
  assert.ok(Math.abs(s[0] - 0.25 / 0.38) < 1e-12);
});
