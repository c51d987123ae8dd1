#!/bin/sh
# Lays out everything the runtime stage copies, so the runtime stage needs no RUN (and so no emulator) at all:
# under $1 the app, the command, tini and the default config; under $2 the data directory (copied with its owner).
set -eu
out="$1"
data="$2"
app=/opt/zephyr2mqtt

mkdir -p "$out$app/bin" "$out/usr/local/bin" "$out/etc/zephyr2mqtt" "$out/usr/share/zephyr2mqtt" "$data/zephyr2mqtt"
cp -a "$app/package.json" "$app/dist" "$app/node_modules" "$app/config" "$out$app/"
cp /tmp/check-addons.cjs "$out$app/bin/check-addons.cjs"
chmod 0755 "$out$app/dist/gateway/cli.js"
ln -s "$app/dist/gateway/cli.js" "$out/usr/local/bin/zephyr2mqtt"
cp "$(command -v tini-static)" "$out/usr/local/bin/tini"

# Only this architecture's prebuilt binaries, and no sources, docs or type declarations, ship in the image.
arch_tag="linux-$(node -p process.arch)"
find "$out$app/node_modules" -type d -name prebuilds | while read -r dir; do
  find "$dir" -mindepth 1 -maxdepth 1 -type d ! -name "$arch_tag" -exec rm -rf {} +
done
find "$out$app/node_modules" \( -name '*.md' -o -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.c' \) -type f -delete

# The default config is the example with the data dir moved to the volume; fail if the example changed shape.
sed -E 's#^([[:space:]]*data_dir:)[[:space:]]*[^[:space:]]+#\1 /var/lib/zephyr2mqtt#' \
  "$app/config/gateway.example.yaml" > "$out/etc/zephyr2mqtt/gateway.yaml"
grep -q 'data_dir: /var/lib/zephyr2mqtt' "$out/etc/zephyr2mqtt/gateway.yaml" || {
  echo "stage-rootfs: config/gateway.example.yaml has no data_dir line to point at the volume" >&2
  exit 1
}
