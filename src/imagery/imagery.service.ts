/**
 * Dated imagery in the service (issue 14): for each dated layer of the tile source, its own tile
 * cache and its own model services (analysis, landscapes, terrain maps), built on first use and
 * kept (there are as many as the catalogue has dates). The undated source keeps the services
 * built at start-up. `servicesAt(date, box)` picks the layer that answers (imagery-layers.ts: the date
 * given, else the latest covering the request, else the undated source).
 */
import type { TileCache } from "../tiles/tile-cache.js";
import type { FetchResult, TileSource } from "../tiles/sources/tile-source.js";
import { tileBBox, type TileKey } from "../tiles/tile-math.js";
import type { Box, Dated } from "../geo/dated.js";
import type { ImageryLayerInfo, ImageryLayers } from "./imagery-layers.js";

/** What ImageryService needs of a layer's services (the app decides what they are). */
export interface LayerBase {
  analysis: { flush(): Promise<void> };
}

/** A dated layer's imagery: only what the import stored (it has no upstream). */
export class StoredLayerSource implements TileSource {
  readonly kind = "imported";
  readonly id: string;
  readonly zoom: { minZoom: number; maxZoom: number };
  readonly bounds: [number, number, number, number];

  constructor(
    info: ImageryLayerInfo,
    readonly attribution: string,
  ) {
    this.id = info.layer;
    this.zoom = { minZoom: info.minZoom, maxZoom: info.maxZoom };
    this.bounds = info.bounds;
  }

  async fetch(): Promise<FetchResult> {
    return { kind: "missing" };
  }
}

export class ImageryService<S extends LayerBase = LayerBase> {
  private readonly caches = new Map<string, TileCache>();
  private readonly services = new Map<string, S>();

  constructor(
    readonly layers: ImageryLayers,
    private readonly base: { cache: TileCache; services?: S },
    private readonly build: {
      cache: (source: TileSource) => TileCache;
      services?: (cache: TileCache, date: string) => S;
    },
  ) {}

  /** The tile cache of a layer (built on first use). */
  cacheOf(info: ImageryLayerInfo): TileCache {
    let c = this.caches.get(info.layer);
    // A later import of the same date may have widened the layer: rebuild its (stateless) source.
    if (!c || c.source.zoom.minZoom !== info.minZoom || c.source.zoom.maxZoom !== info.maxZoom) {
      c = this.build.cache(new StoredLayerSource(info, this.base.cache.source.attribution));
      this.caches.set(info.layer, c);
      this.services.delete(info.layer);
    }
    return c;
  }

  /** The model services of a layer (built on first use); undefined without models. */
  servicesOf(info: ImageryLayerInfo): S | undefined {
    if (!this.build.services) return undefined;
    const cache = this.cacheOf(info);
    let s = this.services.get(info.layer);
    if (!s) {
      s = this.build.services(cache, info.date);
      this.services.set(info.layer, s);
    }
    return s;
  }

  /** The tile cache that answers a tile: the date's, or the latest layer holding the tile, or the undated source's. */
  async tileCache(date: string | null | undefined, key: TileKey): Promise<Dated<TileCache>> {
    const info = await this.layers.resolve(date, tileBBox(key) as Box, key.z);
    return info ? { date: info.date, value: this.cacheOf(info) } : { value: this.base.cache };
  }

  /** The model services that answer a request over `box` (at zoom `z` when known). */
  async servicesAt(date: string | null | undefined, box: Box, z?: number, field = "date"): Promise<Dated<S> | undefined> {
    const info = await this.layers.resolve(date, box, z, field);
    if (!info) return this.base.services && { value: this.base.services };
    const s = this.servicesOf(info);
    return s && { date: info.date, value: s };
  }

  /** Rows computed but not yet written, for every layer (shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.analysis.flush()));
  }
}
