// A real Trading Pro server for the Node tests, started by the project's one helper, tests/live_server.py.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const PYTHON = process.env.PYTHON || path.join(ROOT, ".venv", "bin", "python");
// The helper itself waits up to 30 s for the server's health check; this also covers Python's start-up.
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * Start `python -m tests.live_server [--port N] NAME=VALUE...` and resolve once it prints the base URL.
 *
 * @param {Record<string, string>} [env] server settings
 * @param {{port?: number}} [options] `port`: listen there (to restart a stopped server on the same URL)
 * @returns {Promise<{baseUrl: string, port: number, stop: () => Promise<void>}>} `stop()` ends the helper
 *   (SIGTERM; it stops the server) and resolves once it has exited
 */
export function startServer(env = {}, { port } = {}) {
  const args = ["-m", "tests.live_server", ...(port ? ["--port", String(port)] : [])];
  for (const [name, value] of Object.entries(env)) args.push(`${name}=${value}`);
  // stdin stays open: the helper stops the server when it closes, so the server dies with this process.
  const child = spawn(PYTHON, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${why}; the helper said:\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`no server URL after ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.once("error", (error) => fail(`cannot run ${PYTHON}: ${error.message}`));
    const early = (code) => fail(`the helper exited with ${code} before printing the URL`);
    child.once("exit", early);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      child.off("exit", early);
      const baseUrl = stdout.slice(0, newline).trim();
      resolve({ baseUrl, port: Number(new URL(baseUrl).port), stop: () => stop(child, exited) });
    });
  });
}

async function stop(child, exited) {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS, "late")));
  if ((await Promise.race([exited, late])) === "late") {
    child.kill("SIGKILL");
    await exited;
  }
  clearTimeout(timer);
}
