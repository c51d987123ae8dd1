#!/bin/sh
# Lays out the architecture-specific part of the image under $2 (from the app dir $1, after `npm rebuild`):
# production node_modules with only this architecture's binaries, tini and the addon check. The runtime stage
# copies it, so it needs no RUN (and so no emulator) at all.
set -eu
app="$1"
out="$2"
dest="$out/opt/zephyr2mqtt"

mkdir -p "$dest/bin" "$out/usr/local/bin"
cp -a "$app/node_modules" "$dest/"
cp /tmp/check-addons.cjs "$dest/bin/check-addons.cjs"
cp "$(command -v tini-static)" "$out/usr/local/bin/tini"

# Only this architecture's prebuilt binaries, and no compiler leftovers, sources, docs or type declarations.
arch_tag="linux-$(node -p process.arch)"
find "$dest/node_modules" -type d -name prebuilds | while read -r dir; do
  find "$dir" -mindepth 1 -maxdepth 1 -type d ! -name "$arch_tag" -exec rm -rf {} +
done
find "$dest/node_modules" -type d -path '*/build/Release/*' \( -name obj.target -o -name .deps \) -prune \
  -exec rm -rf {} +
find "$dest/node_modules" \( -name '*.md' -o -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.c' \) -type f -delete
