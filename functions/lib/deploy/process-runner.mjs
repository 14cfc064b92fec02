// The supervised child of every local-process version (process-supervisor.ts spawns it detached, so it leads a
// process group of its own). It runs the version's command in that group and makes sure nothing the command spawned
// outlives the version: when the supervisor's IPC channel closes (the dev server died, even by SIGKILL, whose
// 'exit' hooks never run) or when it gets SIGTERM, it signals the whole group, SIGTERM then SIGKILL after a grace.
// When the command ends by itself, it reports how to the supervisor and kills whatever the command left behind.
// Plain JavaScript with node builtins only, so it runs with `node` as is, whatever loader the runtime uses.
//
// argv[2]: JSON {command: string[], cwd: string, graceMs: number}; the environment is the service's.
import { spawn } from 'node:child_process';

const { command, cwd, graceMs } = JSON.parse(process.argv[2]);
let stopping = false;
let finished = false;

function signalGroup(signal) {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // The group is already gone.
  }
}

function stop() {
  if (stopping) return;
  stopping = true;
  // The runner gets this SIGTERM too; its handler is this function, which now does nothing.
  signalGroup('SIGTERM');
  setTimeout(() => signalGroup('SIGKILL'), graceMs);
}

function finish(code, signal) {
  if (finished) return;
  finished = true;
  // SIGKILL to the group ends the command's leftovers and the runner itself, so it comes after the report is sent.
  const end = () => signalGroup('SIGKILL');
  if (process.connected) process.send({ exit: { code, signal } }, end);
  else end();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGHUP', stop);
if (process.channel) process.on('disconnect', stop);

const env = { ...process.env };
// The channel is the runner's; a Node service given these would try to open it as its own.
delete env.NODE_CHANNEL_FD;
delete env.NODE_CHANNEL_SERIALIZATION_MODE;
const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
child.on('error', (err) => {
  process.stderr.write(`launchway: cannot run ${JSON.stringify(command[0])}: ${err.code ?? err.message}\n`);
  finish(127, null);
});
child.on('exit', (code, signal) => finish(code, signal));
