#!/usr/bin/env bash
# Fetches the `quadlet` generator from Debian trixie's podman package (bookworm's podman 4.3 has none) without
# touching the system's apt sources: a private apt configuration under the cache dir, `apt-get download`,
# `dpkg-deb -x`. Prints the path of the quadlet binary. Used by the unit validation tests.
set -euo pipefail

cache="${Z2M_CACHE_DIR:-/var/cache/zephyr2mqtt-ci}/quadlet"
suite="${Z2M_QUADLET_SUITE:-trixie}"
mirror="${Z2M_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
bin="$cache/root/usr/libexec/podman/quadlet"

if [ ! -x "$bin" ]; then
  mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/apt/etc"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" > "$cache/apt/etc/sources.list"
  apt_opts=(
    -o "Dir::Etc::SourceList=$cache/apt/etc/sources.list"
    -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$cache/apt/lists"
    -o "Dir::Cache=$cache/apt"
    -o "Dir::Cache::Archives=$cache/apt/archives"
    -o Debug::NoLocking=true
  )
  apt-get "${apt_opts[@]}" -qq update >&2
  rm -f "$cache"/podman_*.deb
  (cd "$cache" && apt-get "${apt_opts[@]}" -qq download podman >&2)
  rm -rf "$cache/root"
  for deb in "$cache"/podman_*.deb; do dpkg-deb -x "$deb" "$cache/root"; done
fi
[ -x "$bin" ] || {
  echo "fetch-quadlet: $bin not found in the podman package" >&2
  exit 1
}
echo "$bin"
