/** What bench/load.ts runs: a closed loop over `requests` (path + body), cycling. */
export interface Spec {
  origin: string;
  connections: number;
  seconds: number;
  /** Stop after this many requests even if time is left. */
  maxRequests?: number;
  method?: string;
  headers?: Record<string, string>;
  requests: { path: string; body?: string; bodyBase64?: string }[];
}

/** One load run's result. */
export interface Load {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  requests: number;
  firstError?: string;
}
