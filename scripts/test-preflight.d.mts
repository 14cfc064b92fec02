// Types of test-preflight.mjs, which stays plain JavaScript so it runs before anything is installed or built.

/** A system program some tests drive, and the Debian package that provides it. */
export interface SystemTool {
  pkg: string;
  path: string;
  neededBy: string;
}

/** What the preflight does about missing tools. */
export type PreflightPlan = { action: 'ok' } | { action: 'install'; commands: string[][] } | { action: 'stop'; message: string };

/** The system programs the tests drive. */
export const SYSTEM_TOOLS: readonly SystemTool[];
/** Whether `file` exists and is executable. */
export function isExecutable(file: string): boolean;
/** The tools that are not installed. */
export function missingTools(executable?: (file: string) => boolean): SystemTool[];
/** `sudo apt-get install -y <packages>` for the missing tools. */
export function installLine(missing: readonly SystemTool[]): string;
/** Nothing to do, install (as root with apt-get), or stop with a message. */
export function planPreflight(input: { missing: readonly SystemTool[]; isRoot: boolean; hasAptGet: boolean }): PreflightPlan;
/** Checks, installs as root when needed, checks again; returns the exit code. */
export function runPreflight(options?: {
  executable?: (file: string) => boolean;
  isRoot?: boolean;
  hasAptGet?: boolean;
  run?: (argv: string[]) => unknown;
  log?: (line: string) => void;
}): number;
