import { locateTool, missingLine, SYSTEM_TOOLS, type SystemTool } from '../../scripts/test-preflight.mjs';

/**
 * The path of a system program a test drives, found as scripts/test-preflight.mjs finds it (its environment variable,
 * else PATH; `npm test` checks them first). Throws, failing the test file with what to install or set, when it is
 * missing: such a test never steps aside quietly.
 */
export function systemTool(name: SystemTool['name']): string {
  const tool = SYSTEM_TOOLS.find((t) => t.name === name);
  if (!tool) throw new Error(`no system tool ${name} in scripts/test-preflight.mjs`);
  const found = locateTool(tool);
  if ('problem' in found) {
    throw new Error(
      `${missingLine({ tool, problem: found.problem, overridden: Boolean(process.env[tool.env]) })}. \`npm test\` says how to fix it.`,
    );
  }
  return found.path;
}
