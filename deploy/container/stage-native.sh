#!/bin/sh
# Lays out the architecture-specific part of the image under $2 (from the app dir $1, after `npm rebuild`):
# production node_modules with only this architecture's binaries and without the packages that only build addons,
# tini and the addon check. The runtime stage copies it, so it needs no RUN (and so no emulator) at all.
# $3: where to write the lockfile paths of the npm packages shipped (for the SBOM).
set -eu
app="$1"
out="$2"
present="$3"
dest="$out/opt/zephyr2mqtt"

mkdir -p "$dest/bin" "$out/usr/local/bin"
cp -a "$app/node_modules" "$dest/"
cp /tmp/check-addons.cjs "$dest/bin/check-addons.cjs"
cp "$app/package-lock.json" "$dest/package-lock.json"
node /tmp/prune-build-deps.mjs "$dest" "$present"
rm "$dest/package-lock.json"
cp "$(command -v tini-static)" "$out/usr/local/bin/tini"

# Only this architecture's prebuilt binaries, and no compiler leftovers, sources, docs or type declarations.
arch_tag="linux-$(node -p process.arch)"
find "$dest/node_modules" -type d -name prebuilds | while read -r dir; do
  find "$dir" -mindepth 1 -maxdepth 1 -type d ! -name "$arch_tag" -exec rm -rf {} +
done
find "$dest/node_modules" -type d -path '*/build/Release/*' \( -name obj.target -o -name .deps \) -prune \
  -exec rm -rf {} +
# TypeScript sources (.ts, .mts, .cts: Node 20 loads none of them) and the packages' own tests, benchmarks and
# examples at the top of each package (never required at run time; the smoke test starts the gateway on them).
find "$dest/node_modules" \( -name '*.md' -o -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \
  -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.c' \) -type f -delete
find "$dest/node_modules" -regextype posix-extended -type d \
  -regex '.*/node_modules/(@[^/]+/)?[^/]+/(test|tests|__tests__|benchmarks?|examples?|\.github)' -prune -exec rm -rf {} +
find "$dest/node_modules" -mindepth 1 -type d -empty -delete
# Prebuilt addons for musl sit beside the glibc ones; keep them only when this stage (like the runtime) is musl.
if ! ls /lib/ld-musl-* >/dev/null 2>&1; then find "$dest/node_modules" -name '*.musl.node' -type f -delete; fi
