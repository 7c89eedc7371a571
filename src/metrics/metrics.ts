/** Prometheus metrics for the whole service, on one registry served at GET /metrics. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class Metrics {
  readonly registry = new Registry();

  /** memory_hit | db_hit | negative_hit | miss | stale_served */
  readonly tileCacheLookups = new Counter({
    name: "groundview_tile_cache_lookups_total",
    help: "Tile cache lookups by outcome",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  /** ok | not_modified | missing | error | invalid */
  readonly upstreamFetches = new Counter({
    name: "groundview_upstream_fetches_total",
    help: "Upstream tile fetch attempts by outcome",
    labelNames: ["source", "outcome"] as const,
    registers: [this.registry],
  });

  readonly upstreamRetries = new Counter({
    name: "groundview_upstream_retries_total",
    help: "Upstream fetch retries after a retryable failure",
    registers: [this.registry],
  });

  readonly upstreamLatency = new Histogram({
    name: "groundview_upstream_fetch_seconds",
    help: "Latency of one upstream tile fetch attempt",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly upstreamInFlight = new Gauge({
    name: "groundview_upstream_in_flight",
    help: "Upstream fetches in progress (bounded by UPSTREAM_CONCURRENCY)",
    registers: [this.registry],
  });

  /** process: joined an in-process fetch; lease: waited for another process's fetch */
  readonly singleFlightJoins = new Counter({
    name: "groundview_tile_single_flight_joins_total",
    help: "Requests that waited for a fetch already in progress instead of fetching",
    labelNames: ["scope"] as const,
    registers: [this.registry],
  });

  readonly memoryCacheBytes = new Gauge({
    name: "groundview_tile_memory_cache_bytes",
    help: "Bytes held by the in-memory tile cache",
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: "groundview_http_request_duration_seconds",
    help: "HTTP request latency by route and status",
    labelNames: ["route", "status"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** memory_hit | db_hit | computed */
  readonly analysisLookups = new Counter({
    name: "groundview_tile_analysis_lookups_total",
    help: "Per-tile model results by where they came from",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  /** done | failed: tiles of area-job chunks, counted once per chunk whichever process ran it. */
  readonly areaJobTiles = new Counter({
    name: "groundview_area_job_tiles_total",
    help: "Tiles of area jobs finished by this process (done: analysed or without imagery; failed: a chunk given up)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly analysisWriteErrors = new Counter({
    name: "groundview_tile_analysis_write_errors_total",
    help: "Per-tile results that could not be written to the database (they are recomputed later)",
    registers: [this.registry],
  });

  readonly inferenceSeconds = new Histogram({
    name: "groundview_inference_seconds",
    help: "Model inference latency (a batch of tiles, or one photo)",
    labelNames: ["stage"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  readonly inferenceBatchSize = new Histogram({
    name: "groundview_inference_batch_size",
    help: "Images (or latents) per inference worker run; concurrent requests are merged",
    labelNames: ["op"] as const,
    buckets: [1, 2, 4, 8, 16, 32],
    registers: [this.registry],
  });

  readonly inferenceRunSeconds = new Histogram({
    name: "groundview_inference_run_seconds",
    help: "Duration of one inference worker run, from posting the batch to receiving the rows",
    labelNames: ["op"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  constructor(withDefaults = true) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: "groundview_" });
  }
}
