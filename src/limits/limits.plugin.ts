/**
 * The GraphQL side of the limits: the graphql-armor validation rules (aliases, depth,
 * directives, no field suggestions), and an Apollo plugin that estimates each operation's cost
 * once it is parsed and validated, refuses it above QUERY_MAX_COST (QUERY_TOO_COSTLY), and
 * charges it to the client's rate limit (RATE_LIMITED) — all before any resolver runs.
 * The token limit is the parser's own (`parseOptions.maxTokens`), so an oversized document is
 * refused while it is being read, before the quadratic parts of validation.
 */
import { layerId } from "../imagery/imagery-date.js";
import type { ApolloServerPlugin } from "@apollo/server";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import type { ValidationRule } from "graphql";
import type { PrismaClient } from "../generated/prisma/client.js";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { Charge, Client, RateLimits } from "./rate-limits.js";
import { rateLimitedError } from "./rate-limits.js";
import { type CostProbe, estimateCost } from "./query-cost.js";
import type { TileKey } from "../tiles/tile-math.js";
import { KeyedGate } from "../util/keyed-gate.js";

/** What graphql-armor enforces (the token limit is the parser's, the cost limit ours). */
export interface ArmorLimits {
  maxAliases: number;
  maxDepth: number;
  maxDirectives: number;
}

/** What one GraphQL request learned about its limits (read by the HTTP route for status and headers). */
export interface RequestLimits {
  client: Client;
  cost?: number;
  charge?: Charge;
  /** Set when the request was refused before execution. */
  status?: number;
  /** Releases the client's costly-operation slot (held from before execution to the response). */
  release?: () => void;
}

/**
 * graphql-armor's protections: validation rules (aliases, depth, directives) and its plugin that
 * removes "Did you mean …" field suggestions; its token and cost limits are replaced by ours.
 */
export function armorProtections(l: ArmorLimits): { validationRules: ValidationRule[]; plugins: ApolloServerPlugin[] } {
  const armor = new ApolloArmor({
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    maxAliases: { n: l.maxAliases, exposeLimits: true },
    maxDepth: { n: l.maxDepth, exposeLimits: true, ignoreIntrospection: true },
    maxDirectives: { n: l.maxDirectives, exposeLimits: true },
    blockFieldSuggestion: { enabled: true },
  });
  const { validationRules, plugins } = armor.protect();
  // armor is typed against the CommonJS build of @apollo/server; the plugin objects are the same at run time.
  return { validationRules, plugins: plugins as unknown as ApolloServerPlugin[] };
}

/** Counts stored imagery and stored model results in a tile range (two index range scans). */
export function databaseCostProbe(
  prisma: PrismaClient,
  source: string,
  modelVersion: string,
  defaultZoom: (lat: number) => number,
  /** Whether the process holds the undated source's analysis of a tile in memory: then the probe needs no query. */
  inMemory?: (k: TileKey) => boolean,
): CostProbe {
  return {
    defaultZoom,
    async stored(z, x0, x1, y0, y1, date) {
      // A cached landscape is the common request: its one tile answered from memory costs no database round trip.
      if (!date && x0 === x1 && y0 === y1 && inMemory?.({ z, x: x0, y: y0 })) return { imagery: 1, analysed: 1 };
      const layer = date ? layerId(source, date) : source;
      const [r] = await prisma.$queryRaw<{ imagery: bigint; analysed: bigint }[]>`
        SELECT (SELECT count(*) FROM satellite_tile WHERE source = ${layer} AND z = ${z} AND status = 'AVAILABLE'
                  AND x BETWEEN ${x0} AND ${x1} AND y BETWEEN ${y0} AND ${y1}) AS imagery,
               (SELECT count(*) FROM tile_analysis WHERE source = ${layer} AND model_version = ${modelVersion} AND z = ${z}
                  AND x BETWEEN ${x0} AND ${x1} AND y BETWEEN ${y0} AND ${y1}) AS analysed`;
      return { imagery: Number(r.imagery), analysed: Number(r.analysed) };
    },
  };
}

/** Without models every model field fails at once (MODEL_UNAVAILABLE): cost them as nothing stored, at zoom 0. */
const NO_MODELS: CostProbe = { defaultZoom: () => 0, stored: async () => ({ imagery: 0, analysed: 0 }) };

export function costLimitPlugin<C extends { limits?: RequestLimits }>(o: {
  maxCost: number;
  rateLimits: RateLimits;
  /** Undefined when the models are not loaded: model fields then fail on their own, cheaply. */
  probe: CostProbe | undefined;
  maxTilesPerBox: number;
  /** Per client, costly operations (estimated cost >= costlyCost) run `costlyConcurrency` at a time (0: unlimited). */
  costlyCost?: number;
  costlyConcurrency?: number;
}): ApolloServerPlugin<C> {
  const probe: CostProbe = o.probe ?? NO_MODELS;
  // One client flooding costly operations queues behind itself instead of taking every core from the others.
  const gate = o.costlyConcurrency ? new KeyedGate(o.costlyConcurrency) : undefined;
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue }) {
          contextValue.limits?.release?.();
        },
        async didResolveOperation({ schema, document, operation, request, contextValue }) {
          const limits = contextValue.limits;
          if (!limits || !operation) return;
          const est = await estimateCost(schema, document, operation, request.variables ?? {}, probe, o.maxTilesPerBox, o.maxCost);
          limits.cost = est.total;
          if (est.total > o.maxCost) {
            limits.status = 400;
            const top = [...est.items].sort((a, b) => b.cost - a.cost).slice(0, 5);
            throw new GroundviewError(
              ErrorCode.QUERY_TOO_COSTLY,
              `this request would cost ${est.partial ? "more than " : ""}${est.total} units (about ms of work); the limit is ${o.maxCost} per request: ask for a smaller box, fewer fields, or places already analysed`,
              {
                cost: est.total,
                limit: o.maxCost,
                fields: top.map((i) => ({ field: i.field, cost: Math.ceil(i.cost), ...(i.tiles ? { tiles: i.tiles } : {}) })),
              },
            );
          }
          const charge = await o.rateLimits.charge(limits.client, est.total);
          limits.charge = charge;
          if (!charge.allowed) {
            limits.status = 429;
            throw rateLimitedError(charge, est.total);
          }
          if (gate && est.total >= (o.costlyCost ?? 100)) limits.release = await gate.acquire(limits.client.id);
        },
      };
    },
  };
}
