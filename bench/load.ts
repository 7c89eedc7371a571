/**
 * A small closed-loop HTTP load generator, run as its own process so it does not share the
 * server's event loop: `connections` keep-alive loops for `seconds`, per-request latency in
 * microseconds. Prints one JSON line: { requests, rps, p50Ms, p99Ms, errors }.
 * usage: node dist/bench/load.js <url> <connections> <seconds> [method] [body-json] [headers-json]
 */
import http from "node:http";

const [url, conns, secs, method = "GET", body, headersJson] = process.argv.slice(2);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conns) });
const headers: Record<string, string | number> = headersJson ? JSON.parse(headersJson) : {};
if (body) headers["content-length"] = Buffer.byteLength(body);
const latencies: number[] = [];
let errors = 0;
const end = Date.now() + Number(secs) * 1000;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method,
        headers,
        agent,
      },
      (res) => {
        res.on("data", () => undefined);
        res.on("end", () => {
          if (res.statusCode !== 200 && res.statusCode !== 304) errors++;
          latencies.push(Number(process.hrtime.bigint() - t) / 1000);
          resolve();
        });
      },
    );
    req.on("error", () => {
      errors++;
      resolve();
    });
    req.end(body);
  });
}

async function loop(): Promise<void> {
  while (Date.now() < end) await once();
}

const t0 = Date.now();
await Promise.all(Array.from({ length: Number(conns) }, loop));
const elapsed = (Date.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] / 1000 : NaN);
console.log(
  JSON.stringify({
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    errors,
  }),
);
agent.destroy();
