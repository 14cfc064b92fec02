// The embedded engine needs Promise.withResolvers, which Node 20 lacks: loaded before it.
import '../local/polyfills.js';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Catalog } from '../functions/lib/catalog.js';
import { getConfig } from '../functions/lib/config.js';
import { printsLinks } from '../functions/lib/notify/index.js';
import { watchCatalog } from '../local/catalog-reload.js';
import { BUCKET_NAME, CATALOG_KEY, startEmbedded, toEnvFile, type EmbeddedStack } from '../local/runtime.js';
import { bold, dim, green, red, yellow } from './format.js';

/**
 * `launchway dev`: the embedded stack, up until Ctrl-C, with its endpoints written for the other commands. It keeps
 * its state in `dataDir` across restarts unless `fresh` (`--fresh`), and reloads the catalog when its file changes.
 * Signed approval links are printed only to an interactive terminal, or with `printLinks` (`--print-links`).
 */
export async function runDev(opts: { catalog: string; dataDir: string; printLinks?: boolean; fresh?: boolean }): Promise<void> {
  // The handlers run in this process and read it from the configuration when they build the outbox notifier.
  if (opts.printLinks) process.env.OUTBOX_PRINT_LINKS = 'true';
  const stack = await startEmbedded({ catalog: opts.catalog, dataDir: opts.dataDir, fresh: opts.fresh ?? false });
  const envFile = path.join(stack.dataDir, 'endpoints.env');
  console.log(`${green('✔')} Launchway embedded stack is up (catalog ${opts.catalog})`);
  for (const [name, url] of Object.entries(stack.endpoints)) console.log(`  ${name.padEnd(9)} ${url}`);
  console.log(`  state machine ${stack.stateMachineArn}`);
  console.log(`  outbox    ${stack.outboxDir}`);
  console.log(`  state     ${stack.dataDir}${opts.fresh ? ' (started fresh)' : ' (kept across restarts; --fresh starts clean)'}`);
  printRecovery(stack);
  // Last: whoever waits for this file finds the stack up and the boot's report printed.
  await mkdir(stack.dataDir, { recursive: true });
  await writeFile(envFile, toEnvFile(stack.env), { mode: 0o600 });
  const watcher = watchCatalog({
    file: opts.catalog,
    at: { endpoint: stack.endpoints.s3, bucket: BUCKET_NAME, key: CATALOG_KEY },
    onReload: (result) => {
      if (result.ok) console.log(`${green('✔')} catalog reloaded (${Object.keys(result.catalog.services).length} services)`);
      else console.log(`${red('✖')} catalog not reloaded; the running catalog stays:\n${result.errors}`);
    },
  });
  console.log(
    printsLinks(getConfig().OUTBOX_PRINT_LINKS)
      ? dim('  approval links are printed below as emails are sent; they are bearer credentials, keep them out of logs')
      : dim('  approval links are not printed (stdout is not a terminal; --print-links prints them): they are in the .eml files'),
  );
  console.log(`\nIn another terminal:\n  ${bold(`source ${path.relative(process.cwd(), envFile)}`)}`);
  for (const line of releaseHint(stack.catalog)) console.log(dim(line));
  console.log(dim('\nCtrl-C stops everything.'));

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('\nstopping…');
  watcher.close();
  await stack.stop();
  await rm(envFile, { force: true });
}

/** An example release of the catalog's first service: the bundled greeter's real files, else placeholders. */
function releaseHint(catalog: Catalog): string[] {
  const [name, service] = Object.entries(catalog.services)[0];
  const [artifact, openapi] =
    name === 'greeter'
      ? [
          '--artifact examples/greeter/1.0.0/service.mjs --collection examples/greeter/1.0.0/collection.postman.json',
          'examples/greeter/1.0.0/openapi.yaml',
        ]
      : ['--artifact <your build> --collection <postman collection>', '<openapi.yaml>'];
  return [
    `  npx launchway release --service ${name} --version 1.0.0 --commit 1a2b3c4 --triggered-by ci@example.com \\`,
    `    ${artifact} \\`,
    `    --openapi ${openapi} --wait`,
    `  npx launchway approve <releaseId> --as ${service.approvers[0]}`,
  ];
}

/** What the boot brought back from the last run, and what it could not. */
function printRecovery(stack: EmbeddedStack): void {
  const { notices, finalized, restarted } = stack.recovery;
  for (const notice of notices) console.log(`${yellow('!')} ${notice}`);
  for (const line of finalized) console.log(`${line.ok ? yellow('!') : red('✖')} ${line.message}`);
  for (const line of restarted) console.log(`${line.ok ? green('✔') : red('✖')} ${line.message}`);
}
