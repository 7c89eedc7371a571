/** The service as a child process (`node dist/src/index.js`), for tests that kill it or time it apart from the test's own work. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const SERVICE_ENTRY = fileURLToPath(new URL("../../src/index.js", import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM (or the signal given), then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts the service with `env` over the test's environment; resolves once it is listening. */
export function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVICE_ENTRY], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m)
        resolve({
          child,
          url: m[1],
          exited,
          stop: async (signal = "SIGTERM") => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            await exited;
          },
        });
    });
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => reject(new Error(`service exited with ${code}: ${out}`)));
  });
}
