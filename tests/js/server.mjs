// Starts a real Trading Pro server (python -m app) on a free port for the Node tests.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import path from "node:path";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const PYTHON = process.env.PYTHON || path.join(ROOT, ".venv", "bin", "python");

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A running server; `stop()` ends it. Polls /api/v1/health (bounded) until it answers. */
export async function startServer(env = {}) {
  const port = await freePort();
  const child = spawn(PYTHON, ["-m", "app", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    try {
      const response = await fetch(`${baseUrl}/api/v1/health`);
      if (response.ok) return { baseUrl, stop: () => stopServer(child) };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50)); // still binding: nothing to await across processes
    }
  }
  child.kill("SIGKILL");
  throw new Error(`server did not start: ${stderr}`);
}

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGTERM");
  });
}
