#!/usr/bin/env bash
# Install llama.cpp (node-llama-cpp@3.22.1, prebuilt CPU binaries) and run_ref.mjs into DEST (default: ./llamaref).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-llamaref}
mkdir -p "$dest"
cp "$here/run_ref.mjs" "$dest/run_ref.mjs"
if [ -f "$dest/node_modules/@node-llama-cpp/linux-x64/package.json" ] && [ -f "$dest/node_modules/node-llama-cpp/package.json" ] &&
   grep -q '"version": "3.22.1"' "$dest/node_modules/node-llama-cpp/package.json"; then
  echo "llamaref: node-llama-cpp 3.22.1 already installed in $dest"
  exit 0
fi
command -v npm >/dev/null || { echo "llamaref: npm is missing (bash .ci/install-deps installs it)" >&2; exit 1; }
[ -f "$dest/package.json" ] || echo '{"name":"scalpel-llamaref","private":true,"type":"module"}' > "$dest/package.json"
cd "$dest"
npm install --no-audit --no-fund --omit=optional --ignore-scripts \
  node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1
node -e 'import("node-llama-cpp").then(() => console.log("llamaref: node-llama-cpp loads"))'
