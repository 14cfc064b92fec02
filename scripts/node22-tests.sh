#!/usr/bin/env bash
# Runs the unit, integration and state machine tests on Node 22, the Lambda runtime's major, besides the machine's
# own Node. Only the npm registry is reachable from CI, so Node 22 comes from its node-linux-<arch> package (the
# official binary inside a package, no install script), kept in a cache folder outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

major=22
# The node-linux-<arch> packages hold the glibc Linux binary: elsewhere (macOS, Alpine's musl) it cannot start, so say
# so before downloading it.
if [ "$(uname -s)" != Linux ]; then
  echo "node22-tests: needs Linux (the node-linux-<arch> package); on $(uname -s), run npm test under a Node 22 you install" >&2
  exit 1
fi
if [ -z "$(node -p 'process.report.getReport().header.glibcVersionRuntime ?? ""')" ]; then
  echo "node22-tests: needs a glibc Linux (the node-linux-<arch> binary is built against glibc); this one has none (musl?)" >&2
  exit 1
fi
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node22-tests: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
# A runner may start scripts without HOME: take the account's home from the password database, as a login would, and
# export it so npm's cache and the tests see the same one. Never a shared folder such as /tmp: the binary is run.
if [ -z "${HOME:-}" ]; then
  home="$(getent passwd "$(id -u)" | cut -d: -f6 || true)"
  if [ -n "$home" ]; then
    export HOME="$home"
  elif [ -z "${XDG_CACHE_HOME:-}" ]; then
    echo "node22-tests: HOME is not set and the account has no home directory: set HOME or XDG_CACHE_HOME" >&2
    exit 1
  fi
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/launchway/node-$major-linux-$arch"
bin="$cache/node_modules/node-linux-$arch/bin"

if [ ! -x "$bin/node" ]; then
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --no-package-lock "node-linux-$arch@$major"
fi

version="$("$bin/node" --version)"
case "$version" in
  "v$major."*) ;;
  *) echo "node22-tests: $bin/node is $version, expected v$major.x" >&2; exit 1 ;;
esac
echo "node22-tests: $version from $bin"

# First on PATH, so anything the tests start as `node` (tsx, local-process targets, the bin) runs on Node 22 too.
export PATH="$bin:$PATH"

# classic-level (dynalite's store) is the native module: an N-API prebuild, which must load on this Node as well.
node --input-type=module -e "await import('classic-level')"

exec node node_modules/vitest/vitest.mjs run test/unit test/integration test/statemachine
