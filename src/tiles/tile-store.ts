/**
 * All database access of the tile cache: rows of `satellite_tile` and the cross-process fetch
 * leases of `tile_fetch_lease`. Each write is a single statement, so a stored tile is never
 * half-written and a failed write leaves the previous row intact.
 */
import { createHash } from "node:crypto";
import type { ImportedCoverage } from "./sources/source-factory.js";
import { Prisma, type PrismaClient } from "../generated/prisma/client.js";
import { type TileKey, tileKeyString } from "./tile-math.js";

export interface StoredTile {
  status: "AVAILABLE" | "MISSING";
  bytes: Uint8Array | null;
  contentType: string | null;
  contentHash: string | null;
  upstreamEtag: string | null;
  upstreamLastModified: string | null;
  pinned: boolean;
  fetchedAt: Date;
  expiresAt: Date;
}

export interface AvailableWrite {
  bytes: Uint8Array;
  contentType: string;
  upstreamEtag?: string;
  upstreamLastModified?: string;
  fetchedAt: Date;
  expiresAt: Date;
  pinned?: boolean;
}

export const contentHash = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const SELECT = {
  status: true,
  bytes: true,
  contentType: true,
  contentHash: true,
  upstreamEtag: true,
  upstreamLastModified: true,
  pinned: true,
  fetchedAt: true,
  expiresAt: true,
} as const;

export class TileStore {
  constructor(readonly prisma: PrismaClient) {}

  async get(source: string, k: TileKey): Promise<StoredTile | null> {
    return this.prisma.satelliteTile.findUnique({
      where: { source_z_x_y: { source, ...k } },
      select: SELECT,
    });
  }

  /**
   * Rows of many tiles of one zoom in one query (the caller's batch: a terrain map's tiles),
   * by "z/x/y"; tiles without a row are absent.
   */
  async getMany(source: string, keys: TileKey[]): Promise<Map<string, StoredTile>> {
    const out = new Map<string, StoredTile>();
    if (!keys.length) return out;
    const z = keys[0].z;
    if (keys.some((k) => k.z !== z)) throw new Error("getMany: one zoom at a time");
    const xs = keys.map((k) => k.x);
    const ys = keys.map((k) => k.y);
    const rows = await this.prisma.satelliteTile.findMany({
      where: { source, z, x: { gte: Math.min(...xs), lte: Math.max(...xs) }, y: { gte: Math.min(...ys), lte: Math.max(...ys) } },
      select: { ...SELECT, x: true, y: true },
    });
    const wanted = new Set(keys.map(tileKeyString));
    for (const { x, y, ...tile } of rows) {
      const id = tileKeyString({ z, x, y });
      if (wanted.has(id)) out.set(id, tile);
    }
    return out;
  }

  /**
   * Stores many images in one statement (all or none); returns their content hashes in order.
   * Pinned rows are never overwritten by fetched ones.
   */
  async putAvailableMany(source: string, items: { key: TileKey; write: AvailableWrite }[]): Promise<string[]> {
    if (!items.length) return [];
    const hashes = items.map((i) => contentHash(i.write.bytes));
    const values = items.map(
      (
        { key: k, write: t },
        i,
      ) => Prisma.sql`(${source}, ${k.z}::int, ${k.x}::int, ${k.y}::int, 'AVAILABLE'::tile_status, ${Buffer.from(t.bytes)},
        ${t.contentType}, ${hashes[i]}, ${t.bytes.byteLength}::int, ${t.upstreamEtag ?? null}, ${t.upstreamLastModified ?? null},
        ${t.pinned ?? false}, ${t.fetchedAt}::timestamptz, ${t.expiresAt}::timestamptz)`,
    );
    await this.prisma.$executeRaw`
      INSERT INTO satellite_tile (source, z, x, y, status, bytes, content_type, content_hash, byte_length, upstream_etag,
        upstream_last_modified, pinned, fetched_at, expires_at)
      VALUES ${Prisma.join(values)}
      ON CONFLICT (source, z, x, y) DO UPDATE SET status = EXCLUDED.status, bytes = EXCLUDED.bytes,
        content_type = EXCLUDED.content_type, content_hash = EXCLUDED.content_hash, byte_length = EXCLUDED.byte_length,
        upstream_etag = EXCLUDED.upstream_etag, upstream_last_modified = EXCLUDED.upstream_last_modified,
        pinned = EXCLUDED.pinned, fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at
      WHERE NOT satellite_tile.pinned OR EXCLUDED.pinned`;
    return hashes;
  }

  /** Stores an image; returns its content hash. */
  async putAvailable(source: string, k: TileKey, t: AvailableWrite): Promise<string> {
    const hash = contentHash(t.bytes);
    const data = {
      status: "AVAILABLE" as const,
      bytes: Buffer.from(t.bytes) as Uint8Array<ArrayBuffer>,
      contentType: t.contentType,
      contentHash: hash,
      byteLength: t.bytes.byteLength,
      upstreamEtag: t.upstreamEtag ?? null,
      upstreamLastModified: t.upstreamLastModified ?? null,
      pinned: t.pinned ?? false,
      fetchedAt: t.fetchedAt,
      expiresAt: t.expiresAt,
    };
    await this.prisma.satelliteTile.upsert({
      where: { source_z_x_y: { source, ...k } },
      create: { source, ...k, ...data },
      update: data,
    });
    return hash;
  }

  /** Records that the source has no tile here, unless an imported (pinned) tile exists. */
  async putMissing(source: string, k: TileKey, fetchedAt: Date, expiresAt: Date): Promise<void> {
    const data = {
      status: "MISSING" as const,
      bytes: null,
      contentType: null,
      contentHash: null,
      byteLength: 0,
      upstreamEtag: null,
      upstreamLastModified: null,
      fetchedAt,
      expiresAt,
    };
    await this.prisma.satelliteTile.upsert({
      where: { source_z_x_y: { source, ...k } },
      create: { source, ...k, ...data },
      update: data,
    });
  }

  /** A 304 from upstream: the bytes are still good, only the expiry moves. */
  async extend(source: string, k: TileKey, fetchedAt: Date, expiresAt: Date): Promise<void> {
    await this.prisma.satelliteTile.update({
      where: { source_z_x_y: { source, ...k } },
      data: { fetchedAt, expiresAt },
    });
  }

  /**
   * Takes the fetch lease for a tile if nobody holds a live one. Returns true when taken.
   * One statement: concurrent callers (any process) cannot both win.
   */
  async acquireLease(source: string, k: TileKey, owner: string, ttlMs: number): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ owner: string }[]>`
      INSERT INTO tile_fetch_lease (source, z, x, y, owner, expires_at)
      VALUES (${source}, ${k.z}, ${k.x}, ${k.y}, ${owner}, now() + ${ttlMs} * interval '1 millisecond')
      ON CONFLICT (source, z, x, y) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
      WHERE tile_fetch_lease.expires_at < now()
      RETURNING owner`;
    return rows.length === 1 && rows[0].owner === owner;
  }

  /** acquireLease for many tiles of one zoom in one statement; returns the "z/x/y" of those taken. */
  async acquireLeases(source: string, keys: TileKey[], owner: string, ttlMs: number): Promise<Set<string>> {
    if (!keys.length) return new Set();
    const rows = await this.prisma.$queryRaw<{ z: number; x: number; y: number; owner: string }[]>`
      INSERT INTO tile_fetch_lease (source, z, x, y, owner, expires_at)
      SELECT ${source}, k.z, k.x, k.y, ${owner}, now() + ${ttlMs} * interval '1 millisecond'
      FROM unnest(${keys.map((k) => k.z)}::int[], ${keys.map((k) => k.x)}::int[], ${keys.map((k) => k.y)}::int[]) AS k(z, x, y)
      ON CONFLICT (source, z, x, y) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
      WHERE tile_fetch_lease.expires_at < now()
      RETURNING z, x, y, owner`;
    return new Set(rows.filter((r) => r.owner === owner).map((r) => tileKeyString(r)));
  }

  async releaseLeases(source: string, keys: TileKey[], owner: string): Promise<void> {
    if (!keys.length) return;
    await this.prisma.$executeRaw`
      DELETE FROM tile_fetch_lease l
      USING unnest(${keys.map((k) => k.z)}::int[], ${keys.map((k) => k.x)}::int[], ${keys.map((k) => k.y)}::int[]) AS k(z, x, y)
      WHERE l.source = ${source} AND l.owner = ${owner} AND l.z = k.z AND l.x = k.x AND l.y = k.y`;
  }

  async releaseLease(source: string, k: TileKey, owner: string): Promise<void> {
    await this.prisma.tileFetchLease.deleteMany({
      where: { source, ...k, owner },
    });
  }

  /** Whether a live lease is held by anyone for this tile. */
  async leaseHeld(source: string, k: TileKey): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ n: number }[]>`
      SELECT 1 AS n FROM tile_fetch_lease
      WHERE source = ${source} AND z = ${k.z} AND x = ${k.x} AND y = ${k.y} AND expires_at >= now()`;
    return rows.length > 0;
  }

  /** The zooms and extent of a source's pinned (imported) tiles; undefined when it has none. */
  async pinnedCoverage(source: string): Promise<ImportedCoverage | undefined> {
    const [r] = await this.prisma.$queryRaw<{ minz: number | null; maxz: number; w: number; s: number; e: number; n: number }[]>`
      SELECT min(z) AS minz, max(z) AS maxz, ST_XMin(ST_Extent(bounds)) AS w, ST_YMin(ST_Extent(bounds)) AS s,
             ST_XMax(ST_Extent(bounds)) AS e, ST_YMax(ST_Extent(bounds)) AS n
      FROM satellite_tile WHERE source = ${source} AND pinned`;
    if (r.minz === null) return undefined; // no pinned rows: every aggregate is null
    return { minZoom: Number(r.minz), maxZoom: Number(r.maxz), bounds: [Number(r.w), Number(r.s), Number(r.e), Number(r.n)] };
  }

  /** Content hashes of a source's pinned tiles within a zoom range, by "z/x/y". */
  async pinnedHashes(source: string, minZoom: number, maxZoom: number): Promise<Map<string, string>> {
    const rows = await this.prisma.$queryRaw<{ z: number; x: number; y: number; h: string }[]>`
      SELECT z, x, y, content_hash AS h FROM satellite_tile
      WHERE source = ${source} AND pinned AND status = 'AVAILABLE' AND z BETWEEN ${minZoom} AND ${maxZoom}`;
    return new Map(rows.map((r) => [`${r.z}/${r.x}/${r.y}`, r.h]));
  }

  async count(source: string): Promise<number> {
    return this.prisma.satelliteTile.count({ where: { source } });
  }
}
