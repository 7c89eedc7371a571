import type { TileKey, ZoomRange } from "../tile-math.js";

/** Validators the cache holds from the last fetch, for conditional revalidation. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

export interface UpstreamTile extends Validators {
  bytes: Uint8Array;
  /** From upstream Cache-Control max-age, when given. */
  maxAgeSeconds?: number;
}

export type FetchResult =
  | { kind: "ok"; tile: UpstreamTile }
  | { kind: "not-modified"; maxAgeSeconds?: number }
  /** The source has no tile here: outside its coverage. Negatively cached. */
  | { kind: "missing" };

/** A failed fetch. `retryable` errors (network, timeouts, 5xx, 429) are retried with backoff. */
export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface FetchOptions {
  validators: Validators;
  signal: AbortSignal;
  maxBytes: number;
}

/** Where tiles come from. The cache keys rows by `id`, so two sources never mix. */
export interface TileSource {
  readonly id: string;
  readonly kind: "xyz" | "mbtiles" | "directory" | "imported";
  readonly attribution: string;
  readonly zoom: ZoomRange;
  /** [west, south, east, north] of the imagery, when the source knows it (imported rasters). */
  readonly bounds?: readonly [number, number, number, number];
  fetch(key: TileKey, opts: FetchOptions): Promise<FetchResult>;
  close?(): Promise<void>;
}
