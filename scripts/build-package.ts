/**
 * Builds what the npm package ships (`npm pack` and `npm publish` run it as `prepack`):
 *   dist/<functions|local|cli|infra|statemachines>/…  the TypeScript compiled to ESM with .d.ts files;
 *   dist/lambda/<handler>/index.mjs                    every Lambda handler bundled with esbuild, with the options a
 *                                                      checkout's synth uses (infra/launchway-function.ts bundlingFor)
 *                                                      but no source map, so a user's `cdk synth` needs neither esbuild
 *                                                      nor a lock file.
 *
 *   npx tsx scripts/build-package.ts
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, buildSync } from 'esbuild';
import { HANDLERS } from '../infra/handlers.js';
import { bundlingFor } from '../infra/launchway-function.js';
import { handlerEntry } from '../infra/paths.js';
import type { HandlerName } from '../functions/steps.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');

/** Files the compiled code reads beside itself at run time, which tsc does not copy. */
const ASSETS = ['statemachines/release.asl.json', 'functions/lib/deploy/process-runner.mjs'];

/** The esbuild options of one handler: NodejsFunction's bundling options (bundlingFor) in esbuild's own terms. */
function esbuildOptionsFor(name: HandlerName, outfile: string): BuildOptions {
  const b = bundlingFor(HANDLERS[name]);
  return {
    entryPoints: [handlerEntry(name)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: b.target,
    banner: b.banner ? { js: b.banner } : undefined,
    minify: b.minify,
    keepNames: b.keepNames,
    // No source maps: Lambda reads none without NODE_OPTIONS=--enable-source-maps, and they doubled the package.
    sourcemap: false,
    external: b.externalModules,
    mainFields: b.mainFields,
    logLevel: 'warning',
  };
}

function main(): void {
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  for (const asset of ASSETS) {
    mkdirSync(path.dirname(path.join(DIST, asset)), { recursive: true });
    copyFileSync(path.join(ROOT, asset), path.join(DIST, asset));
  }
  for (const name of Object.keys(HANDLERS) as HandlerName[]) {
    buildSync(esbuildOptionsFor(name, path.join(DIST, 'lambda', name, 'index.mjs')));
  }
  console.log(`built ${path.relative(process.cwd(), DIST) || DIST}: compiled sources and ${Object.keys(HANDLERS).length} handler bundles`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
