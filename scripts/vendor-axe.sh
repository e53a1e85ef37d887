#!/usr/bin/env bash
# Vendor axe-core for the browser tests only (never served by the app): the pinned version,
# fetched with `npm pack` from the npm registry (npm checks the tarball's integrity hash), into
# tests/e2e/vendor/axe-core/ with its licence and a VERSION file. Safe to run again.
set -euo pipefail

AXE_VERSION=4.14.1

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/tests/e2e/vendor/axe-core"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v npm >/dev/null || { echo "vendor-axe: npm is required" >&2; exit 1; }
(cd "$WORK" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
tar -xzf "$WORK"/*.tgz -C "$WORK"
rm -rf "$DEST"
mkdir -p "$DEST"
cp "$WORK/package/axe.min.js" "$WORK/package/LICENSE" "$DEST/"
printf 'axe-core %s\n' "$AXE_VERSION" >"$DEST/VERSION"
echo "vendored axe-core $AXE_VERSION into ${DEST#"$ROOT"/}"
