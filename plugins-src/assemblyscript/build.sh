#!/usr/bin/env bash
# Builds the AssemblyScript guest plugins: bash plugins-src/assemblyscript/build.sh OUT_DIR
#
# Installs the pinned AssemblyScript compiler from the committed package-lock.json (npm ci
# into ./node_modules, only when it is missing or does not match the lockfile), compiles
# fib.ts and textkit.ts with the options in asconfig.json (-O3, incremental GC runtime, no
# debug info, no source map) and writes fib_as.wasm and textkit_as.wasm into OUT_DIR.
# Intermediate files go to $XXPLUGIN_BUILD_DIR when it is set, else ./build. asc gets only
# relative paths, so the bytes do not depend on where the checkout is.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: bash $0 OUT_DIR" >&2; exit 2; }
OUT="$(mkdir -p "$1" && cd -- "$1" && pwd -P)"
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
NODE_MIN=20 # assemblyscript's engines field
# OUTPUT_NAME:SOURCE
PLUGINS=(fib_as:fib.ts textkit_as:textkit.ts)

log() { printf '[assemblyscript] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Node.js and npm: on the project's machines they are preinstalled; elsewhere try Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "installing Node.js and npm with apt-get"
		apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
	fi
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
		die "Node.js >= $NODE_MIN and npm are needed: install them first"
fi
[ "$(node_major)" -ge "$NODE_MIN" ] || die "Node.js >= $NODE_MIN is needed, found $(node --version)"

# A clean environment for node, npm and asc: nothing from the caller changes the build.
unset NODE_OPTIONS NODE_PATH npm_config_production NODE_ENV

# The compiler, from the committed lockfile. The stamp (a hash of package-lock.json) says
# which lockfile node_modules was installed from.
want="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
stamp="$HERE/node_modules/.xxplugin-lock-sha256"
asc="$HERE/node_modules/assemblyscript/bin/asc.js"
if [ ! -f "$asc" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	log "npm ci (assemblyscript from package-lock.json)"
	(cd "$HERE" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
	printf '%s\n' "$want" >"$stamp"
fi
version="$(node -p 'require(process.argv[1]).version' "$HERE/node_modules/assemblyscript/package.json")"

BUILD="${XXPLUGIN_BUILD_DIR:-$HERE/build}"
mkdir -p "$BUILD"
BUILD="$(cd -- "$BUILD" && pwd -P)"
for p in "${PLUGINS[@]}"; do
	name="${p%%:*}"
	src="${p#*:}"
	log "asc $src (assemblyscript $version) -> $name.wasm"
	(cd "$HERE" && node "$asc" "$src" --config asconfig.json --noColors -o "$BUILD/$name.wasm")
	cp -- "$BUILD/$name.wasm" "$OUT/$name.wasm"
	chmod 0644 "$OUT/$name.wasm"
	log "$name.wasm ($(wc -c <"$OUT/$name.wasm") bytes)"
done
