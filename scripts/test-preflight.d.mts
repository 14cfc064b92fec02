// Types of test-preflight.mjs, which stays plain JavaScript so it runs before anything is installed or built.

/** A system program some tests drive: how it is found, and the Debian package that provides it. */
export interface SystemTool {
  name: 'aws' | 'chromium';
  commands: readonly string[];
  env: string;
  pkg: string;
  neededBy: string;
}

/** A tool that was not found, with what was wrong and whether its environment variable is set. */
export interface MissingTool {
  tool: SystemTool;
  problem: string;
  overridden: boolean;
}

/** The environment and file check a lookup uses. */
export interface LookupOptions {
  env?: Record<string, string | undefined>;
  executable?: (file: string) => boolean;
}

/** What the preflight does about missing tools. */
export type PreflightPlan =
  | { action: 'ok' }
  | { action: 'install'; packages: string[]; via: string; commands: string[][] }
  | { action: 'stop'; message: string };

/** The system programs the tests drive. */
export const SYSTEM_TOOLS: readonly SystemTool[];
/** Whether `file` is an executable regular file. */
export function isExecutable(file: string): boolean;
/** Where `tool` is: its environment variable's file, else the first of its commands on PATH. */
export function locateTool(tool: SystemTool, options?: LookupOptions): { path: string } | { problem: string };
/** The tools that are not found. */
export function missingTools(options?: LookupOptions): MissingTool[];
/** The stop message's line for one missing tool. */
export function missingLine(missing: MissingTool): string;
/** `sudo apt-get install -y <packages>` for the missing tools. */
export function installLine(missing: readonly MissingTool[]): string;
/** Nothing to do, install (apt-get as root or with sudo), or stop with a message. */
export function planPreflight(input: {
  missing: readonly MissingTool[];
  isRoot: boolean;
  canSudo?: boolean;
  hasAptGet: boolean;
}): PreflightPlan;
/** Checks, installs when allowed and needed, checks again; returns the exit code. */
export function runPreflight(
  options?: LookupOptions & {
    isRoot?: boolean;
    hasAptGet?: boolean;
    allowSudo?: boolean;
    sudoWorks?: () => boolean;
    run?: (argv: string[]) => unknown;
    log?: (line: string) => void;
  },
): number;
