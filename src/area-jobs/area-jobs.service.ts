/**
 * prepareArea / areaJob: analyse every tile of an area too big for one request (an operator
 * pre-warming a county) in the background, on any service process of the database.
 *
 * prepareArea validates the area like terrainFilter does (a box or a GeoJSON parcel, coded
 * errors), but up to AREA_JOB_MAX_TILES; a parcel keeps only the tiles that touch it. The
 * tiles are cut into chunks of AREA_JOB_CHUNK_TILES (square-ish blocks, so a chunk reads its
 * imagery and results in one range query), the job and its chunks are written in one
 * transaction, then the chunks are put on the queue. Each chunk runs through the terrain-map
 * path (stored results reused, the rest computed with the terrain classifier and stored with
 * their grid pieces) and is counted once in the job, however often it ran.
 *
 * A job works on the imagery that terrainFilter would read over its region: the date given,
 * else the latest date covering it, else the undated source (issue 14); the job's `source` is
 * that imagery's layer id, and a chunk is run with that layer's terrain maps.
 */
import { randomUUID } from "node:crypto";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Box } from "../geo/dated.js";
import type { TileKey } from "../tiles/tile-math.js";
import type { RegionInput, TerrainMapService } from "../terrain-map/terrain-map.service.js";
import type { AreaJobQueue, ChunkMessage } from "./area-job.queue.js";
import { type AreaJobRow, AreaJobStore } from "./area-job.store.js";
import type { PrismaClient } from "../generated/prisma/client.js";

/** The terrain maps of the imagery an area job works on. */
export interface AreaMaps {
  /** prepareArea: the maps of the imagery that answers over `box` for `date` (as terrainFilter picks it). */
  at(date: string | null | undefined, box: Box, z?: number): Promise<TerrainMapService>;
  /** A chunk: the maps of a job's source (a layer id); undefined when this process does not serve it. */
  of(source: string): Promise<TerrainMapService | undefined>;
}

export interface AreaJobLimits {
  maxTiles: number;
  maxPendingTiles: number;
  chunkTiles: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Cuts tiles into chunks of `size`, walking square blocks so each chunk is a compact range. */
export function chunkTiles(keys: TileKey[], size: number): TileKey[][] {
  const side = Math.max(1, Math.round(Math.sqrt(size)));
  const sorted = [...keys].sort(
    (a, b) => Math.floor(a.y / side) - Math.floor(b.y / side) || Math.floor(a.x / side) - Math.floor(b.x / side) || a.y - b.y || a.x - b.x,
  );
  const out: TileKey[][] = [];
  for (let i = 0; i < sorted.length; i += size) out.push(sorted.slice(i, i + size));
  return out;
}

export class AreaJobsService {
  private readonly store: AreaJobStore;

  constructor(
    prisma: PrismaClient,
    private readonly maps: AreaMaps,
    private readonly queue: AreaJobQueue,
    private readonly metrics: Metrics,
    private readonly limits: AreaJobLimits,
    private readonly log: (line: string) => void,
  ) {
    this.store = new AreaJobStore(prisma);
  }

  /** Starts working the queue and puts on it the chunks of jobs a crash left off it. */
  async start(): Promise<void> {
    await this.queue.start();
    for (const j of await this.store.notEnqueued(0)) await this.enqueue(j.id, j.chunksTotal);
    await this.queue.work(
      (m) => this.runChunk(m),
      (m, error) => this.giveUp(m, error),
    );
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  /** `box`: the region's bounding box, by which its imagery is picked (with `date`). */
  async prepare(a: RegionInput & { date?: string | null }, box: Box): Promise<AreaJobRow> {
    const maps = await this.maps.at(a.date, box, a.zoom ?? undefined);
    const region = await maps.region(a, { maxTiles: this.limits.maxTiles, setting: "AREA_JOB_MAX_TILES" });
    const { x0, x1, y0, y1 } = region.scope;
    const keys = region.parcel ? await this.store.tilesTouching(region.area.json, region.z, { x0, x1, y0, y1 }) : region.keys;
    const pending = await this.store.pendingTiles();
    if (pending + keys.length > this.limits.maxPendingTiles) {
      throw new GroundviewError(
        ErrorCode.AREA_JOBS_BUSY,
        `unfinished area jobs hold ${pending} tiles; this one (${keys.length} tiles) would pass AREA_JOB_MAX_PENDING_TILES = ${this.limits.maxPendingTiles}`,
        { pendingTiles: pending, tiles: keys.length, limit: this.limits.maxPendingTiles },
      );
    }
    const id = randomUUID();
    const chunks = chunkTiles(keys, this.limits.chunkTiles);
    await this.store.create(
      { id, source: maps.source, modelVersion: maps.modelVersion, zoom: region.z, area: JSON.parse(region.area.json) },
      chunks,
    );
    await this.enqueue(id, chunks.length);
    this.log(`area job ${id}: ${keys.length} tiles of ${maps.source} at zoom ${region.z} in ${chunks.length} chunks`);
    return (await this.store.get(id))!;
  }

  async get(id: string): Promise<AreaJobRow> {
    const job = UUID.test(id) ? await this.store.get(id) : null;
    if (!job) throw new GroundviewError(ErrorCode.AREA_JOB_NOT_FOUND, `no area job with id '${id}'`, { id });
    return job;
  }

  private async enqueue(id: string, chunks: number): Promise<void> {
    if (chunks) await this.queue.enqueue(id, chunks);
    await this.store.markEnqueued(id);
  }

  /** One chunk: its tiles analysed (stored ones reused), then counted in the job once. */
  private async runChunk(m: ChunkMessage): Promise<void> {
    const task = await this.store.chunk(m.jobId, m.chunk);
    if (!task || task.done) return;
    const maps = await this.maps.of(task.source);
    if (!maps) throw new Error(`area job ${m.jobId} is for imagery ${task.source}, which this process does not serve`);
    await this.store.markStarted(m.jobId);
    const stats = await maps.analyseTiles(task.keys);
    const outcome = {
      done: task.keys.length,
      withoutImagery: task.keys.length - stats.tilesAnalysed,
      computed: stats.tilesComputed,
      failed: 0,
    };
    const { counted, state } = await this.store.finishChunk(m.jobId, m.chunk, outcome);
    if (counted) this.metrics.areaJobTiles.inc({ result: "done" }, outcome.done);
    if (counted && state !== "RUNNING") this.log(`area job ${m.jobId}: ${state.toLowerCase()}`);
  }

  /** A chunk that failed every retry: its tiles counted as failed, so the job finishes (FAILED). */
  private async giveUp(m: ChunkMessage, error: string): Promise<void> {
    const task = await this.store.chunk(m.jobId, m.chunk);
    if (!task || task.done) return;
    const n = task.keys.length;
    const { counted, state } = await this.store.finishChunk(m.jobId, m.chunk, {
      done: 0,
      withoutImagery: 0,
      computed: 0,
      failed: n,
      error,
    });
    if (counted) this.metrics.areaJobTiles.inc({ result: "failed" }, n);
    if (counted) this.log(`area job ${m.jobId}: chunk ${m.chunk} failed (${error}); job ${state.toLowerCase()}`);
  }
}
