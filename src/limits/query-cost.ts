/**
 * What a GraphQL operation will cost, estimated before anything runs, in cost units of about
 * one millisecond of this service's work on the 2-core reference machine (bench/RESULTS.md):
 *
 *  - a tile whose model results are stored: COST.storedAnalysis (a row read);
 *  - a tile whose imagery is cached but not analysed: COST.analyse, or COST.analyseInBatch
 *    inside a terrainFilter (batches of 16 through the models);
 *  - a tile whose imagery must be fetched upstream first: COST.fetch more;
 *  - validatePhoto adds COST.photo (decode and scene classifier), similarPlaces COST.knn;
 *  - prepareArea costs COST.prepareArea (its tiles are analysed in the background, bounded by
 *    AREA_JOB_MAX_TILES and AREA_JOB_MAX_PENDING_TILES), areaJob COST.tileMeta;
 *  - terrainChange costs its region's tiles on both dates (each date's stored results counted);
 *    a `date` argument costs the tiles of that date's layer; imageryDates COST.tileMeta;
 *  - every operation costs at least COST.operation.
 *
 * The estimate is cache-aware (it counts stored imagery and results in the box), so a box that
 * is expensive the first time is cheap once analysed. Arguments that the resolvers will refuse
 * (a bad bbox, a zoom out of range) are costed as the cheapest case: the resolver's error is
 * the answer.
 */
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  valueFromAST,
} from "graphql";
import { parseArea } from "../geo/area-input.js";
import { tileForPoint, type TileKey, tilesInBox } from "../tiles/tile-math.js";
import { isCalendarDate } from "../imagery/imagery-date.js";

export const COST = Object.freeze({
  operation: 1,
  tileMeta: 1,
  storedAnalysis: 0.1,
  analyse: 40,
  analyseInBatch: 12,
  fetch: 45,
  photo: 25,
  knn: 5,
  /** prepareArea: validating the area, listing its tiles and writing the job (its tiles are analysed in the background). */
  prepareArea: 100,
});

/** What the estimate needs to know about the store and the models. */
export interface CostProbe {
  /** The zoom a point is analysed at when the query gives none. */
  defaultZoom(lat: number): number;
  /** How many tiles of a z/x/y range have cached imagery, and how many have stored results (of one imagery date's layer when given). */
  stored(z: number, x0: number, x1: number, y0: number, y1: number, date?: string): Promise<{ imagery: number; analysed: number }>;
}

export interface CostItem {
  field: string;
  cost: number;
  tiles?: number;
}

const MAX_LAT = 85.0511287798066;
const clampLat = (lat: number) => Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
const finite = (...v: unknown[]) => v.every((x) => typeof x === "number" && Number.isFinite(x));

/** The root fields an operation selects, through fragments, with their aliases. */
function rootFields(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): FieldNode[] {
  const out: FieldNode[] = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) out.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) out.push(...rootFields(s.selectionSet, fragments, seen));
    else if (!seen.has(s.name.value)) {
      seen.add(s.name.value);
      const f = fragments.get(s.name.value);
      if (f) out.push(...rootFields(f.selectionSet, fragments, seen));
    }
  }
  return out;
}

function args(def: GraphQLField<unknown, unknown>, node: FieldNode, variables: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of node.arguments ?? []) {
    const d = def.args.find((x) => x.name === a.name.value);
    if (d) out[d.name] = valueFromAST(a.value, d.type, variables);
  }
  return out;
}

/** Cost of the tiles of a range given what is stored; `batch` for terrainFilter's batched runs. */
export async function rangeCost(
  probe: CostProbe,
  z: number,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  batch: boolean,
  date?: string,
): Promise<number> {
  const tiles = (x1 - x0 + 1) * (y1 - y0 + 1);
  const { imagery, analysed } = await probe.stored(z, x0, x1, y0, y1, date);
  const toAnalyse = Math.max(0, tiles - analysed);
  const toFetch = Math.max(0, tiles - Math.max(imagery, analysed));
  return analysed * COST.storedAnalysis + toAnalyse * (batch ? COST.analyseInBatch : COST.analyse) + toFetch * COST.fetch;
}

async function pointCost(probe: CostProbe, a: Record<string, unknown>): Promise<number> {
  if (!finite(a.lat, a.lon)) return 0;
  const lat = a.lat as number;
  const z = typeof a.zoom === "number" ? a.zoom : probe.defaultZoom(clampLat(lat));
  if (!Number.isInteger(z) || z < 0 || z > 24 || Math.abs(lat) > MAX_LAT || Math.abs(a.lon as number) > 180) return 0;
  const k: TileKey = tileForPoint(lat, a.lon as number, z);
  return rangeCost(probe, z, k.x, k.x, k.y, k.y, false, dateArg(a.date));
}

/** A date argument as the probe takes it (a malformed one: the resolver refuses it, cost as undated). */
const dateArg = (v: unknown): string | undefined => (typeof v === "string" && isCalendarDate(v) ? v : undefined);

/** The box of a GeoJSON area, or undefined for one the resolver will refuse (INVALID_GEOMETRY). */
function areaBox(v: unknown): { west: number; south: number; east: number; north: number } | undefined {
  try {
    const [west, south, east, north] = parseArea(v).bbox;
    return { west, south, east, north };
  } catch {
    return undefined;
  }
}

/** The tile range of a terrainFilter / terrainSummary region at its zoom, or undefined for one the resolver will refuse. */
export function boxRange(
  probe: CostProbe,
  a: Record<string, unknown>,
): { z: number; x0: number; x1: number; y0: number; y1: number; tiles: number } | undefined {
  const b = (a.bbox ?? (a.area ? areaBox(a.area) : undefined)) as
    { west?: number; south?: number; east?: number; north?: number } | undefined;
  if (!b || !finite(b.west, b.south, b.east, b.north)) return undefined;
  const [w, s, e, n] = [b.west!, clampLat(b.south!), b.east!, clampLat(b.north!)];
  if (!(w < e && s < n) || w < -180 || e > 180) return undefined;
  if (a.bbox && a.area) return undefined;
  const z = typeof a.zoom === "number" ? a.zoom : probe.defaultZoom((s + n) / 2);
  if (!Number.isInteger(z) || z < 0 || z > 24) return undefined;
  const r = tilesInBox(w, s, e, n, z);
  return { z, ...r, tiles: (r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1) };
}

/**
 * The estimated cost of an operation and of each of its root fields. `maxTilesPerBox` boxes
 * over the terrainFilter limit are costed as refused (the resolver answers BBOX_TOO_LARGE).
 */
export async function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  probe: CostProbe,
  maxTilesPerBox: number,
  /** Stop estimating once the total is above this (the answer is then a lower bound). */
  stopAbove = Infinity,
): Promise<{ total: number; items: CostItem[]; partial: boolean }> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const root: GraphQLObjectType | null | undefined = operation.operation === "mutation" ? schema.getMutationType() : schema.getQueryType();
  const items: CostItem[] = [];
  let total = COST.operation;
  for (const node of rootFields(operation.selectionSet, fragments)) {
    if (total > stopAbove) return { total: Math.ceil(total), items, partial: true };
    const name = node.name.value;
    const def = root?.getFields()[name];
    const label = node.alias ? `${node.alias.value}: ${name}` : name;
    if (!def) {
      items.push({ field: label, cost: 0 });
      continue;
    }
    const a = args(def, node, variables);
    let cost = 0;
    let tiles: number | undefined;
    if (name === "terrainFilter" || name === "terrainSummary") {
      const r = boxRange(probe, a);
      if (r && r.tiles <= maxTilesPerBox) {
        tiles = r.tiles;
        cost = await rangeCost(probe, r.z, r.x0, r.x1, r.y0, r.y1, true, dateArg(a.date));
      }
    } else if (name === "terrainChange") {
      // Both dates' tiles, each analysed unless stored.
      const r = boxRange(probe, a);
      const from = dateArg(a.from);
      const to = dateArg(a.to);
      if (r && r.tiles <= maxTilesPerBox && from && to) {
        tiles = 2 * r.tiles;
        cost =
          (await rangeCost(probe, r.z, r.x0, r.x1, r.y0, r.y1, true, from)) +
          (await rangeCost(probe, r.z, r.x0, r.x1, r.y0, r.y1, true, to));
      }
    } else if (name === "imageryDates") cost = COST.tileMeta;
    else if (name === "landscape") cost = await pointCost(probe, a);
    else if (name === "similarPlaces") cost = (await pointCost(probe, a)) + COST.knn;
    else if (name === "validatePhoto") cost = (await pointCost(probe, a)) + COST.photo;
    else if (name === "tile" || name === "areaJob") cost = COST.tileMeta;
    else if (name === "prepareArea") cost = COST.prepareArea;
    items.push({ field: label, cost, ...(tiles !== undefined ? { tiles } : {}) });
    total += cost;
  }
  return { total: Math.ceil(total), items, partial: false };
}
