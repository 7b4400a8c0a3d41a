#!/usr/bin/env bash
# Rebuilds the WebAssembly plugins in ../plugins/ from the sources in this folder.
#
#   bash plugins-src/build.sh [--check] [LANG...]
#
# LANG: rust (more languages to come). No LANG = every available language.
# --check: build into a temporary directory and compare byte-for-byte with the
#          committed files in plugins/; exits 1 naming every file that differs.
#
# Builds are reproducible: the same sources give the same bytes whatever the
# checkout path, the user's home or cargo home. The script installs what it
# needs (the pinned Rust toolchain's wasm32-unknown-unknown target) itself and
# can be run from any directory, any number of times.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
cd "$SCRIPT_DIR"

ALL_LANGS=(rust)
RUST_TOOLCHAIN="1.95.0"
RUST_TARGET="wasm32-unknown-unknown"
RUST_PLUGINS=(fib testplugin) # workspace members whose NAME.wasm goes to plugins/

log() { printf '[build.sh] %s\n' "$*" >&2; }
die() {
	printf '[build.sh] error: %s\n' "$*" >&2
	exit 2
}

usage() {
	sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# Nanosecond clock (GNU date); falls back to whole seconds.
now_ns() {
	local t
	t="$(date +%s%N 2>/dev/null || true)"
	case "$t" in
	'' | *N) echo "$(($(date +%s) * 1000000000))" ;;
	*) echo "$t" ;;
	esac
}

fmt_elapsed() { # ns → "1.234 s"
	local ns=$1
	printf '%d.%03d s' $((ns / 1000000000)) $(((ns / 1000000) % 1000))
}

# ------------------------------------------------------------------------ rust

ensure_rust() {
	command -v rustup >/dev/null 2>&1 || die "rustup not found: install it from rustup.rs first"
	if ! rustup run "$RUST_TOOLCHAIN" rustc --version >/dev/null 2>&1; then
		log "installing Rust toolchain $RUST_TOOLCHAIN"
		rustup toolchain install "$RUST_TOOLCHAIN" --profile minimal
	fi
	if ! rustup target list --installed --toolchain "$RUST_TOOLCHAIN" | grep -qx "$RUST_TARGET"; then
		log "adding target $RUST_TARGET to $RUST_TOOLCHAIN"
		rustup target add "$RUST_TARGET" --toolchain "$RUST_TOOLCHAIN"
	fi
}

# build_rust OUT_DIR TARGET_DIR: builds every Rust plugin into OUT_DIR/NAME.wasm.
build_rust() {
	local out=$1 target_dir=$2
	ensure_rust
	local src="$SCRIPT_DIR/rust"
	local cargo_home="${CARGO_HOME:-$HOME/.cargo}"
	local rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
	mkdir -p "$target_dir"
	target_dir="$(cd -- "$target_dir" && pwd -P)"
	# Paths that could end up in the output (panic locations, debug info) are
	# remapped to fixed ones. When several prefixes match, rustc applies the
	# last one given, so the most specific ones come last.
	local flags=()
	case "${HOME:-/}" in /) ;; *) flags+=("--remap-path-prefix=$HOME=/home") ;; esac
	flags+=(
		"--remap-path-prefix=$rustup_home=/rustup"
		"--remap-path-prefix=$cargo_home=/cargo"
		"--remap-path-prefix=$ROOT=/xxlang-plugin"
		"--remap-path-prefix=$src=/xxlang-plugin/plugins-src/rust"
		"--remap-path-prefix=$target_dir=/xxlang-plugin/plugins-src/rust/target"
	)
	log "rust: cargo +$RUST_TOOLCHAIN build --release --target $RUST_TARGET --locked"
	(
		cd "$src"
		# A clean environment for cargo: nothing from the caller's RUSTFLAGS etc.
		# The flags go in CARGO_ENCODED_RUSTFLAGS (0x1f-separated) so that
		# paths with spaces survive.
		unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER \
			RUSTC_WORKSPACE_WRAPPER RUSTC RUSTDOC CARGO_BUILD_TARGET
		CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f' && printf '%s' "${flags[*]}")" \
			CARGO_TARGET_DIR="$target_dir" \
			CARGO_INCREMENTAL=0 \
			SOURCE_DATE_EPOCH=0 \
			cargo "+$RUST_TOOLCHAIN" build --release --target "$RUST_TARGET" --locked
	)
	local p
	for p in "${RUST_PLUGINS[@]}"; do
		cp -- "$target_dir/$RUST_TARGET/release/$p.wasm" "$out/$p.wasm"
		chmod 0644 "$out/$p.wasm"
		log "rust: $p.wasm ($(wc -c <"$out/$p.wasm") bytes)"
	done
}

# The files each language produces (for --check).
outputs_rust() { printf '%s.wasm\n' "${RUST_PLUGINS[@]}"; }

# ------------------------------------------------------------------------ main

main() {
	local check=0 langs=() lang
	for arg in "$@"; do
		case "$arg" in
		--check) check=1 ;;
		-h | --help)
			usage
			exit 0
			;;
		-*) die "unknown option: $arg (try --help)" ;;
		*)
			case " ${ALL_LANGS[*]} " in
			*" $arg "*) langs+=("$arg") ;;
			*) die "unknown language: $arg (available: ${ALL_LANGS[*]})" ;;
			esac
			;;
		esac
	done
	[ ${#langs[@]} -gt 0 ] || langs=("${ALL_LANGS[@]}")

	local start
	start="$(now_ns)"
	local plugins_dir="$ROOT/plugins"

	if [ "$check" -eq 0 ]; then
		mkdir -p "$plugins_dir"
		for lang in "${langs[@]}"; do
			"build_$lang" "$plugins_dir" "$SCRIPT_DIR/$lang/target"
		done
		log "built ${langs[*]} into $plugins_dir in $(fmt_elapsed $(($(now_ns) - start)))"
		return 0
	fi

	# --check: a fresh build in a temporary directory, compared with plugins/.
	local tmp
	tmp="$(mktemp -d "${TMPDIR:-/tmp}/xxlang-plugins-check.XXXXXX")"
	# shellcheck disable=SC2064
	trap "rm -rf -- '$tmp'" EXIT
	mkdir -p "$tmp/out"
	local bad=() f
	for lang in "${langs[@]}"; do
		"build_$lang" "$tmp/out" "$tmp/target-$lang"
		while IFS= read -r f; do
			if [ ! -f "$plugins_dir/$f" ]; then
				bad+=("plugins/$f (missing: not committed)")
			elif ! cmp -s -- "$tmp/out/$f" "$plugins_dir/$f"; then
				bad+=("plugins/$f (committed $(wc -c <"$plugins_dir/$f") bytes, rebuilt $(wc -c <"$tmp/out/$f") bytes)")
			else
				log "ok: plugins/$f is up to date"
			fi
		done < <("outputs_$lang")
	done
	local took
	took="$(fmt_elapsed $(($(now_ns) - start)))"
	if [ ${#bad[@]} -gt 0 ]; then
		printf '[build.sh] CHECK FAILED: these plugins differ from a fresh build of their sources:\n' >&2
		printf '[build.sh]   %s\n' "${bad[@]}" >&2
		printf '[build.sh] rebuild them with: bash plugins-src/build.sh %s  (and commit plugins/)\n' "${langs[*]}" >&2
		log "check of ${langs[*]} took $took"
		exit 1
	fi
	log "check passed: plugins/ matches a fresh build of ${langs[*]} ($took)"
}

main "$@"
