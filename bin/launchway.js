#!/usr/bin/env node
// The installed package runs the compiled CLI (dist/cli/main.js). A checkout, which has the TypeScript sources and
// tsx among its devDependencies, runs them directly, so its tests never use a stale build.
import { existsSync } from 'node:fs';

const source = new URL('../cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
