/**
 * One owner per embedded store. PGlite is a single-process database: two processes on one
 * data directory each work on their own copy in memory and overwrite each other's files.
 * The embedded mode therefore takes `<dataDir>/groundview.lock` before opening the database:
 * created with O_EXCL (atomic), holding the owner's PID, host and a random token. A second
 * process is refused with the directory and the holder's PID. A lock left by a process that
 * no longer runs (kill -9, a crash) is taken over; one from another host is never assumed
 * stale. Released (deleted, if still ours) when the database closes.
 */
import { randomUUID } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export const LOCK_FILE = "groundview.lock";

interface LockContent {
  pid: number;
  host: string;
  token: string;
  startedAt: string;
}

/** The data directory is held by another live process. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: Partial<LockContent>,
  ) {
    const who = holder.pid
      ? `process ${holder.pid}${holder.host && holder.host !== os.hostname() ? ` on ${holder.host}` : ""}`
      : "another process";
    super(
      `the embedded database in ${dataDir} is in use by ${who}` +
        (holder.startedAt ? ` (since ${holder.startedAt})` : "") +
        `: stop it, or set GROUNDVIEW_DATA_DIR to another directory (or DATABASE_URL to share a PostgreSQL server)`,
    );
    this.name = "DataDirLockedError";
  }
}

export interface DataDirLock {
  readonly file: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readLock(file: string): Promise<Partial<LockContent> | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as Partial<LockContent>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return {}; // unreadable or half-written: treated as held, not as stale
  }
}

/** Takes the lock of `dataDir` (which must exist) or throws DataDirLockedError. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const file = path.join(dataDir, LOCK_FILE);
  const mine: LockContent = { pid: process.pid, host: os.hostname(), token: randomUUID(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, "wx");
      await fh.writeFile(JSON.stringify(mine));
      await fh.close();
      return {
        file,
        release: async () => {
          const now = await readLock(file);
          if (now?.token === mine.token) await unlink(file).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = await readLock(file);
    if (holder === undefined) continue; // released meanwhile
    const stale = holder.host === os.hostname() && typeof holder.pid === "number" && holder.pid !== process.pid && !alive(holder.pid);
    if (!stale) throw new DataDirLockedError(dataDir, holder);
    // Move the stale lock aside under a name of our own, then check it was the one judged
    // stale (another starter may have replaced it meanwhile: then put it back).
    const aside = `${file}.stale-${mine.token}`;
    try {
      await rename(file, aside);
    } catch {
      continue;
    }
    const moved = await readLock(aside);
    if (moved?.token !== holder.token) {
      await rename(aside, file).catch(() => undefined);
      throw new DataDirLockedError(dataDir, moved ?? {});
    }
    await unlink(aside).catch(() => undefined);
  }
  throw new DataDirLockedError(dataDir, (await readLock(file)) ?? {});
}
