/**
 * The terrain map in PostGIS: tiles' grid pieces (terrain_piece, written with each analysis)
 * merged across tile borders into areas, clipped to a box or a parcel, summarised per
 * terrain, and cut into vector tiles. Areas are on the WGS 84 spheroid (ST_Area(geography));
 * turf's spherical areas are within about 0.5 % of them. (PostGIS 3.3's spherical area,
 * ST_Area(geography, false), was measured wrong on merged polygons: up to 2x on one terrain.)
 */
import { Prisma, type PrismaClient } from "../generated/prisma/client.js";

/** Which stored pieces a query reads: one source, model version and analysis zoom, a tile range. */
export interface PieceScope {
  source: string;
  modelVersion: string;
  z: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export interface MergedArea {
  terrain: string;
  /** GeoJSON Polygon, EPSG:4326. */
  geometry: Record<string, unknown>;
  areaSqm: number;
  meanConfidence: number;
  tileCount: number;
  cellCount: number;
}

export interface TerrainShare {
  terrain: string;
  areaSqm: number;
  meanConfidence: number;
}

const scopeSql = (s: PieceScope) => Prisma.sql`p.source = ${s.source} AND p.model_version = ${s.modelVersion} AND p.z = ${s.z}
  AND p.x BETWEEN ${s.x0} AND ${s.x1} AND p.y BETWEEN ${s.y0} AND ${s.y1}`;

export class TerrainMapStore {
  /**
   * How pieces are merged: ST_CoverageUnion (PostGIS 3.4+) drops the edges pieces share, ~6x
   * faster than ST_Union on a 5x5 km box in PGlite; the pieces are a clean coverage (every cell
   * corner along an outline is a vertex: grid.ts pieceOutlines). Older PostGIS: ST_Union.
   */
  private merge = Prisma.sql`ST_Union(geom)`;

  constructor(private readonly prisma: PrismaClient) {}

  /** Picks the merge function this database's PostGIS has (once, at start-up). */
  async init(): Promise<void> {
    try {
      await this.prisma.$queryRaw`SELECT ST_CoverageUnion(g) FROM (VALUES (ST_MakeEnvelope(0, 0, 1, 1, 4326))) v(g)`;
      // (its result has no SRID)
      this.merge = Prisma.sql`ST_SetSRID(ST_CoverageUnion(geom), 4326)`;
    } catch {
      this.merge = Prisma.sql`ST_Union(geom)`;
    }
  }

  /**
   * The areas of `terrains` inside `clip` (GeoJSON Polygon/MultiPolygon text): pieces whose
   * mean probability reaches `minConfidence`, merged per terrain across tiles (each cluster of
   * touching pieces on its own), clipped, and rid of vertices that lie on a straight edge
   * (ST_Simplify with tolerance 0: the shape is exactly the cells', at half the vertices;
   * ST_SimplifyPreserveTopology cost a quarter of a warm 5x5 km query and changed nothing more).
   */
  async areas(scope: PieceScope, clip: string, terrains: string[], minConfidence: number, minAreaSqm: number): Promise<MergedArea[]> {
    const rows = await this.prisma.$queryRaw<
      { terrain: string; geojson: string; area: number; confidence: number; tiles: bigint | number; cells: bigint | number }[]
    >`
      WITH clip AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(${clip}), 4326) AS g),
      pieces AS (
        SELECT p.terrain, p.x, p.y, p.cells, p.confidence, p.geom FROM terrain_piece p, clip
        WHERE ${scopeSql(scope)} AND p.terrain = ANY(${terrains}::text[]) AND p.confidence >= ${minConfidence}
          AND p.geom && clip.g
      ),
      -- Connected pieces of a terrain (touching, across tiles) form a cluster; each is merged on its own.
      clustered AS (SELECT p.*, ST_ClusterDBSCAN(p.geom, 0, 1) OVER (PARTITION BY p.terrain) AS cid FROM pieces p),
      merged AS (
        SELECT terrain, ${this.merge} AS geom, sum(confidence * cells) / sum(cells) AS confidence,
          count(DISTINCT (x, y)) AS tiles, sum(cells) AS cells
        FROM clustered GROUP BY terrain, cid
      ),
      parts AS (
        SELECT m.terrain, m.confidence, m.tiles, m.cells,
          (ST_Dump(ST_Intersection(m.geom, clip.g))).geom AS geom
        FROM merged m, clip
      )
      SELECT terrain, confidence, tiles, cells, area,
        ST_AsGeoJSON(ST_Simplify(geom, 0, true), 8) AS geojson
      FROM (SELECT *, ST_Area(geom::geography) AS area FROM parts WHERE ST_Dimension(geom) = 2) a
      WHERE area > 0 AND area >= ${minAreaSqm}`;
    return rows.map((r) => ({
      terrain: r.terrain,
      geometry: JSON.parse(r.geojson) as Record<string, unknown>,
      areaSqm: Number(r.area),
      meanConfidence: Number(r.confidence),
      tileCount: Number(r.tiles),
      cellCount: Number(r.cells),
    }));
  }

  /** Area of each terrain inside `clip`, and the area of `clip` itself (both on the sphere). */
  async summary(scope: PieceScope, clip: string): Promise<{ clipAreaSqm: number; terrains: TerrainShare[] }> {
    const rows = await this.prisma.$queryRaw<{ terrain: string | null; area: number; confidence: number | null }[]>`
      WITH clip AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(${clip}), 4326) AS g),
      pieces AS (
        SELECT p.terrain, p.cells, p.confidence, p.geom FROM terrain_piece p, clip
        WHERE ${scopeSql(scope)} AND p.geom && clip.g AND ST_Intersects(p.geom, clip.g)
      ),
      per AS (
        SELECT terrain, ${this.merge} AS geom, sum(confidence * cells) / sum(cells) AS confidence FROM pieces GROUP BY terrain
      )
      SELECT terrain, ST_Area(ST_Intersection(per.geom, clip.g)::geography) AS area, confidence FROM per, clip
      UNION ALL
      SELECT NULL, ST_Area(clip.g::geography), NULL FROM clip`;
    const clipRow = rows.find((r) => r.terrain === null);
    return {
      clipAreaSqm: Number(clipRow?.area ?? 0),
      terrains: rows
        .filter((r) => r.terrain !== null)
        .map((r) => ({ terrain: r.terrain as string, areaSqm: Number(r.area), meanConfidence: Number(r.confidence) })),
    };
  }

  /** PostGIS's reason when the GeoJSON is not a valid geometry (self-intersection, ...); undefined when it is. */
  async validity(geojson: string): Promise<string | undefined> {
    const rows = await this.prisma.$queryRaw<{ valid: boolean; reason: string }[]>`
      SELECT ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason FROM (SELECT ST_GeomFromGeoJSON(${geojson}) AS g) s`;
    return rows[0]?.valid ? undefined : (rows[0]?.reason ?? "not a valid geometry");
  }

  /** Whether this database's PostGIS can encode vector tiles (ST_AsMVT needs protobuf-c; PGlite's build lacks it). */
  async canEncodeMvt(): Promise<boolean> {
    try {
      await this.prisma
        .$queryRaw`SELECT ST_AsMVT(t, 'probe') FROM (SELECT ST_AsMVTGeom(ST_MakeEnvelope(0, 0, 1, 1, 3857), ST_TileEnvelope(0, 0, 0)) AS geom) t`;
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A Mapbox Vector Tile (layer "terrain", extent 4096, buffer 64) of the pieces in `scope`,
   * merged per terrain, one feature per polygon, with terrain, area_sqm (the polygon's area in
   * this tile) and confidence. Only for databases where canEncodeMvt().
   */
  async mvt(scope: PieceScope, z: number, x: number, y: number): Promise<Uint8Array> {
    const rows = await this.prisma.$queryRaw<{ mvt: Uint8Array | null }[]>`
      WITH env AS (SELECT ST_TileEnvelope(${z}::int, ${x}::int, ${y}::int) AS e),
      pieces AS (SELECT p.terrain, p.cells, p.confidence, p.geom FROM terrain_piece p WHERE ${scopeSql(scope)}),
      merged AS (
        SELECT terrain, (ST_Dump(${this.merge})).geom AS geom, sum(confidence * cells) / sum(cells) AS confidence
        FROM pieces GROUP BY terrain
      ),
      feats AS (
        SELECT terrain, round(confidence::numeric, 3)::float8 AS confidence,
          round(ST_Area(ST_Intersection(geom, ST_Transform(env.e, 4326))::geography))::float8 AS area_sqm,
          ST_AsMVTGeom(ST_Transform(geom, 3857), env.e, 4096, 64, true) AS geom
        FROM merged, env
      )
      SELECT ST_AsMVT(feats, 'terrain', 4096, 'geom') AS mvt FROM feats WHERE geom IS NOT NULL`;
    return new Uint8Array(rows[0]?.mvt ?? new Uint8Array());
  }

  /**
   * The same features as GeoJSON in EPSG:4326, for databases without ST_AsMVT (the vector tile
   * is then encoded in JavaScript from exactly these polygons).
   */
  async mergedFeatures(
    scope: PieceScope,
    z: number,
    x: number,
    y: number,
  ): Promise<{ terrain: string; confidence: number; areaSqm: number; geometry: Record<string, unknown> }[]> {
    const rows = await this.prisma.$queryRaw<{ terrain: string; confidence: number; area_sqm: number; geojson: string }[]>`
      WITH env AS (SELECT ST_Transform(ST_TileEnvelope(${z}::int, ${x}::int, ${y}::int), 4326) AS e),
      pieces AS (SELECT p.terrain, p.cells, p.confidence, p.geom FROM terrain_piece p WHERE ${scopeSql(scope)}),
      merged AS (
        SELECT terrain, (ST_Dump(${this.merge})).geom AS geom, sum(confidence * cells) / sum(cells) AS confidence
        FROM pieces GROUP BY terrain
      )
      SELECT terrain, round(confidence::numeric, 3)::float8 AS confidence,
        round(ST_Area(ST_Intersection(geom, env.e)::geography))::float8 AS area_sqm, ST_AsGeoJSON(geom, 8) AS geojson
      FROM merged, env WHERE ST_Intersects(geom, env.e)`;
    return rows.map((r) => ({
      terrain: r.terrain,
      confidence: Number(r.confidence),
      areaSqm: Number(r.area_sqm),
      geometry: JSON.parse(r.geojson) as Record<string, unknown>,
    }));
  }
}
