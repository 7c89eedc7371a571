/**
 * validatePhoto: the terrain at the claimed point (satellite), the scene in the photo
 * (ground), and the calibrated score fitted by the trainer on validation pairs:
 *   e = p_terrain · M,   x = log(e·q + 1e-6) − log(π·q + 1e-6),   score = σ(a·x + b).
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { distance } from "@turf/turf";
import type { FileUpload } from "graphql-upload/processRequest.mjs";
import type { TileAnalysisService } from "../analysis/tile-analysis.service.js";
import { normaliseInto } from "../imaging/preprocess.js";
import type { ModelRegistry } from "../inference/model-registry.js";
import type { LandscapeService } from "../landscape/landscape.service.js";
import type { GroundTerrainScore, TerrainScore } from "../terrain/terrain-score.type.js";
import type { GroundTerrain } from "../terrain/terrain.enum.js";
import type { Metrics } from "../metrics/metrics.js";
import { decodePhoto, type PhotoLimits, readLimited } from "./photo-decode.js";
import { type PhotoValidation, Verdict } from "./validate-photo.type.js";

const EPS = 1e-6;

export interface ScoreParts {
  score: number;
  expectedGround: number[];
  verdict: Verdict;
}

/** softmax(log p / t): t < 1 sharpens a probability vector (trainer/fit_validation.py at_temperature). */
export function atTemperature(p: number[], t: number): number[] {
  if (t === 1) return p;
  const z = p.map((v) => Math.log(Math.max(v, 1e-12)) / t);
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

const expected = (p: number[], m: number[][]) => m[0].map((_, g) => p.reduce((s, pt, t) => s + pt * m[t][g], 0));

/**
 * The calibrated score and verdict for terrain probabilities p and scene probabilities q.
 * `expectedGround` is the ground distribution the tile's terrain implies (p @ matrix); the score
 * uses both distributions at the fitted temperatures (1 where the manifest gives none).
 */
export function scorePair(
  p: number[],
  q: number[],
  v: {
    compatibility: { matrix: number[][] };
    groundPrior: number[];
    calibration: { a: number; b: number; terrainTemperature?: number; sceneTemperature?: number };
    plausibleAbove: number;
    suspiciousBelow: number;
  },
): ScoreParts {
  const m = v.compatibility.matrix;
  const e = expected(p, m);
  const pt = atTemperature(p, v.calibration.terrainTemperature ?? 1);
  const qt = atTemperature(q, v.calibration.sceneTemperature ?? 1);
  const et = pt === p ? e : expected(pt, m);
  const eq = et.reduce((s, eg, g) => s + eg * qt[g], 0);
  const pq = v.groundPrior.reduce((s, pg, g) => s + pg * qt[g], 0);
  const x = Math.log(eq + EPS) - Math.log(pq + EPS);
  const score = 1 / (1 + Math.exp(-(v.calibration.a * x + v.calibration.b)));
  const verdict = score >= v.plausibleAbove ? Verdict.PLAUSIBLE : score < v.suspiciousBelow ? Verdict.SUSPICIOUS : Verdict.INCONCLUSIVE;
  return { score, expectedGround: e, verdict };
}

const pct = (p: number) => `${Math.round(p * 100)}%`;
const list = (xs: { terrain: string; probability: number }[]) =>
  xs
    .filter((x) => x.probability >= 0.1)
    .slice(0, 3)
    .map((x) => `${x.terrain.toLowerCase().replace("_", "/")} (${pct(x.probability)})`)
    .join(", ");

export class PhotoValidationService {
  constructor(
    private readonly landscape: LandscapeService,
    private readonly analysis: TileAnalysisService,
    private readonly models: ModelRegistry,
    private readonly metrics: Metrics,
    private readonly limits: PhotoLimits,
    private readonly uploadDir?: string,
  ) {}

  async validate(upload: Promise<FileUpload>, lat: number, lon: number, zoom?: number | null): Promise<PhotoValidation> {
    const key = this.landscape.tileAt(lat, lon, zoom);
    const file = await upload;
    const bytes = await readLimited(file.createReadStream(), this.limits.maxBytes);
    const models = this.models;
    const spec = models.manifest.models.sceneClassifier;
    const photo = await decodePhoto(bytes, this.limits, spec.input.size[0]);
    const [analysed, scene] = await Promise.all([this.analysis.analyse(key), this.classify(photo.rgb)]);
    if (this.uploadDir) await this.keep(bytes, photo.format);
    const v = models.manifest.models.validation;
    const p = analysed.analysis.terrain;
    const { score, expectedGround, verdict } = scorePair(p, scene, v);
    const expectedTerrain = this.landscape.terrainScores(analysed.analysis);
    const ground = (xs: number[]): GroundTerrainScore[] =>
      xs
        .map((probability, i) => ({ terrain: spec.classes[i] as GroundTerrain, probability }))
        .sort((a, b) => b.probability - a.probability);
    const photoTerrain = ground(scene);
    const expectedGroundTerrain = ground(expectedGround);
    const exifDistanceM = photo.gps ? distance([photo.gps.lon, photo.gps.lat], [lon, lat], { units: "kilometers" }) * 1000 : null;
    return {
      score,
      verdict,
      expectedTerrain,
      expectedGroundTerrain,
      photoTerrain,
      explanation: this.explain(expectedTerrain, expectedGroundTerrain, photoTerrain, score, verdict, exifDistanceM),
      reference: this.landscape.toLandscape(analysed),
      exifLocation: photo.gps ?? null,
      exifDistanceM,
      modelVersion: models.version,
    };
  }

  /** Scene probabilities for a photo already decoded to the classifier's input size. */
  private async classify(rgb: Buffer): Promise<number[]> {
    const models = this.models;
    const spec = models.manifest.models.sceneClassifier;
    const end = this.metrics.inferenceSeconds.startTimer({ stage: "photo" });
    const input = new Float32Array(3 * spec.input.size[0] * spec.input.size[1]);
    normaliseInto(rgb, spec.input, input, 0);
    const { probabilities } = await models.sceneProbabilities(input, 1);
    end();
    return Array.from(probabilities[0]);
  }

  private async keep(bytes: Buffer, format: string): Promise<void> {
    await mkdir(this.uploadDir as string, { recursive: true });
    const name = `${createHash("sha256").update(bytes).digest("hex")}.${format}`;
    await writeFile(path.join(this.uploadDir as string, name), bytes);
  }

  private explain(
    sat: TerrainScore[],
    expected: GroundTerrainScore[],
    photo: GroundTerrainScore[],
    score: number,
    verdict: Verdict,
    exifDistanceM: number | null,
  ): string {
    const verdictText = {
      [Verdict.PLAUSIBLE]: "The photo fits what one would see there",
      [Verdict.SUSPICIOUS]: "The photo does not fit what one would see there; the geotag may be wrong",
      [Verdict.INCONCLUSIVE]: "The evidence is not strong either way",
    }[verdict];
    let s =
      `From the satellite, the point looks like ${list(sat) || sat[0].terrain.toLowerCase()}, ` +
      `so a photo there would most likely show ${list(expected) || expected[0].terrain.toLowerCase()}. ` +
      `The photo looks like ${list(photo) || photo[0].terrain.toLowerCase()}. ${verdictText} (score ${score.toFixed(2)}).`;
    if (exifDistanceM !== null)
      s += ` Its EXIF GPS position is ${(exifDistanceM / 1000).toFixed(exifDistanceM < 10000 ? 2 : 0)} km from the claimed point.`;
    return s;
  }
}
