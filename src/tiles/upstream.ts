/**
 * The guard rails around a tile source: bounded concurrency, a timeout per attempt, and
 * retries with exponential backoff and full jitter for retryable failures.
 */
import type { Metrics } from "../metrics/metrics.js";
import type { TileKey } from "./tile-math.js";
import { type FetchResult, type TileSource, UpstreamError, type Validators } from "./sources/tile-source.js";
import { Semaphore } from "../util/semaphore.js";

export interface UpstreamPolicy {
  concurrency: number;
  timeoutMs: number;
  retries: number;
  retryBaseMs: number;
  maxBytes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Upstream {
  private readonly gate: Semaphore;

  constructor(
    readonly source: TileSource,
    private readonly policy: UpstreamPolicy,
    private readonly metrics: Metrics,
    private readonly random: () => number = Math.random,
  ) {
    this.gate = new Semaphore(policy.concurrency);
  }

  /** Fetches with retries; throws the last UpstreamError when every attempt failed. */
  async fetch(key: TileKey, validators: Validators): Promise<FetchResult> {
    let lastError: UpstreamError | undefined;
    for (let attempt = 0; attempt <= this.policy.retries; attempt++) {
      if (attempt > 0) {
        this.metrics.upstreamRetries.inc();
        // Full jitter: uniform in [0, base * 2^attempt) so retrying clients spread out.
        await sleep(this.random() * this.policy.retryBaseMs * 2 ** attempt);
      }
      try {
        return await this.gate.run(() => this.attempt(key, validators));
      } catch (err) {
        lastError = err instanceof UpstreamError ? err : new UpstreamError(String((err as Error).message ?? err), true);
        if (!lastError.retryable) break;
      }
    }
    throw lastError ?? new UpstreamError("upstream failed", false);
  }

  private async attempt(key: TileKey, validators: Validators): Promise<FetchResult> {
    const end = this.metrics.upstreamLatency.startTimer();
    this.metrics.upstreamInFlight.inc();
    try {
      const result = await this.source.fetch(key, {
        validators,
        signal: AbortSignal.timeout(this.policy.timeoutMs),
        maxBytes: this.policy.maxBytes,
      });
      this.metrics.upstreamFetches.inc({
        source: this.source.id,
        outcome: result.kind.replace("-", "_"),
      });
      return result;
    } catch (err) {
      this.metrics.upstreamFetches.inc({
        source: this.source.id,
        outcome: "error",
      });
      throw err;
    } finally {
      this.metrics.upstreamInFlight.dec();
      end();
    }
  }
}
