/**
 * The rows behind area jobs: the job (what was asked, its counters and state) and its chunks
 * (the tiles each queued task analyses). A chunk is finished in one statement that marks it and
 * adds its counts to the job only if it was not finished before, so a chunk run again after a
 * crash or a retry counts once, and the job's state follows from its counters.
 */
import { Prisma, type PrismaClient } from "../generated/prisma/client.js";
import type { TileKey } from "../tiles/tile-math.js";

export type AreaJobState = "QUEUED" | "RUNNING" | "COMPLETED" | "FAILED";

export interface AreaJobRow {
  id: string;
  source: string;
  modelVersion: string;
  zoom: number;
  area: unknown;
  state: AreaJobState;
  tilesTotal: number;
  tilesDone: number;
  tilesWithoutImagery: number;
  tilesComputed: number;
  tilesFailed: number;
  chunksTotal: number;
  chunksDone: number;
  chunksFailed: number;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface ChunkTask {
  jobId: string;
  chunk: number;
  source: string;
  keys: TileKey[];
  done: boolean;
}

/** What one chunk did. */
export interface ChunkOutcome {
  /** Tiles analysed or found without imagery. */
  done: number;
  withoutImagery: number;
  computed: number;
  /** Tiles of a chunk that failed for good (then `done` is 0). */
  failed: number;
  error?: string;
}

export class AreaJobStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** The tiles of a z/x/y range that touch a GeoJSON geometry (EPSG:4326), in PostGIS. */
  async tilesTouching(geojson: string, z: number, r: { x0: number; x1: number; y0: number; y1: number }): Promise<TileKey[]> {
    const rows = await this.prisma.$queryRaw<{ x: number; y: number }[]>`
      WITH a AS (SELECT ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(${geojson}), 4326), 3857) AS g)
      SELECT tx AS x, ty AS y
      FROM a, generate_series(${r.x0}::int, ${r.x1}::int) AS tx, generate_series(${r.y0}::int, ${r.y1}::int) AS ty
      WHERE ST_Intersects(ST_TileEnvelope(${z}::int, tx, ty), a.g)`;
    return rows.map((t) => ({ z, x: t.x, y: t.y }));
  }

  /** Tiles not yet done of the jobs that are not finished. */
  async pendingTiles(): Promise<number> {
    const [{ n }] = await this.prisma.$queryRaw<{ n: number }[]>`
      SELECT coalesce(sum(tiles_total - tiles_done - tiles_failed), 0)::int AS n FROM area_job WHERE state IN ('QUEUED', 'RUNNING')`;
    return n;
  }

  /** The job and its chunks, in one transaction (not yet on the queue: `enqueued` false). */
  async create(job: { id: string; source: string; modelVersion: string; zoom: number; area: unknown }, chunks: TileKey[][]): Promise<void> {
    const tilesTotal = chunks.reduce((n, c) => n + c.length, 0);
    await this.prisma.$transaction([
      this.prisma.areaJob.create({
        data: {
          id: job.id,
          source: job.source,
          modelVersion: job.modelVersion,
          zoom: job.zoom,
          area: job.area as Prisma.InputJsonValue,
          state: chunks.length ? "QUEUED" : "COMPLETED",
          tilesTotal,
          chunksTotal: chunks.length,
          enqueued: chunks.length === 0,
          finishedAt: chunks.length ? null : new Date(),
        },
      }),
      this.prisma.areaJobChunk.createMany({
        data: chunks.map((c, i) => ({ jobId: job.id, chunk: i, xs: c.map((k) => k.x), ys: c.map((k) => k.y) })),
      }),
    ]);
  }

  async markEnqueued(id: string): Promise<void> {
    await this.prisma.areaJob.update({ where: { id }, data: { enqueued: true } });
  }

  /** Jobs whose chunks never reached the queue (the process died in between), with their chunk count. */
  async notEnqueued(olderThanMs: number): Promise<{ id: string; chunksTotal: number }[]> {
    return this.prisma.areaJob.findMany({
      where: { enqueued: false, state: { in: ["QUEUED", "RUNNING"] }, createdAt: { lt: new Date(Date.now() - olderThanMs) } },
      select: { id: true, chunksTotal: true },
    });
  }

  async get(id: string): Promise<AreaJobRow | null> {
    return (await this.prisma.areaJob.findUnique({ where: { id } })) as AreaJobRow | null;
  }

  async chunk(jobId: string, chunk: number): Promise<ChunkTask | null> {
    const c = await this.prisma.areaJobChunk.findUnique({
      where: { jobId_chunk: { jobId, chunk } },
      include: { job: { select: { zoom: true, source: true } } },
    });
    if (!c) return null;
    return {
      jobId,
      chunk,
      source: c.job.source,
      keys: c.xs.map((x, i) => ({ z: c.job.zoom, x, y: c.ys[i] })),
      done: c.doneAt !== null,
    };
  }

  /** QUEUED → RUNNING when its first chunk starts. */
  async markStarted(id: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE area_job SET state = 'RUNNING', started_at = coalesce(started_at, now()) WHERE id = ${id}::uuid AND state = 'QUEUED'`;
  }

  /**
   * Marks the chunk done (or failed) and adds its counts to the job, once: a chunk finished
   * before leaves everything as it was. The last chunk sets COMPLETED, or FAILED when any
   * chunk failed. Returns whether this call counted it, and the job's state after it.
   */
  async finishChunk(jobId: string, chunk: number, o: ChunkOutcome): Promise<{ counted: boolean; state: AreaJobState }> {
    const failed = o.failed > 0;
    const rows = await this.prisma.$queryRaw<{ state: AreaJobState; counted: number }[]>`
      WITH c AS (
        UPDATE area_job_chunk SET done_at = now(), failed = ${failed}
        WHERE job_id = ${jobId}::uuid AND chunk = ${chunk}::int AND done_at IS NULL
        RETURNING 1
      ), n AS (SELECT count(*)::int AS k FROM c)
      UPDATE area_job j SET
        tiles_done = j.tiles_done + n.k * ${o.done}::int,
        tiles_without_imagery = j.tiles_without_imagery + n.k * ${o.withoutImagery}::int,
        tiles_computed = j.tiles_computed + n.k * ${o.computed}::int,
        tiles_failed = j.tiles_failed + n.k * ${o.failed}::int,
        chunks_done = j.chunks_done + n.k,
        chunks_failed = j.chunks_failed + n.k * ${failed ? 1 : 0}::int,
        error = CASE WHEN n.k > 0 AND ${o.error ?? null}::text IS NOT NULL THEN ${o.error ?? null}::text ELSE j.error END,
        started_at = coalesce(j.started_at, now()),
        state = CASE
          WHEN j.chunks_done + n.k < j.chunks_total THEN 'RUNNING'
          WHEN j.chunks_failed + n.k * ${failed ? 1 : 0}::int > 0 THEN 'FAILED'
          ELSE 'COMPLETED' END,
        finished_at = CASE WHEN j.chunks_done + n.k >= j.chunks_total THEN coalesce(j.finished_at, now()) ELSE j.finished_at END
      FROM n
      WHERE j.id = ${jobId}::uuid
      RETURNING j.state AS state, n.k AS counted`;
    if (!rows.length) return { counted: false, state: "FAILED" };
    return { counted: rows[0].counted > 0, state: rows[0].state };
  }
}
