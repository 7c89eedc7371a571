/**
 * The satellite tile cache: memory LRU -> Postgres/PGlite -> upstream, read-through with expiry.
 *
 * - Single-flight: concurrent requests for one tile share one load inside a process, and a
 *   database lease makes processes sharing one database fetch it once between them.
 * - Revalidation: an expired tile is re-fetched conditionally (If-None-Match /
 *   If-Modified-Since); a 304 only moves the expiry.
 * - Negative caching: tiles the source does not have are remembered for a short TTL.
 * - Only validated images are stored; when upstream fails and an expired copy exists, the
 *   expired copy is served (stale-if-error) rather than an error.
 */
import { randomUUID } from "node:crypto";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { Metrics } from "../metrics/metrics.js";
import { inspectTileImage, InvalidTileImage, type TilePreview } from "./image-check.js";
import type { TileSource } from "./sources/tile-source.js";
import { UpstreamError } from "./sources/tile-source.js";
import { MemoryLru } from "../util/memory-lru.js";
import { SingleFlight } from "../util/single-flight.js";
import { type TileKey, tileKeyString, validateTileKey } from "./tile-math.js";
import { type AvailableWrite, contentHash, type StoredTile, TileStore } from "./tile-store.js";
import { Upstream, type UpstreamPolicy } from "./upstream.js";

export interface TileCacheSettings extends UpstreamPolicy {
  ttlSeconds: number;
  negativeTtlSeconds: number;
  maxPixels: number;
  memoryBytes: number;
  leaseTtlMs: number;
  leasePollMs: number;
  /** Side of the models' square input: a fetched tile's validating decode also makes it (CachedTile.preview). */
  previewSize?: number;
}

/** A tile as served: the bytes plus what HTTP caching needs. */
export interface CachedTile {
  readonly key: TileKey;
  readonly bytes: Uint8Array;
  readonly contentType: string;
  /** sha256 of the bytes; the strong ETag. */
  readonly contentHash: string;
  readonly fetchedAt: Date;
  readonly expiresAt: Date;
  readonly pinned: boolean;
  /** True when served past its expiry because upstream failed. */
  readonly stale: boolean;
  /**
   * The models' input made by the decode that validated a just-fetched tile; only on the tile
   * handed to the requests that fetched it (the memory cache keeps the bytes alone).
   */
  readonly preview?: TilePreview;
}

type Entry = { missing: true; expiresAt: Date } | { missing: false; tile: CachedTile };

/** The row write an upstream answer needs. */
type PendingWrite =
  | { kind: "available"; write: AvailableWrite }
  | { kind: "missing"; fetchedAt: Date; expiresAt: Date }
  | { kind: "extend"; fetchedAt: Date; expiresAt: Date };

export type CacheState = "memory" | "database" | "absent";

export class TileCache {
  private readonly memory: MemoryLru<Entry>;
  private readonly inFlight = new SingleFlight<Entry>();
  private readonly upstream: Upstream;
  private readonly store: TileStore;
  private readonly owner = randomUUID();

  constructor(
    store: TileStore,
    readonly source: TileSource,
    private readonly settings: TileCacheSettings,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    this.store = store;
    this.memory = new MemoryLru(settings.memoryBytes, (b) => metrics.memoryCacheBytes.set(b));
    this.upstream = new Upstream(source, settings, metrics);
  }

  /**
   * The tile at `key`, from cache or upstream.
   * @throws GroundviewError OUT_OF_RANGE, TILE_NOT_FOUND (outside coverage) or TILE_UNAVAILABLE
   */
  async get(key: TileKey): Promise<CachedTile> {
    validateTileKey(key, this.source.zoom);
    const id = tileKeyString(key);
    const hot = this.memory.get(id);
    if (hot && this.fresh(hot.missing ? { pinned: false, expiresAt: hot.expiresAt } : hot.tile)) {
      this.metrics.tileCacheLookups.inc({
        result: hot.missing ? "negative_hit" : "memory_hit",
      });
      return this.unwrap(key, hot);
    }
    const pending = this.inFlight.run(
      id,
      () => this.load(key),
      () => this.metrics.singleFlightJoins.inc({ scope: "process" }),
    );
    return this.unwrap(key, await pending);
  }

  /** Where a tile currently is, without fetching it. */
  async state(key: TileKey): Promise<{ state: CacheState; tile?: CachedTile }> {
    const hot = this.memory.get(tileKeyString(key));
    if (hot && !hot.missing && this.fresh(hot.tile)) return { state: "memory", tile: hot.tile };
    const stored = this.fromRow(key, await this.store.get(this.source.id, key));
    return stored && !stored.missing ? { state: "database", tile: stored.tile } : { state: "absent" };
  }

  /** Pinned (imported) tiles never expire; everything else is fresh until its expiry. */
  private fresh(t: { pinned: boolean; expiresAt: Date }): boolean {
    return t.pinned || t.expiresAt.valueOf() > this.now();
  }

  private unwrap(key: TileKey, e: Entry): CachedTile {
    if (e.missing) {
      throw new GroundviewError(ErrorCode.TILE_NOT_FOUND, `the tile source has no imagery for tile ${tileKeyString(key)}`, {
        z: key.z,
        x: key.x,
        y: key.y,
      });
    }
    return e.tile;
  }

  private remember(key: TileKey, e: Entry): Entry {
    const kept: Entry = !e.missing && e.tile.preview ? { missing: false, tile: { ...e.tile, preview: undefined } } : e;
    this.memory.set(tileKeyString(key), kept, kept.missing ? 64 : kept.tile.bytes.byteLength + 256);
    return e;
  }

  /** Database, then upstream under the cross-process lease. */
  private async load(key: TileKey): Promise<Entry> {
    const deadline = this.now() + this.settings.leaseTtlMs + this.settings.timeoutMs * (this.settings.retries + 1);
    let waited = false;
    for (;;) {
      const row = await this.store.get(this.source.id, key);
      const fromRow = this.fromRow(key, row);
      if (fromRow) {
        this.metrics.tileCacheLookups.inc({
          result: fromRow.missing ? "negative_hit" : "db_hit",
        });
        return this.remember(key, fromRow);
      }
      if (await this.store.acquireLease(this.source.id, key, this.owner, this.settings.leaseTtlMs)) {
        try {
          // Re-read under the lease: another process may have finished just before we won it.
          const again = this.fromRow(key, await this.store.get(this.source.id, key));
          if (again) return this.remember(key, again);
          this.metrics.tileCacheLookups.inc({ result: "miss" });
          return await this.fetchAndStore(key, row);
        } finally {
          await this.store.releaseLease(this.source.id, key, this.owner).catch(() => undefined);
        }
      }
      if (!waited) this.metrics.singleFlightJoins.inc({ scope: "lease" });
      waited = true;
      if (this.now() > deadline) {
        throw new GroundviewError(ErrorCode.TILE_UNAVAILABLE, `timed out waiting for tile ${tileKeyString(key)}`);
      }
      await new Promise((r) => setTimeout(r, this.settings.leasePollMs));
    }
  }

  /** A fresh row as a cache entry, or undefined when upstream must be asked. */
  private fromRow(key: TileKey, row: StoredTile | null): Entry | undefined {
    if (!row || !this.fresh(row)) return undefined;
    if (row.status === "MISSING") return { missing: true, expiresAt: row.expiresAt };
    return { missing: false, tile: toCached(key, row, false) };
  }

  private expiry(maxAgeSeconds: number | undefined, negative = false): Date {
    const ttl = negative
      ? this.settings.negativeTtlSeconds
      : maxAgeSeconds !== undefined && maxAgeSeconds > 0
        ? Math.min(maxAgeSeconds, this.settings.ttlSeconds)
        : this.settings.ttlSeconds;
    return new Date(this.now() + ttl * 1000);
  }

  private async fetchAndStore(key: TileKey, previous: StoredTile | null): Promise<Entry> {
    const got = await this.fetchUpstream(key, previous);
    if (got.write) await this.write(key, got.write);
    return this.remember(key, got.entry);
  }

  /** Stores what an upstream answer needs in the tile's row. */
  private async write(key: TileKey, w: PendingWrite): Promise<void> {
    const src = this.source.id;
    if (w.kind === "missing") await this.store.putMissing(src, key, w.fetchedAt, w.expiresAt);
    else if (w.kind === "extend") await this.store.extend(src, key, w.fetchedAt, w.expiresAt);
    else await this.store.putAvailable(src, key, w.write);
  }

  /**
   * Asks upstream and validates what it sends; returns the cache entry and the row write it
   * needs (none when upstream failed and a stale copy is served). Throws TILE_UNAVAILABLE.
   */
  private async fetchUpstream(key: TileKey, previous: StoredTile | null): Promise<{ entry: Entry; write?: PendingWrite }> {
    const src = this.source.id;
    const stale = previous?.status === "AVAILABLE" ? previous : null;
    let result;
    try {
      result = await this.upstream.fetch(key, {
        etag: stale?.upstreamEtag ?? undefined,
        lastModified: stale?.upstreamLastModified ?? undefined,
      });
    } catch (err) {
      return { entry: this.failed(key, stale, err) };
    }
    const fetchedAt = new Date(this.now());
    if (result.kind === "missing") {
      const expiresAt = this.expiry(undefined, true);
      return { entry: { missing: true, expiresAt }, write: { kind: "missing", fetchedAt, expiresAt } };
    }
    if (result.kind === "not-modified") {
      if (!stale) return { entry: this.failed(key, null, new UpstreamError("upstream answered 304 to an unconditional request", false)) };
      const expiresAt = this.expiry(result.maxAgeSeconds);
      return {
        entry: { missing: false, tile: toCached(key, { ...stale, fetchedAt, expiresAt }, false) },
        write: { kind: "extend", fetchedAt, expiresAt },
      };
    }
    let contentType: string;
    let preview: TilePreview | undefined;
    try {
      ({ mime: contentType, preview } = await inspectTileImage(result.tile.bytes, this.settings.maxPixels, this.settings.previewSize));
    } catch (err) {
      this.metrics.upstreamFetches.inc({ source: src, outcome: "invalid" });
      return { entry: this.failed(key, stale, err) };
    }
    const expiresAt = this.expiry(result.tile.maxAgeSeconds);
    const write: AvailableWrite = {
      bytes: result.tile.bytes,
      contentType,
      upstreamEtag: result.tile.etag,
      upstreamLastModified: result.tile.lastModified,
      fetchedAt,
      expiresAt,
    };
    const tile: CachedTile = {
      key,
      bytes: result.tile.bytes,
      contentType,
      contentHash: contentHash(result.tile.bytes),
      fetchedAt,
      expiresAt,
      pinned: false,
      stale: false,
      preview,
    };
    return { entry: { missing: false, tile }, write: { kind: "available", write } };
  }

  /**
   * Many tiles of one zoom, as get() gives them one by one, in a few statements: one read of
   * the stored rows, one lease statement, upstream fetches at the upstream's concurrency, one
   * write of the fetched images, one lease release. Tiles whose lease another process holds
   * are left to get() (which waits for it). Each result is the tile or the error get() would
   * have thrown.
   */
  async getMany(keys: TileKey[]): Promise<Map<string, CachedTile | GroundviewError>> {
    const out = new Map<string, CachedTile | GroundviewError>();
    const settle = async (id: string, p: Promise<CachedTile>) => {
      try {
        out.set(id, await p);
      } catch (err) {
        if (!(err instanceof GroundviewError)) throw err;
        out.set(id, err);
      }
    };
    const rest: TileKey[] = [];
    const joined: Promise<void>[] = [];
    for (const key of keys) {
      validateTileKey(key, this.source.zoom);
      const id = tileKeyString(key);
      const hot = this.memory.get(id);
      if ((hot && this.fresh(hot.missing ? { pinned: false, expiresAt: hot.expiresAt } : hot.tile)) || this.inFlight.has(id)) {
        joined.push(settle(id, this.get(key)));
      } else rest.push(key);
    }
    if (rest.length) {
      if (new Set(rest.map((k) => k.z)).size > 1) {
        joined.push(...rest.map((k) => settle(tileKeyString(k), this.get(k))));
      } else {
        joined.push(this.loadMany(rest, settle));
      }
    }
    await Promise.all(joined);
    return out;
  }

  private async loadMany(keys: TileKey[], settle: (id: string, p: Promise<CachedTile>) => Promise<void>): Promise<void> {
    const src = this.source.id;
    const rows = await this.store.getMany(src, keys);
    const toFetch: TileKey[] = [];
    const done: Promise<void>[] = [];
    for (const key of keys) {
      const id = tileKeyString(key);
      const e = this.fromRow(key, rows.get(id) ?? null);
      if (e) {
        this.metrics.tileCacheLookups.inc({ result: e.missing ? "negative_hit" : "db_hit" });
        this.remember(key, e);
        done.push(
          settle(
            id,
            Promise.resolve().then(() => this.unwrap(key, e)),
          ),
        );
      } else toFetch.push(key);
    }
    const won = await this.store.acquireLeases(src, toFetch, this.owner, this.settings.leaseTtlMs);
    const mine = toFetch.filter((k) => won.has(tileKeyString(k)));
    for (const k of toFetch) if (!won.has(tileKeyString(k))) done.push(settle(tileKeyString(k), this.get(k)));
    if (mine.length) {
      // Concurrent get()s of these tiles join this batch instead of fetching again.
      const entries = new Map<string, { resolve: (e: Entry) => void; reject: (err: unknown) => void }>();
      for (const k of mine) {
        const id = tileKeyString(k);
        const p = this.inFlight.track(id, new Promise<Entry>((resolve, reject) => entries.set(id, { resolve, reject })));
        p.catch(() => undefined);
        done.push(
          settle(
            id,
            p.then((e) => this.unwrap(k, e)),
          ),
        );
      }
      try {
        const got = await Promise.all(
          mine.map((k) =>
            this.fetchUpstream(k, rows.get(tileKeyString(k)) ?? null).then(
              (r) => ({ k, r, err: undefined as unknown }),
              (err: unknown) => ({ k, r: undefined, err }),
            ),
          ),
        );
        this.metrics.tileCacheLookups.inc({ result: "miss" }, mine.length);
        const available = got.flatMap(({ k, r }) => (r?.write?.kind === "available" ? [{ key: k, write: r.write.write }] : []));
        await this.store.putAvailableMany(src, available);
        for (const { k, r } of got) if (r?.write && r.write.kind !== "available") await this.write(k, r.write);
        for (const { k, r, err } of got) {
          const d = entries.get(tileKeyString(k))!;
          if (r) d.resolve(this.remember(k, r.entry));
          else d.reject(err);
        }
      } catch (err) {
        for (const d of entries.values()) d.reject(err);
      } finally {
        await this.store.releaseLeases(src, mine, this.owner).catch(() => undefined);
      }
    }
    await Promise.all(done);
  }

  /** Upstream failed: serve the expired copy if there is one, else a TILE_UNAVAILABLE error. */
  private failed(key: TileKey, stale: StoredTile | null, err: unknown): Entry {
    if (stale) {
      this.metrics.tileCacheLookups.inc({ result: "stale_served" });
      return { missing: false, tile: toCached(key, stale, true) };
    }
    const reason = err instanceof InvalidTileImage ? `invalid image from upstream (${err.message})` : (err as Error).message;
    throw new GroundviewError(ErrorCode.TILE_UNAVAILABLE, `tile ${tileKeyString(key)} is unavailable: ${reason}`, {
      z: key.z,
      x: key.x,
      y: key.y,
      retryable: err instanceof UpstreamError ? err.retryable : false,
    });
  }
}

function toCached(key: TileKey, row: StoredTile, stale: boolean): CachedTile {
  return {
    key,
    bytes: row.bytes as Uint8Array,
    contentType: row.contentType as string,
    contentHash: row.contentHash as string,
    fetchedAt: row.fetchedAt,
    expiresAt: row.expiresAt,
    pinned: row.pinned,
    stale,
  };
}
