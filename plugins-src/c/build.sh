#!/usr/bin/env bash
# Builds the C guest plugins: bash plugins-src/c/build.sh OUT_DIR
#
# Installs what it needs from apt (clang, lld, wasi-libc, libclang-rt-dev-wasm32, and for C++
# libc++-dev-wasm32 and libc++abi-14-dev-wasm32; nothing is fetched when they are there),
# compiles fib.c (legacy ABI) and textkit.c (typed ABI, with xxplugin.h) and wasiprobe.c (WASI,
# for the policy tests) for wasm32-wasi as reactors, and hello.cpp (xxplugin.h from C++, with
# libc++) likewise with clang++, and writes fib_c.wasm, textkit_c.wasm, wasiprobe_c.wasm and
# hello_cpp.wasm into OUT_DIR. Intermediate files go to $XXPLUGIN_BUILD_DIR if set, else to a temporary directory.
#
# Reproducible: no debug info, names or producers sections (--strip-all), source paths mapped
# away, so the bytes depend only on the sources and the compiler. The committed plugins were
# built with the clang in EXPECTED_CLANG; another clang version gives other (working) bytes.
set -euo pipefail

OUT="$(mkdir -p "$1" && cd -- "$1" && pwd -P)"
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
PACKAGES=(clang lld wasi-libc libclang-rt-dev-wasm32 libc++-dev-wasm32 libc++abi-14-dev-wasm32)
EXPECTED_CLANG="Debian clang version 14.0.6"

log() { printf '[c] %s\n' "$*" >&2; }

# ------------------------------------------------------------------ toolchain
missing=()
for pkg in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	command -v apt-get >/dev/null 2>&1 || {
		log "missing ${missing[*]} and no apt-get: install clang, wasm-ld and a wasm32-wasi sysroot yourself"
		exit 2
	}
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { log "installing ${missing[*]} needs root"; exit 2; }
		sudo=(sudo)
	fi
	log "installing ${missing[*]}"
	${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
command -v clang >/dev/null 2>&1 || { log "clang not found on PATH"; exit 2; }
command -v clang++ >/dev/null 2>&1 || { log "clang++ not found on PATH (package clang)"; exit 2; }
command -v wasm-ld >/dev/null 2>&1 || { log "wasm-ld not found on PATH (package lld)"; exit 2; }
version="$(clang --version | head -n 1)"
log "using $version ($(command -v clang))"
case "$version" in
"$EXPECTED_CLANG"*) ;;
*) log "warning: plugins/*_c.wasm were built with $EXPECTED_CLANG; this clang gives other bytes" ;;
esac

# ---------------------------------------------------------------------- build
if [ -n "${XXPLUGIN_BUILD_DIR:-}" ]; then
	BUILD="$(mkdir -p "$XXPLUGIN_BUILD_DIR" && cd -- "$XXPLUGIN_BUILD_DIR" && pwd -P)"
else
	BUILD="$(mktemp -d "${TMPDIR:-/tmp}/xxplugin-c.XXXXXX")"
	trap 'rm -rf -- "$BUILD"' EXIT
fi

CFLAGS=(
	--target=wasm32-wasi # Debian's wasi-libc is a 2022 snapshot: wasip1 is not known there
	-std=c11 -O2 -Wall -Wextra
	-mexec-model=reactor # exports _initialize (runs constructors); the host calls it once
	-DNDEBUG
	"-ffile-prefix-map=$HERE=."
	"-ffile-prefix-map=$BUILD=build"
)
LDFLAGS=(
	-Wl,--strip-all           # no debug info, names or producers: the xxplugin section stays
	-Wl,--stack-first         # a stack overflow traps instead of overwriting static data
	-Wl,-z,stack-size=65536
)

for p in fib textkit wasiprobe; do
	log "clang ${CFLAGS[*]} ${LDFLAGS[*]} -o ${p}_c.wasm $p.c"
	(
		cd "$HERE"
		TMPDIR="$BUILD" SOURCE_DATE_EPOCH=0 \
			clang "${CFLAGS[@]}" "${LDFLAGS[@]}" -o "$BUILD/${p}_c.wasm" "$p.c"
	)
	cp -- "$BUILD/${p}_c.wasm" "$OUT/${p}_c.wasm"
	chmod 0644 "$OUT/${p}_c.wasm"
	log "${p}_c.wasm ($(wc -c <"$OUT/${p}_c.wasm") bytes)"
done

# C++: the same header, and libc++. No exceptions: wasm32-wasi's libc++ is built without them.
CXXFLAGS=(
	--target=wasm32-wasi
	-std=c++17 -O2 -Wall -Wextra
	-fno-exceptions
	-mexec-model=reactor
	-DNDEBUG
	"-ffile-prefix-map=$HERE=."
	"-ffile-prefix-map=$BUILD=build"
)
for p in hello; do
	log "clang++ ${CXXFLAGS[*]} ${LDFLAGS[*]} -o ${p}_cpp.wasm $p.cpp"
	(
		cd "$HERE"
		TMPDIR="$BUILD" SOURCE_DATE_EPOCH=0 \
			clang++ "${CXXFLAGS[@]}" "${LDFLAGS[@]}" -o "$BUILD/${p}_cpp.wasm" "$p.cpp"
	)
	cp -- "$BUILD/${p}_cpp.wasm" "$OUT/${p}_cpp.wasm"
	chmod 0644 "$OUT/${p}_cpp.wasm"
	log "${p}_cpp.wasm ($(wc -c <"$OUT/${p}_cpp.wasm") bytes)"
done
