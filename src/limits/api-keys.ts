/**
 * Optional API keys. A key is 32 random bytes (`gv_` + base64url), shown once when created;
 * the database keeps its sha256 (a fast hash is right for high-entropy random secrets: there is
 * nothing to brute-force), its first characters to tell keys apart, and its own quota.
 * Lookups are cached briefly in memory so that a keyed request costs no query; a revocation
 * is seen by this process at once and by other processes within KEY_CACHE_MS.
 */
import { createHash, randomBytes } from "node:crypto";
import type { PrismaClient } from "../generated/prisma/client.js";

export const KEY_PREFIX = "gv_";
/** How long a key lookup (hit or miss) is remembered. */
export const KEY_CACHE_MS = 10_000;
const PREFIX_SHOWN = 10;

export interface ApiKeyInfo {
  id: number;
  name: string;
  keyPrefix: string;
  costPerMinute: number;
  createdAt: Date;
  revokedAt: Date | null;
}

export const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

export class ApiKeyStore {
  private readonly cache = new Map<string, { info: ApiKeyInfo | null; at: number }>();

  constructor(private readonly prisma: PrismaClient) {}

  /** Creates a key; the returned `key` is the only time the secret exists outside the client. */
  async create(name: string, costPerMinute: number): Promise<{ key: string; info: ApiKeyInfo }> {
    if (!name.trim()) throw new Error("a key needs a name");
    if (!Number.isInteger(costPerMinute) || costPerMinute <= 0)
      throw new Error("the quota must be a positive integer (cost units per minute)");
    const key = KEY_PREFIX + randomBytes(32).toString("base64url");
    const row = await this.prisma.apiKey.create({
      data: { name: name.trim(), keyHash: hashKey(key), keyPrefix: key.slice(0, PREFIX_SHOWN), costPerMinute },
    });
    return { key, info: toInfo(row) };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.prisma.apiKey.findMany({ orderBy: { id: "asc" } })).map(toInfo);
  }

  /** Revokes by id or by the shown prefix; returns the revoked key, undefined when none matched. */
  async revoke(idOrPrefix: string): Promise<ApiKeyInfo | undefined> {
    const where = /^\d+$/.test(idOrPrefix) ? { id: Number(idOrPrefix) } : { keyPrefix: idOrPrefix };
    const matches = await this.prisma.apiKey.findMany({ where: { ...where, revokedAt: null } });
    if (matches.length > 1) throw new Error(`'${idOrPrefix}' matches ${matches.length} keys; revoke by id`);
    if (!matches.length) return undefined;
    const row = await this.prisma.apiKey.update({ where: { id: matches[0].id }, data: { revokedAt: new Date() } });
    this.cache.clear();
    return toInfo(row);
  }

  /** The live key a client sent, or null when it is unknown or revoked. */
  async verify(key: string): Promise<ApiKeyInfo | null> {
    const hash = hashKey(key);
    const hit = this.cache.get(hash);
    const now = Date.now();
    if (hit && now - hit.at < KEY_CACHE_MS) return hit.info;
    const row = key.startsWith(KEY_PREFIX) ? await this.prisma.apiKey.findUnique({ where: { keyHash: hash } }) : null;
    const info = row && !row.revokedAt ? toInfo(row) : null;
    if (this.cache.size > 10_000) this.cache.clear(); // unknown keys must not grow it without bound
    this.cache.set(hash, { info, at: now });
    return info;
  }
}

function toInfo(r: ApiKeyInfo & { keyHash?: string }): ApiKeyInfo {
  return { id: r.id, name: r.name, keyPrefix: r.keyPrefix, costPerMinute: r.costPerMinute, createdAt: r.createdAt, revokedAt: r.revokedAt };
}
