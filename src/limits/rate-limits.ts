/**
 * Per-client rate limits on cost per minute (fixed one-minute windows, rate-limiter-flexible).
 * A client is its API key when it sends one (`x-api-key: gv_…` or `Authorization: Bearer gv_…`),
 * each key with its own quota; otherwise its address (the socket's, or with TRUST_PROXY the first
 * X-Forwarded-For hop) with the anonymous quota. Counters live in PostgreSQL when the service
 * runs on a server database (so every service process on it shares them) and in memory in the
 * embedded mode (one process per store). GraphQL is charged its estimated cost before it runs,
 * tile and landscape GETs a fixed cost each.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type pg from "pg";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { ApiKeyStore } from "./api-keys.js";

export const WINDOW_SECONDS = 60;

export interface RateLimitOptions {
  /** Cost units a minute for clients without a key; 0: unlimited. */
  anonymousPerMinute: number;
  trustProxy: boolean;
  /** Server mode: counters in this database, shared by every process on it. */
  pool?: pg.Pool;
}

export interface Client {
  /** Counter key: `key:<id>` or `ip:<address>`. */
  id: string;
  kind: "key" | "anonymous";
  /** Cost units a minute; 0 is unlimited. */
  perMinute: number;
  name?: string;
}

/** The outcome of charging a client: what the RateLimit headers say. */
export interface Charge {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export class RateLimits {
  private readonly limiters = new Map<number, RateLimiterAbstract>();
  /** Clients whose minute this process saw used up, with when their window ends (ms epoch). */
  private readonly spentUntil = new Map<string, number>();
  /** Per client, per digest of a request body, a refusal of this window (see refusedAgain). */
  private readonly refused = new Map<string, Map<string, { until: number; cost: number; charge: Charge }>>();

  constructor(
    private readonly opts: RateLimitOptions,
    private readonly keys: ApiKeyStore,
  ) {}

  /** Who is asking; a key that is unknown or revoked is refused (INVALID_API_KEY), not treated as anonymous. */
  async identify(req: IncomingMessage): Promise<Client> {
    const auth = req.headers.authorization;
    const sent = (req.headers["x-api-key"] as string | undefined) ?? (auth?.startsWith("Bearer ") ? auth.slice(7).trim() : undefined);
    if (sent !== undefined) {
      const key = await this.keys.verify(sent);
      if (!key) throw new GroundviewError(ErrorCode.INVALID_API_KEY, "the API key is unknown or revoked");
      return { id: `key:${key.id}`, kind: "key", perMinute: key.costPerMinute, name: key.name };
    }
    return { id: `ip:${this.address(req)}`, kind: "anonymous", perMinute: this.opts.anonymousPerMinute };
  }

  private address(req: IncomingMessage): string {
    const fwd = this.opts.trustProxy ? (req.headers["x-forwarded-for"] as string | undefined)?.split(",")[0]?.trim() : undefined;
    return fwd || req.socket.remoteAddress || "unknown";
  }

  /** Takes `cost` from the client's minute; refused (nothing taken) when it does not fit. */
  async charge(client: Client, cost: number): Promise<Charge> {
    if (client.perMinute <= 0) return { allowed: true, limit: 0, remaining: 0, resetSeconds: 0 };
    const limiter = this.limiter(client.perMinute);
    const points = Math.max(0, Math.ceil(cost));
    try {
      const r = await limiter.consume(client.id, points);
      if (r.remainingPoints <= 0) this.markSpent(client.id, r.msBeforeNext);
      return { allowed: true, limit: client.perMinute, remaining: r.remainingPoints, resetSeconds: Math.ceil(r.msBeforeNext / 1000) };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      // consume() counted the refused points; give them back so a refused request costs nothing.
      await limiter.reward(client.id, points).catch(() => undefined);
      const remaining = Math.max(0, client.perMinute - (err.consumedPoints - points));
      if (remaining <= 0) this.markSpent(client.id, err.msBeforeNext);
      return { allowed: false, limit: client.perMinute, remaining, resetSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
    }
  }

  /**
   * The refusal for a client this process has seen use up its minute, without charging anything
   * or asking the store (no I/O: a flood from an exhausted client is refused before any parsing);
   * undefined otherwise, and then `charge` decides, with every process's counts.
   */
  exhausted(client: Client): Charge | undefined {
    const until = this.spentUntil.get(client.id);
    if (until === undefined) return undefined;
    const ms = until - Date.now();
    if (ms <= 0) {
      this.spentUntil.delete(client.id);
      return undefined;
    }
    return { allowed: false, limit: client.perMinute, remaining: 0, resetSeconds: Math.max(1, Math.ceil(ms / 1000)) };
  }

  /**
   * A request body this client was refused for in its current window: sent again before the
   * window ends it is refused again without being parsed or costed (what is left of the minute
   * only shrinks until then, and the refusal's Retry-After said when to come back). Undefined
   * otherwise. The charge is the first refusal's (its remaining units are an upper bound). Only
   * a client with refusals on record has its body digested.
   */
  refusedAgain(client: Client, body: string): { cost: number; charge: Charge } | undefined {
    const bodies = this.refused.get(client.id);
    if (!bodies) return undefined;
    const digest = bodyDigest(body);
    const r = bodies.get(digest);
    if (!r) return undefined;
    const ms = r.until - Date.now();
    if (ms <= 0) {
      bodies.delete(digest);
      if (!bodies.size) this.refused.delete(client.id);
      return undefined;
    }
    return { cost: r.cost, charge: { ...r.charge, resetSeconds: Math.max(1, Math.ceil(ms / 1000)) } };
  }

  /** Remembers a refused charge for refusedAgain (at most 10,000 clients and 1,000 bodies each; expired ones are dropped first). */
  rememberRefusal(client: Client, body: string, cost: number, charge: Charge): void {
    if (charge.allowed) return;
    const now = Date.now();
    let bodies = this.refused.get(client.id);
    if (!bodies) {
      if (this.refused.size >= 10_000) this.refused.clear();
      this.refused.set(client.id, (bodies = new Map()));
    }
    if (bodies.size >= 1_000) {
      for (const [k, r] of bodies) if (r.until <= now) bodies.delete(k);
      if (bodies.size >= 1_000) bodies.clear();
    }
    bodies.set(bodyDigest(body), { until: now + charge.resetSeconds * 1000, cost, charge });
  }

  private markSpent(id: string, msBeforeNext: number): void {
    const now = Date.now();
    if (this.spentUntil.size >= 10_000) for (const [k, until] of this.spentUntil) if (until <= now) this.spentUntil.delete(k);
    this.spentUntil.set(id, now + msBeforeNext);
  }

  /** One limiter per quota (rate-limiter-flexible fixes the points per instance); all share one table. */
  private limiter(perMinute: number): RateLimiterAbstract {
    let l = this.limiters.get(perMinute);
    if (!l) {
      const base = { points: perMinute, duration: WINDOW_SECONDS, keyPrefix: `q${perMinute}` };
      const pool = this.opts.pool;
      l = pool
        ? new RateLimiterPostgres({
            ...base,
            storeClient: pool,
            storeType: "pool",
            tableName: "rate_limit_counter",
            // Made by a migration: the library's own CREATE TABLE IF NOT EXISTS races between processes.
            tableCreated: true,
            clearExpiredByTimeout: true,
          })
        : new RateLimiterMemory(base);
      this.limiters.set(perMinute, l);
    }
    return l;
  }
}

function bodyDigest(body: string): string {
  return createHash("sha256").update(body).digest("base64");
}

/** The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers) and, when refused, Retry-After. */
export function rateLimitHeaders(c: Charge): Record<string, string> {
  if (c.limit <= 0) return {};
  const h: Record<string, string> = {
    "ratelimit-policy": `"cost";q=${c.limit};w=${WINDOW_SECONDS}`,
    ratelimit: `"cost";r=${c.remaining};t=${c.resetSeconds}`,
  };
  if (!c.allowed) h["retry-after"] = String(c.resetSeconds);
  return h;
}

/** RATE_LIMITED for a refused charge; without `cost`, the minute was used up before the request was read. */
export function rateLimitedError(c: Charge, cost?: number): GroundviewError {
  const why =
    cost === undefined
      ? `the ${c.limit} units of this minute are used up`
      : `this request costs ${cost} and ${c.remaining} of ${c.limit} units a minute are left`;
  return new GroundviewError(ErrorCode.RATE_LIMITED, `rate limit: ${why}; retry in ${c.resetSeconds} s`, {
    ...(cost === undefined ? {} : { cost }),
    limit: c.limit,
    remaining: c.remaining,
    retryAfterSeconds: c.resetSeconds,
  });
}
