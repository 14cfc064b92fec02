import { installLine, isExecutable, SYSTEM_TOOLS } from '../../scripts/test-preflight.mjs';

/**
 * The path of a system program a test drives (scripts/test-preflight.mjs lists them; `npm test` installs them first).
 * Throws, failing the test file with the install command, when it is missing: such a test never steps aside quietly.
 */
export function systemTool(pkg: 'awscli' | 'chromium'): string {
  const tool = SYSTEM_TOOLS.find((t) => t.pkg === pkg);
  if (!tool) throw new Error(`no system tool ${pkg} in scripts/test-preflight.mjs`);
  if (!isExecutable(tool.path)) {
    throw new Error(
      `${tool.path} is missing (${tool.neededBy}). \`npm test\` installs it when run as root; otherwise: ${installLine([tool])}`,
    );
  }
  return tool.path;
}
