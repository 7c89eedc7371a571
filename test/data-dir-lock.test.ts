/**
 * One owner per embedded store: a second holder of a data directory is refused with the
 * directory and the holder's PID, a lock left by a dead process is taken over, and a second
 * service process on the same directory exits with one line while the first keeps serving.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { DataDirLockedError, LOCK_FILE, lockDataDir } from "../src/db/data-dir-lock.js";

const ENTRY = fileURLToPath(new URL("../src/index.js", import.meta.url));

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "gv-lock-"));
}

test("a second holder is refused with the directory and the holder's PID; after release it may take it", async () => {
  const dir = await tempDir();
  try {
    const lock = await lockDataDir(dir);
    await assert.rejects(lockDataDir(dir), (e: Error) => {
      assert.ok(e instanceof DataDirLockedError);
      assert.match(e.message, new RegExp(`${dir}.*process ${process.pid}`));
      return true;
    });
    await lock.release();
    const again = await lockDataDir(dir);
    await again.release();
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("a lock left by a process that no longer runs does not block the next start", async () => {
  const dir = await tempDir();
  try {
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const pid = Number(dead.stdout);
    assert.ok(pid > 0);
    await writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid, host: os.hostname(), token: "old", startedAt: "then" }));
    const lock = await lockDataDir(dir);
    const content = JSON.parse(await readFile(path.join(dir, LOCK_FILE), "utf8"));
    assert.equal(content.pid, process.pid);
    await lock.release();
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("a lock held on another host (a shared disk) is never assumed stale", async () => {
  const dir = await tempDir();
  try {
    await writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: "elsewhere", token: "x", startedAt: "then" }));
    await assert.rejects(lockDataDir(dir), /in use by process 1 on elsewhere/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test(
  "a second service process on the same data directory exits with one line and the first keeps serving",
  { timeout: 120_000 },
  async () => {
    const dir = await tempDir();
    // Embedded mode whatever the caller's environment says (CI sets a server for other tests).
    const { DATABASE_URL: _server, ...rest } = process.env;
    const env = { ...rest, GROUNDVIEW_DATA_DIR: dir, PORT: "0", HOST: "127.0.0.1" };
    const first = spawn(process.execPath, [ENTRY], { env, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        first.stdout.on("data", (b) => {
          out += String(b);
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        first.once("exit", (code) => reject(new Error(`first service exited with ${code}`)));
      });
      const t0 = Date.now();
      const second = spawnSync(process.execPath, [ENTRY], { env, encoding: "utf8", timeout: 30_000 });
      assert.equal(second.status, 1, second.stderr);
      assert.ok(Date.now() - t0 < 30_000);
      const lines = second.stderr.trim().split("\n");
      assert.equal(lines.length, 1, second.stderr);
      assert.match(lines[0], new RegExp(`${dir}.*process ${first.pid}`));
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
    } finally {
      const exited = new Promise((r) => first.once("exit", r));
      first.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true });
    }
  },
);

test("a busy port stops start-up with one line naming PORT, and the data directory is released", { timeout: 120_000 }, async () => {
  const dir = await tempDir();
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, "127.0.0.1", () => r()));
  const port = (holder.address() as AddressInfo).port;
  try {
    const { DATABASE_URL: _server, ...rest } = process.env;
    const r = spawnSync(process.execPath, [ENTRY], {
      env: { ...rest, GROUNDVIEW_DATA_DIR: dir, PORT: String(port), HOST: "127.0.0.1" },
      encoding: "utf8",
      timeout: 90_000,
    });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`port ${port}.*PORT`));
    await assert.rejects(readFile(path.join(dir, LOCK_FILE)), /ENOENT/, "the failed start released its lock");
  } finally {
    holder.close();
    await rm(dir, { recursive: true });
  }
});
