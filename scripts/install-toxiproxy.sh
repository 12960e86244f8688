#!/usr/bin/env bash
# Build and install the real Toxiproxy (Shopify): its server as `toxiproxy-server` and
# its command-line client as `toxiproxy-cli` (the tests drive both toxiproxy-server and
# `wirefault proxy-server` with it). Idempotent: does nothing for a binary whose wanted
# version is already installed. Needs Go (https://go.dev); installs into ${PREFIX:-/usr/local}/bin.
set -euo pipefail

version="${TOXIPROXY_VERSION:-2.12.0}"
prefix="${PREFIX:-/usr/local}"

# install_one PACKAGE BINARY: go install github.com/Shopify/toxiproxy/v2/cmd/PACKAGE as BINARY.
install_one() {
    local package="$1" binary="$2"
    local target="$prefix/bin/$binary"
    local stamp="$prefix/share/wirefault/$binary.version"
    if [ -x "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
        echo "$binary $version already installed at $target"
        return 0
    fi
    local gobin
    gobin="$(mktemp -d)"
    # -ldflags sets the version /version (and the cli's --version) reports ("git" otherwise).
    if ! GOBIN="$gobin" go install \
            -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=$version" \
            "github.com/Shopify/toxiproxy/v2/cmd/$package@v$version"; then
        # Some module versions were only accepted with the checksum database off
        # (see shared/NOTES.md); retry once that way for the Shopify module alone.
        GONOSUMDB=github.com/Shopify GOBIN="$gobin" go install \
            -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=$version" \
            "github.com/Shopify/toxiproxy/v2/cmd/$package@v$version"
    fi
    mkdir -p "$prefix/bin" "$(dirname "$stamp")"
    install -m 0755 "$gobin/$package" "$target"
    rm -rf "$gobin"
    echo "$version" > "$stamp"
    echo "installed $binary $version at $target"
}

if ! command -v go >/dev/null 2>&1; then
    for binary in toxiproxy-server toxiproxy-cli; do
        if [ ! -x "$prefix/bin/$binary" ]; then
            echo "install-toxiproxy: Go is not installed; install Go or set TOXIPROXY_URL to a running server" >&2
            exit 1
        fi
    done
fi
install_one server toxiproxy-server
install_one cli toxiproxy-cli
