#!/usr/bin/env bash
# Vendor the browser libraries the chat UI loads: pinned versions, fetched with `npm pack` from
# the npm registry (npm checks each tarball against the registry's integrity hash), copied into
# static/vendor/<name>/ with their licence and a VERSION file. There is no build step: the files
# are served as they are. marked and DOMPurify publish no minified ES module, so this script
# minifies theirs with esbuild (pinned, installed into a temporary folder, licence comments
# kept); the others ship minified builds. Safe to run again: each target folder is replaced.
set -euo pipefail

MARKED_VERSION=18.2.1
DOMPURIFY_VERSION=3.4.18
HIGHLIGHT_VERSION=11.12.0
CHARTJS_VERSION=4.6.1
ESBUILD_VERSION=0.28.2

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENDOR="$ROOT/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

die() { echo "vendor-frontend: $*" >&2; exit 1; }
command -v npm >/dev/null || die "npm is required (apt-get install npm)"

# fetch SPEC: unpack the package tarball into $WORK/<sanitised spec>/package.
fetch() {
  local spec="$1" dir="$WORK/${1//[@\/]/_}"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed"
  tar -xzf "$dir"/*.tgz -C "$dir" || die "cannot unpack $spec"
  echo "$dir/package"
}

# put SRC DEST: copy one file, failing loudly when the package layout changed.
put() {
  [[ -f "$1" ]] || die "missing in package: $1"
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2"
}

# Source maps are not vendored, so the comment pointing at them goes: a dangling
# sourceMappingURL makes browsers log 404s and breaks hashed static storages at collectstatic.
strip_sourcemap() { sed -i '/^\/\/# sourceMappingURL=/d' "$1"; }

# minify FILE: esbuild's minified ES module in place of FILE (the same exports).
minify() {
  if [[ ! -x "$WORK/tools/node_modules/.bin/esbuild" ]]; then
    npm install --silent --no-save --prefix "$WORK/tools" "esbuild@$ESBUILD_VERSION" >/dev/null \
      || die "cannot install esbuild@$ESBUILD_VERSION"
  fi
  "$WORK/tools/node_modules/.bin/esbuild" "$1" --minify --format=esm --legal-comments=inline \
    --log-level=warning --outfile="$1.min" || die "cannot minify $1"
  mv "$1.min" "$1"
}

# version_file DEST NAME VERSION: record exactly what was vendored.
version_file() { printf '%s %s\n' "$2" "$3" >"$1/VERSION"; }

vendor_marked() {
  local pkg dest="$VENDOR/marked"
  pkg="$(fetch "marked@$MARKED_VERSION")"
  rm -rf "$dest"
  put "$pkg/lib/marked.esm.js" "$dest/marked.esm.min.js"
  put "$pkg/LICENSE" "$dest/LICENSE"
  strip_sourcemap "$dest/marked.esm.min.js"
  minify "$dest/marked.esm.min.js"
  version_file "$dest" marked "$MARKED_VERSION"
}

vendor_dompurify() {
  local pkg dest="$VENDOR/dompurify"
  pkg="$(fetch "dompurify@$DOMPURIFY_VERSION")"
  rm -rf "$dest"
  # Saved as .js: some static servers do not know the .mjs type, and modules need a JS one.
  put "$pkg/dist/purify.es.mjs" "$dest/purify.es.min.js"
  # DOMPurify is dual-licensed (Apache-2.0 or MPL-2.0): keep both texts.
  put "$pkg/LICENSE" "$dest/LICENSE"
  if [[ -f "$pkg/LICENSE-MPL" ]]; then put "$pkg/LICENSE-MPL" "$dest/LICENSE-MPL"; fi
  strip_sourcemap "$dest/purify.es.min.js"
  minify "$dest/purify.es.min.js"
  version_file "$dest" dompurify "$DOMPURIFY_VERSION"
}

vendor_highlight() {
  local pkg dest="$VENDOR/highlight.js"
  pkg="$(fetch "@highlightjs/cdn-assets@$HIGHLIGHT_VERSION")"
  rm -rf "$dest"
  # The prebuilt browser bundle (common languages) as an ES module: render.js imports it.
  put "$pkg/es/highlight.min.js" "$dest/es/highlight.min.js"
  put "$pkg/styles/github.min.css" "$dest/styles/github.min.css"
  put "$pkg/styles/github-dark.min.css" "$dest/styles/github-dark.min.css"
  put "$pkg/LICENSE" "$dest/LICENSE"
  version_file "$dest" @highlightjs/cdn-assets "$HIGHLIGHT_VERSION"
}

vendor_chartjs() {
  local pkg dest="$VENDOR/chart.js"
  pkg="$(fetch "chart.js@$CHARTJS_VERSION")"
  rm -rf "$dest"
  # The UMD build (a classic script defining window.Chart, every controller registered): the
  # admin's usage pages load it with a plain <script> tag.
  put "$pkg/dist/chart.umd.min.js" "$dest/chart.umd.min.js"
  put "$pkg/LICENSE.md" "$dest/LICENSE.md"
  strip_sourcemap "$dest/chart.umd.min.js"
  version_file "$dest" chart.js "$CHARTJS_VERSION"
}

vendor_marked
vendor_dompurify
vendor_highlight
vendor_chartjs
echo "vendored into ${VENDOR#"$ROOT"/}:"
cat "$VENDOR"/*/VERSION
