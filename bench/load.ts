/**
 * A small closed-loop HTTP load generator, run as its own process so it does not share the
 * server's event loop: `connections` keep-alive loops for `seconds` (or until `maxRequests`),
 * per-request latency in microseconds. Requests cycle through `requests` (path + body), so a
 * run can hit a different uncached item each time. Prints one JSON line:
 * { requests, rps, p50Ms, p99Ms, errors }.
 * usage: node dist/bench/load.js <spec.json>
 */
import { readFileSync } from "node:fs";
import http from "node:http";

import type { Spec } from "./load-spec.js";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8")) as Spec;
const target = new URL(spec.origin);
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
const bodies = spec.requests.map((r) =>
  r.bodyBase64 ? Buffer.from(r.bodyBase64, "base64") : r.body !== undefined ? Buffer.from(r.body) : undefined,
);
const latencies: number[] = [];
let errors = 0;
let next = 0;
let firstError = "";
const end = Date.now() + spec.seconds * 1000;

function once(i: number): Promise<void> {
  const body = bodies[i];
  const headers: Record<string, string | number> = { ...(spec.headers ?? {}) };
  if (body) headers["content-length"] = body.length;
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const req = http.request(
      { host: target.hostname, port: target.port, path: spec.requests[i].path, method: spec.method ?? "GET", headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = res.headers["content-type"]?.includes("json") ? Buffer.concat(chunks).toString() : "";
          if ((res.statusCode !== 200 && res.statusCode !== 304) || text.includes('"errors"')) {
            errors++;
            firstError ||= `${res.statusCode} ${text.slice(0, 300)}`;
          }
          latencies.push(Number(process.hrtime.bigint() - t) / 1000);
          resolve();
        });
      },
    );
    req.on("error", (e) => {
      errors++;
      firstError ||= e.message;
      resolve();
    });
    req.end(body);
  });
}

async function loop(): Promise<void> {
  while (Date.now() < end && (spec.maxRequests === undefined || next < spec.maxRequests)) {
    const i = next++ % spec.requests.length;
    await once(i);
  }
}

const t0 = Date.now();
await Promise.all(Array.from({ length: spec.connections }, loop));
const elapsed = (Date.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] / 1000 : NaN);
console.log(
  JSON.stringify({ requests: latencies.length, rps: latencies.length / elapsed, p50Ms: pct(0.5), p99Ms: pct(0.99), errors, firstError }),
);
agent.destroy();
