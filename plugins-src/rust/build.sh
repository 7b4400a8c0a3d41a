#!/usr/bin/env bash
# Builds the Rust guest plugins: bash plugins-src/rust/build.sh OUT_DIR
#
# Installs what it needs (the pinned toolchain's wasm32-unknown-unknown target), builds the
# workspace reproducibly (paths remapped, so the bytes do not depend on where the checkout or
# the home directory is) and writes NAME.wasm for every plugin into OUT_DIR.
set -euo pipefail

OUT="$(mkdir -p "$1" && cd -- "$1" && pwd -P)"
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$HERE/../.." && pwd -P)"
TOOLCHAIN="1.95.0"
TARGET="wasm32-unknown-unknown"
# Workspace members whose NAME.wasm is a plugin.
PLUGINS=(fib testplugin textkit rustguest)

log() { printf '[rust] %s\n' "$*" >&2; }

command -v rustup >/dev/null 2>&1 || { log "rustup not found: install it from rustup.rs first"; exit 2; }
if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
	log "installing Rust toolchain $TOOLCHAIN"
	rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! rustup target list --installed --toolchain "$TOOLCHAIN" | grep -qx "$TARGET"; then
	log "adding target $TARGET to $TOOLCHAIN"
	rustup target add "$TARGET" --toolchain "$TOOLCHAIN"
fi

TARGET_DIR="${XXPLUGIN_BUILD_DIR:-$HERE/target}"
mkdir -p "$TARGET_DIR"
TARGET_DIR="$(cd -- "$TARGET_DIR" && pwd -P)"
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
RUSTUP_HOME_DIR="${RUSTUP_HOME:-$HOME/.rustup}"
# Paths that could end up in the output (panic locations) are remapped to fixed ones. When
# several prefixes match, rustc applies the last one given, so the most specific come last.
flags=()
case "${HOME:-/}" in /) ;; *) flags+=("--remap-path-prefix=$HOME=/home") ;; esac
flags+=(
	"--remap-path-prefix=$RUSTUP_HOME_DIR=/rustup"
	"--remap-path-prefix=$CARGO_HOME_DIR=/cargo"
	"--remap-path-prefix=$ROOT=/xxlang-plugin"
	"--remap-path-prefix=$HERE=/xxlang-plugin/plugins-src/rust"
	"--remap-path-prefix=$TARGET_DIR=/xxlang-plugin/plugins-src/rust/target"
)
log "cargo +$TOOLCHAIN build --release --target $TARGET --locked"
(
	cd "$HERE"
	# A clean environment for cargo: nothing from the caller's RUSTFLAGS etc. The flags go in
	# CARGO_ENCODED_RUSTFLAGS (0x1f-separated) so that paths with spaces survive.
	unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER \
		RUSTC_WORKSPACE_WRAPPER RUSTC RUSTDOC CARGO_BUILD_TARGET
	CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f' && printf '%s' "${flags[*]}")" \
		CARGO_TARGET_DIR="$TARGET_DIR" \
		CARGO_INCREMENTAL=0 \
		SOURCE_DATE_EPOCH=0 \
		cargo "+$TOOLCHAIN" build --release --target "$TARGET" --locked
)
for p in "${PLUGINS[@]}"; do
	cp -- "$TARGET_DIR/$TARGET/release/$p.wasm" "$OUT/$p.wasm"
	chmod 0644 "$OUT/$p.wasm"
	log "$p.wasm ($(wc -c <"$OUT/$p.wasm") bytes)"
done
