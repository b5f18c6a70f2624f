#!/usr/bin/env bash
# Fetch the prebuilt OHIF viewer (the npm package @ohif/app, which ships a built dist/) into .cache/ohif/<version>/,
# once: later runs find it there and do nothing. .ci/run calls this before the tests; nothing fetches it at run time.
# The version and the registry's sha512 are pinned here: a tarball that does not match is refused.
# Usage: tools/fetch_ohif.sh [TARGET_DIR]   (default .cache/ohif; prints the dist directory)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE='@ohif/app'
VERSION='3.13.2'
INTEGRITY='sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=='

target="${1:-.cache/ohif}/$VERSION"
if [ -f "$target/dist/index.html" ] && [ -f "$target/dist/app-config.js" ]; then
    echo "$target/dist"
    exit 0
fi
command -v npm >/dev/null || { echo 'fetch_ohif: npm is not installed (apt-get install npm)' >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# npm checks the tarball against the registry's integrity; the pinned one below guards against a re-published name.
npm pack "$PACKAGE@$VERSION" --pack-destination "$work" --json --silent >"$work/pack.json"
got="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["integrity"])' "$work/pack.json")"
if [ "$got" != "$INTEGRITY" ]; then
    echo "fetch_ohif: $PACKAGE@$VERSION has integrity $got, expected $INTEGRITY" >&2
    exit 1
fi
mkdir -p "$work/unpacked"
tar -xzf "$work"/*.tgz -C "$work/unpacked" package/dist package/LICENSE
test -f "$work/unpacked/package/dist/index.html"
mkdir -p "$(dirname "$target")"
rm -rf "$target"
mv "$work/unpacked/package" "$target"
echo "$target/dist"
