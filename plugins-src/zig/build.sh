#!/usr/bin/env bash
# Builds the Zig guest plugins: bash plugins-src/zig/build.sh OUT_DIR
#
# Installs the pinned Zig from PyPI (package `ziglang`) into plugins-src/.tools/zig-venv unless
# that exact version is already there, builds fib_zig.wasm (legacy ABI) and textkit_zig.wasm
# (typed ABI) reproducibly, checks their exports and imports, and writes them into OUT_DIR.
# Zig's caches go to $XXPLUGIN_BUILD_DIR if set, else to plugins-src/zig/.zig-cache.
set -euo pipefail

OUT="$(mkdir -p "$1" && cd -- "$1" && pwd -P)"
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
TOOLS="$(cd -- "$HERE/.." && pwd -P)/.tools"
ZIG_VERSION="0.17.1"
VENV="$TOOLS/zig-venv"

log() { printf '[zig] %s\n' "$*" >&2; }

# ReleaseSmall: no safety checks (like ReleaseFast) and the least code. On an interpreter every
# wasm instruction costs the same dispatch, so less code is also as fast or faster here (ReleaseFast
# unrolls and inlines more), and the module validates and loads quicker.
OPT="ReleaseSmall"
# What each plugin exports besides `memory`: exactly these (the build fails on a missing one).
FIB_EXPORTS=(alloc plugin_name plugin_version call_fast call_matrix call_isFib range_)
TEXTKIT_EXPORTS=(upper reverse concat length echo_str xor scale is_palindrome choose split sum iota
	word_counts echo noop)

zig_bin() { "$VENV/bin/python" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))'; }

installed=""
if [ -x "$VENV/bin/python" ]; then
	installed="$("$(zig_bin 2>/dev/null || echo false)" version 2>/dev/null || true)"
fi
if [ "$installed" != "$ZIG_VERSION" ]; then
	command -v python3 >/dev/null 2>&1 || { log "python3 not found: it is needed to install Zig from PyPI"; exit 2; }
	log "installing Zig $ZIG_VERSION (PyPI package ziglang==$ZIG_VERSION) into $VENV"
	mkdir -p "$TOOLS"
	[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
	"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "ziglang==$ZIG_VERSION"
fi
ZIG="$(zig_bin)"
log "zig $("$ZIG" version) ($ZIG), -O $OPT"

CACHE="${XXPLUGIN_BUILD_DIR:-$HERE/.zig-cache}"
mkdir -p "$CACHE"
CACHE="$(cd -- "$CACHE" && pwd -P)"

# $1: root source file, $2: output name, rest: exported symbols.
build() {
	local src="$1" out="$2"
	shift 2
	local flags=(-target wasm32-freestanding -O "$OPT" -fno-entry -fstrip --stack 65536)
	local sym
	for sym in "$@"; do flags+=("--export=$sym"); done
	(
		# Relative paths from the source folder, a clean environment, caches in $CACHE: the
		# bytes depend on nothing but the sources and the compiler.
		cd "$HERE"
		unset ZIG_LIB_DIR ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR ZIG_VERBOSE_LINK ZIG_VERBOSE_CC
		"$ZIG" build-exe "$src" "${flags[@]}" \
			--name "${out%.wasm}" \
			--cache-dir "$CACHE/local" --global-cache-dir "$CACHE/global" \
			-femit-bin="$CACHE/$out"
	)
	# Check what the host will see: exactly `memory` and the given functions exported, no
	# imports but the `xxplugin` ones.
	"$VENV/bin/python" - "$CACHE/$out" "$@" <<-'EOF'
		import sys
		path, want = sys.argv[1], sorted(["memory"] + sys.argv[2:])
		b = open(path, "rb").read()
		assert b[:8] == b"\0asm\1\0\0\0", "not a wasm module"
		def leb(i):
		    r = s = 0
		    while True:
		        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
		        if x < 0x80: return r, i
		def name(i):
		    n, i = leb(i); return b[i:i + n].decode(), i + n
		exports, imports, i = [], [], 8
		while i < len(b):
		    sid = b[i]; size, i = leb(i + 1); end = i + size
		    if sid in (2, 7):
		        count, j = leb(i)
		        for _ in range(count):
		            if sid == 2:
		                mod, j = name(j); field, j = name(j); imports.append(f"{mod}.{field}")
		                if b[j] != 0: sys.exit(f"{path}: import {mod}.{field} is not a function")
		                _, j = leb(j + 1)
		            else:
		                field, j = name(j); exports.append(field); _, j = leb(j + 1)
		    i = end
		bad = [m for m in imports if not m.startswith("xxplugin.")]
		if sorted(exports) != want or bad:
		    sys.exit(f"{path}: exports {sorted(exports)} (want {want}); unexpected imports {bad}")
	EOF
	cp -- "$CACHE/$out" "$OUT/$out"
	chmod 0644 "$OUT/$out"
	log "$out ($(wc -c <"$OUT/$out") bytes)"
}

build fib.zig fib_zig.wasm "${FIB_EXPORTS[@]}"
build textkit.zig textkit_zig.wasm "${TEXTKIT_EXPORTS[@]}"
