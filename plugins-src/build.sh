#!/usr/bin/env bash
# Rebuilds the WebAssembly plugins in plugins/ from the sources in plugins-src/.
#
#   bash plugins-src/build.sh [--check] [LANG...]
#
# LANG is a folder of plugins-src/ with a build.sh: rust, c, zig, assemblyscript, go. No LANG
# means every language. Each language's build.sh installs its own toolchain from the package
# registries (idempotently) and builds reproducibly: the same sources give the same bytes.
#
# --check builds into a temporary directory and compares byte-for-byte with the committed
#         files in plugins/; exits 1 naming every file that differs or is missing.
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$HERE/.." && pwd -P)"
PLUGINS="$ROOT/plugins"

log() { printf '[build.sh] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 2
}

available=()
for dir in "$HERE"/*/; do
	[ -f "$dir/build.sh" ] && available+=("$(basename "$dir")")
done

check=0
langs=()
for arg in "$@"; do
	case "$arg" in
	--check) check=1 ;;
	-h | --help)
		sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*) die "unknown option: $arg (try --help)" ;;
	*)
		[ -f "$HERE/$arg/build.sh" ] || die "unknown language: $arg (available: ${available[*]})"
		langs+=("$arg")
		;;
	esac
done
[ ${#langs[@]} -gt 0 ] || langs=("${available[@]}")

# Seconds since $1 (a `date +%s%N` reading), to a tenth.
since() {
	local ns=$(($(date +%s%N) - $1))
	printf '%d.%d s' $((ns / 1000000000)) $(((ns / 100000000) % 10))
}
start=$(date +%s%N)

tmp="$(mktemp -d "${TMPDIR:-/tmp}/xxlang-plugins.XXXXXX")"
trap 'rm -rf -- "$tmp"' EXIT
bad=()
for lang in "${langs[@]}"; do
	out="$tmp/out-$lang"
	mkdir -p "$out"
	lang_start=$(date +%s%N)
	if [ "$check" -eq 1 ]; then
		# A fresh build directory, so that nothing cached can hide a difference.
		XXPLUGIN_BUILD_DIR="$tmp/build-$lang" bash "$HERE/$lang/build.sh" "$out"
	else
		bash "$HERE/$lang/build.sh" "$out"
	fi
	log "$lang built in $(since "$lang_start")"
	for file in "$out"/*.wasm; do
		[ -e "$file" ] || die "$lang/build.sh produced no .wasm files"
		name="$(basename "$file")"
		if [ "$check" -eq 1 ]; then
			if [ ! -f "$PLUGINS/$name" ]; then
				bad+=("plugins/$name (missing: not committed)")
			elif ! cmp -s -- "$file" "$PLUGINS/$name"; then
				bad+=("plugins/$name (committed $(wc -c <"$PLUGINS/$name") bytes, rebuilt $(wc -c <"$file") bytes)")
			else
				log "ok: plugins/$name matches its sources"
			fi
		else
			mkdir -p "$PLUGINS"
			cp -- "$file" "$PLUGINS/$name"
		fi
	done
done

if [ ${#bad[@]} -gt 0 ]; then
	log "CHECK FAILED: these plugins differ from a fresh build of their sources:"
	printf '[build.sh]   %s\n' "${bad[@]}" >&2
	log "rebuild with: bash plugins-src/build.sh ${langs[*]}   (then commit plugins/)"
	exit 1
fi
if [ "$check" -eq 1 ]; then
	log "check passed for ${langs[*]} in $(since "$start")"
else
	log "built ${langs[*]} into plugins/ in $(since "$start")"
fi
