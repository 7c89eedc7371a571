/**
 * terrainChange: the tiles of a region analysed on both dates (stored results reused); each
 * tile's two pictures read by the change detector (change-detector.ts), and a cell changed where
 * it is confident of change and the two dates' terrain grids name different terrains
 * (change-grid.ts); the changed cells cut into pieces per transition, merged across tile borders
 * in PostGIS, clipped to the region, largest first, with the area per transition. Models exported
 * without a detector compare the grids alone (both dates confident, terrains differ).
 */
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import type { TileAnalysisService } from "../analysis/tile-analysis.service.js";
import type { TileCache } from "../tiles/tile-cache.js";
import { outlineGeometry, pieceOutlines } from "../terrain/grid.js";
import type { RegionInput, TerrainMapService } from "../terrain-map/terrain-map.service.js";
import type { Terrain } from "../terrain/terrain.enum.js";
import { type TileKey, tileBBox, tileKeyString } from "../tiles/tile-math.js";
import type { ChangeDetector, TilePair } from "./change-detector.js";
import { changeGrid, detectedChangeGrid, NO_CHANGE, transitionOf } from "./change-grid.js";
import type { TerrainChange, TerrainChangeArea, TerrainTransition } from "./terrain-change.type.js";

/**
 * Without a change detector: the probability both dates' grids need for a change to count.
 * Measured on held-out mosaics with colour-jittered and swapped tiles (scripts/measure-terrain-
 * change.mjs; README, "Change over time"), no margin keeps jitter alone under 2 % of the area
 * with a useful recall (0.8: 3.1 % false, recall 0.20); the detector does.
 */
export const GRID_ONLY_CONFIDENCE = 0.8;

/** What terrainChange uses of each date's imagery. */
export interface ChangeLayer {
  tiles: TileCache;
  analysis: TileAnalysisService;
  terrainMap: TerrainMapService;
}

export interface ChangeInput extends RegionInput {
  /** The detector's probability (or, without one, both dates' grid probability) a change needs; absent: the model's default. */
  minConfidence?: number | null;
  minAreaSqm: number;
  first: number;
}

interface ChangePiece {
  f: string;
  t: string;
  /** Mean confidence (0-1) and cells, for the merged area's weighted mean. */
  c: number;
  n: number;
  g: string;
}

export class TerrainChangeService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly detector?: ChangeDetector,
  ) {}

  /** How change is told: "detector" (the change detector with the grids' terrains) or "grids" (the grids alone). */
  get method(): "detector" | "grids" {
    return this.detector?.spec ? "detector" : "grids";
  }

  async change(
    a: ChangeInput,
    from: { date: string; layer: ChangeLayer },
    to: { date: string; layer: ChangeLayer },
  ): Promise<TerrainChange> {
    if (from.date === to.date)
      throw new GroundviewError(ErrorCode.BAD_USER_INPUT, `from and to are the same date (${from.date})`, { field: "to" });
    // The region is checked against both dates (their zooms differ when their imports did).
    const region = await from.layer.terrainMap.region(a);
    await to.layer.terrainMap.region({ ...a, zoom: region.z });
    const [before, after] = await Promise.all([
      from.layer.analysis.analyseMany(region.keys, { terrainOnly: true }),
      to.layer.analysis.analyseMany(region.keys, { terrainOnly: true }),
    ]);
    const classes = from.layer.terrainMap.classes;
    const pieces: ChangePiece[] = [];
    const compared: string[] = [];
    let computed = 0;
    for (const r of [...before.values(), ...after.values()]) if (!r.cached) computed++;
    const both = region.keys.filter((k) => before.has(tileKeyString(k)) && after.has(tileKeyString(k)));
    const spec = this.detector?.spec;
    const threshold = a.minConfidence ?? spec?.threshold ?? GRID_ONLY_CONFIDENCE;
    let detected: Map<string, Float32Array> | undefined;
    if (spec) {
      const refs = both.map((key) => {
        const id = tileKeyString(key);
        return { id, key, beforeHash: before.get(id)!.analysis.tileHash, afterHash: after.get(id)!.analysis.tileHash };
      });
      const r = await this.detector!.detect(refs, (missing) =>
        this.pairs(
          missing.map((m) => m.key),
          from.layer,
          to.layer,
        ),
      );
      detected = r.change;
      computed += r.computed;
    }
    for (const key of both) {
      const id = tileKeyString(key);
      const p = before.get(id)!.analysis;
      const q = after.get(id)!.analysis;
      const d = detected?.get(id);
      if (detected && !d) continue;
      compared.push(JSON.stringify(tileBBox(key)));
      const { grid, changed } = d
        ? detectedChangeGrid(p.grid, q.grid, d, spec!.cells, classes.length, threshold)
        : changeGrid(p.grid, q.grid, classes.length, threshold);
      if (!changed) continue;
      for (const piece of pieceOutlines(grid)) {
        if (piece.terrain === NO_CHANGE) continue;
        const [f, t] = transitionOf(piece.terrain, classes.length);
        const geom = outlineGeometry(key, grid.cells, piece.polygons);
        pieces.push({ f: classes[f], t: classes[t], c: piece.confidence, n: piece.cells, g: JSON.stringify(geom) });
      }
    }
    if (computed) await Promise.all([from.layer.analysis.flush(), to.layer.analysis.flush()]);
    const merged = await this.merge(region.area.json, pieces, compared, a.minAreaSqm);
    const changes: TerrainChangeArea[] = merged.areas.sort(
      (x, y) => y.areaSqm - x.areaSqm || x.fromTerrain.localeCompare(y.fromTerrain) || x.toTerrain.localeCompare(y.toTerrain),
    );
    const byPair = new Map<string, TerrainTransition>();
    for (const c of changes) {
      const k = `${c.fromTerrain}>${c.toTerrain}`;
      const s = byPair.get(k) ?? { fromTerrain: c.fromTerrain, toTerrain: c.toTerrain, areaSqm: 0, areas: 0 };
      s.areaSqm += c.areaSqm;
      s.areas++;
      byPair.set(k, s);
    }
    const summary = [...byPair.values()].sort((x, y) => y.areaSqm - x.areaSqm);
    const page = changes.slice(0, a.first);
    return {
      from: from.date,
      to: to.date,
      changes: page,
      totalCount: changes.length,
      summary,
      areaSqm: merged.clipAreaSqm,
      comparedSqm: merged.comparedSqm,
      changedSqm: summary.reduce((s, t) => s + t.areaSqm, 0),
      minConfidence: threshold,
      method: this.method,
      featureCollection: {
        type: "FeatureCollection",
        features: page.map(({ geometry, ...properties }) => ({ type: "Feature", geometry, properties })),
      },
      zoom: region.z,
      tilesCompared: compared.length,
      tilesComputed: computed,
    };
  }

  /** Both dates' pictures of the tiles (a tile one date lacks now is left out). */
  private async pairs(keys: TileKey[], from: ChangeLayer, to: ChangeLayer): Promise<TilePair[]> {
    const [a, b] = await Promise.all([from.tiles.getMany(keys), to.tiles.getMany(keys)]);
    const out: TilePair[] = [];
    for (const k of keys) {
      const id = tileKeyString(k);
      const before = a.get(id);
      const after = b.get(id);
      if (before instanceof GroundviewError || after instanceof GroundviewError) {
        const e = (before instanceof GroundviewError ? before : after) as GroundviewError;
        if (e.code === ErrorCode.TILE_NOT_FOUND) continue;
        throw e;
      }
      if (before && after) out.push({ id, before, after });
    }
    return out;
  }

  /**
   * The pieces merged per transition (each cluster of touching pieces on its own), clipped to
   * the region, with their geodesic areas; the region's area and the part of it both dates cover.
   */
  private async merge(
    clip: string,
    pieces: ChangePiece[],
    comparedTiles: string[],
    minAreaSqm: number,
  ): Promise<{ areas: TerrainChangeArea[]; clipAreaSqm: number; comparedSqm: number }> {
    const [head] = await this.prisma.$queryRaw<{ clip: number; compared: number | null }[]>`
      WITH clip AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(${clip}), 4326) AS g),
      tiles AS (
        SELECT ST_MakeEnvelope((b->>0)::float, (b->>1)::float, (b->>2)::float, (b->>3)::float, 4326) AS g
        FROM jsonb_array_elements(${`[${comparedTiles.join(",")}]`}::jsonb) b
      )
      SELECT ST_Area(clip.g::geography) AS clip,
        (SELECT ST_Area(ST_Intersection(ST_Union(tiles.g), clip.g)::geography) FROM tiles) AS compared
      FROM clip`;
    if (!pieces.length) return { areas: [], clipAreaSqm: Number(head.clip), comparedSqm: Number(head.compared ?? 0) };
    const rows = await this.prisma.$queryRaw<{ f: string; t: string; c: number; area: number; geojson: string }[]>`
      WITH clip AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(${clip}), 4326) AS g),
      pieces AS (
        SELECT e->>'f' AS f, e->>'t' AS t, (e->>'c')::float AS c, (e->>'n')::int AS n,
          ST_SetSRID(ST_GeomFromGeoJSON(e->>'g'), 4326) AS geom
        FROM jsonb_array_elements(${JSON.stringify(pieces)}::jsonb) e
      ),
      clustered AS (SELECT p.*, ST_ClusterDBSCAN(p.geom, 0, 1) OVER (PARTITION BY p.f, p.t) AS cid FROM pieces p),
      merged AS (SELECT f, t, ST_Union(geom) AS geom, sum(c * n) / sum(n) AS c FROM clustered GROUP BY f, t, cid),
      parts AS (SELECT m.f, m.t, m.c, (ST_Dump(ST_Intersection(m.geom, clip.g))).geom AS geom FROM merged m, clip)
      SELECT f, t, c, area, ST_AsGeoJSON(ST_Simplify(geom, 0, true), 8) AS geojson
      FROM (SELECT *, ST_Area(geom::geography) AS area FROM parts WHERE ST_Dimension(geom) = 2) a
      WHERE area > 0 AND area >= ${minAreaSqm}`;
    return {
      areas: rows.map((r) => ({
        fromTerrain: r.f as Terrain,
        toTerrain: r.t as Terrain,
        areaSqm: Number(r.area),
        confidence: Number(r.c),
        geometry: JSON.parse(r.geojson) as Record<string, unknown>,
      })),
      clipAreaSqm: Number(head.clip),
      comparedSqm: Number(head.compared ?? 0),
    };
  }
}
