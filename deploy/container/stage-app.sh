#!/bin/sh
# Lays out the architecture-independent part of the image from the build dir $1: under $2 the compiled app, the
# `zephyr2mqtt` command and the default config; under $3 the data directory (the runtime stage gives it to 10001).
set -eu
src="$1"
out="$2"
data="$3"
app=/opt/zephyr2mqtt

mkdir -p "$out$app" "$out/usr/local/bin" "$out/etc/zephyr2mqtt" "$data/zephyr2mqtt"
# Exactly what the npm package ships (package.json "files": dist, config, adapter data files such as the LwM2M
# object definitions, docs), so the image and `npm install zephyr2mqtt` cannot drift apart.
(cd "$src" && npm pack --dry-run --json --ignore-scripts --loglevel=error |
  node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{for(const f of JSON.parse(s)[0].files)console.log(f.path)})' \
  > /tmp/package-files.txt)
grep -q '^dist/gateway/cli.js$' /tmp/package-files.txt || {
  echo "stage-app: the npm package file list has no dist/gateway/cli.js" >&2
  exit 1
}
(cd "$src" && tar -cf - -T /tmp/package-files.txt) | tar -xf - -C "$out$app"
chmod 0755 "$out$app/dist/gateway/cli.js"
# A /bin/sh wrapper rather than a link to cli.js: its `#!/usr/bin/env node` line needs coreutils, which the local
# runtime base leaves out. exec keeps Node the process tini signals.
printf '#!/bin/sh\nexec node %s/dist/gateway/cli.js "$@"\n' "$app" >"$out/usr/local/bin/zephyr2mqtt"
chmod 0755 "$out/usr/local/bin/zephyr2mqtt"

# The default config is the example with the data dir moved to the volume; fail if the example changed shape.
sed -E 's#^([[:space:]]*data_dir:)[[:space:]]*[^[:space:]]+#\1 /var/lib/zephyr2mqtt#' \
  "$src/config/gateway.example.yaml" > "$out/etc/zephyr2mqtt/gateway.yaml"
grep -q 'data_dir: /var/lib/zephyr2mqtt' "$out/etc/zephyr2mqtt/gateway.yaml" || {
  echo "stage-app: config/gateway.example.yaml has no data_dir line to point at the volume" >&2
  exit 1
}
