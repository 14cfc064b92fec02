import net from 'node:net';
import path from 'node:path';
import * as z from 'zod';
import { ValidationError } from '../errors.js';
import { maskText } from '../secrets.js';
import { logTail } from './process-supervisor.js';

/** What the provider keeps about one running version; stored as the live deployment's handle (JSON). */
export const LocalProcessHandleSchema = z.object({
  /** The runner's pid, which is also the id of the version's process group. */
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65535),
  url: z.string().min(1),
  /** The version directory: the artifact (`main.mjs`, or the unpacked `artifact/`) and `process.log`. */
  dir: z.string().min(1),
  startedAt: z.string().min(1),
});
export type LocalProcessHandle = z.infer<typeof LocalProcessHandleSchema>;

export const LOG_FILE = 'process.log';
/** A health probe that takes longer than this counts as "not healthy yet". */
const PROBE_TIMEOUT_MS = 2_000;
/** Lines of the process log quoted in a failure message. */
const LOG_TAIL_LINES = 20;

export function parseHandle(raw: Record<string, unknown>, what: string): LocalProcessHandle {
  const parsed = LocalProcessHandleSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ValidationError(`${what} is not a local-process handle: ${problems}`, { [what]: problems });
  }
  return parsed.data;
}

export function handleOf(pid: number, port: number, dir: string, startedAt: string): LocalProcessHandle {
  return { pid, port, url: `http://127.0.0.1:${port}`, dir, startedAt };
}

/**
 * A failure message that shows the service's own output first (the last lines of its log, secret values masked),
 * then what Launchway saw (`what`: the exit or the probe's last answer), since the output is usually the reason.
 * Secrets are masked in each form {@link maskText} knows.
 */
export async function failureMessage(handle: LocalProcessHandle, what: string, secretValues: string[]): Promise<string> {
  const log = path.join(handle.dir, LOG_FILE);
  // Every form, since a JSON logger (pino) writes a secret escaped.
  const tail = maskText(await logTail(log, LOG_TAIL_LINES), secretValues);
  if (!tail) return `${what} (it wrote nothing to ${log})`;
  return `the service's last output (${log}):\n${tail}\n--- ${what}`;
}

/** How a process ended, in words. */
export function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
}

/** One GET of the health URL: healthy only on 200. */
export async function probeHealth(url: string): Promise<{ healthy: boolean; detail: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return { healthy: res.status === 200, detail: `last answer ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    return { healthy: false, detail: `not answering: ${cause}` };
  }
}

/** Asks the OS for a free port on 127.0.0.1. Another process could take it before the child binds; the child then fails fast and the deploy reports it. */
export async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
