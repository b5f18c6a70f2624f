#!/usr/bin/env bash
# Fetch the prebuilt OHIF viewer (the npm package @ohif/app, which ships a built dist/) into .cache/ohif/<version>/,
# once: later runs find it there and do nothing. .ci/run calls this before the tests; nothing fetches it at run time.
# The version and the registry's sha512 are pinned here: a tarball that does not match is refused.
#   <version>/dist       as published: OHIF at the root of a web server of its own (another origin)
#   <version>/dist-ohif  the same files with the public path moved to /ohif/ (ui/ohif.py serves it; unchanged files are
#                        hard links): index.html's links, webpack's public path in the bundles, the CSS font URLs
#   current -> <version>
# Usage: tools/fetch_ohif.sh [TARGET_DIR]   (default .cache/ohif; prints the dist directory)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE='@ohif/app'
VERSION='3.13.2'
INTEGRITY='sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=='

cache="${1:-.cache/ohif}"
target="$cache/$VERSION"
if [ -f "$target/dist/index.html" ] && [ -f "$target/dist-ohif/index.html" ]; then
    ln -sfn "$VERSION" "$cache/current"
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
package="$work/unpacked/package"
test -f "$package/dist/index.html"
cp -al "$package/dist" "$package/dist-ohif"
relocate() {  # FILE SED-SCRIPT: a new file (never through the hard link to dist/)
    sed "$2" "$1" >"$1.moved" && rm "$1" && mv "$1.moved" "$1"
}
# the manifest is fetched without cookies unless asked: with them, /ohif/ lets it through
relocate "$package/dist-ohif/index.html" 's#PUBLIC_URL="/"#PUBLIC_URL="/ohif/"#g; s# src="/# src="/ohif/#g;
    s# href="/# href="/ohif/#g; s#<link rel="manifest"#<link rel="manifest" crossorigin="use-credentials"#'
relocate "$package/dist-ohif/manifest.json" 's#"/assets/#"/ohif/assets/#g'
grep -l '__webpack_require__.p = "/";' "$package"/dist-ohif/*.js | while read -r file; do
    relocate "$file" 's#__webpack_require__.p = "/";#__webpack_require__.p = "/ohif/";#'
done
for file in "$package"/dist-ohif/*.css; do
    relocate "$file" 's#url(/#url(/ohif/#g'
done
mkdir -p "$cache"
rm -rf "$target"
mv "$package" "$target"
ln -sfn "$VERSION" "$cache/current"
echo "$target/dist"
