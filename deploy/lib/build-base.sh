#!/usr/bin/env bash
# Builds the local base images for one architecture from Debian packages, because base images cannot be pulled
# here: a runtime base (nodejs with only its libraries, dash, tini and a CA bundle: no Essential set, no dpkg, apt
# or perl; see runtime-hook.sh) and a build base (Essential set, apt, compilers, Node headers and npm).
# Rootfs tarballs are cached in $Z2M_CACHE_DIR keyed by the recipe and the flavour's inputs, so a warm run only
# imports them. Usage: build-base.sh <amd64|arm64|armhf>; prints the two image names on the last two lines.
set -euo pipefail

# Bump when the way a flavour's rootfs is made changes, to invalidate its cached tarballs (and only its own, so a
# runtime change does not rebuild the build bases, minutes under qemu).
declare -A RECIPE=([runtime]=4 [build]=2)
arch="${1:?usage: build-base.sh <amd64|arm64|armhf>}"
cache_dir="${Z2M_CACHE_DIR:-/var/cache/zephyr2mqtt-ci}/base"
suite="${Z2M_DEBIAN_SUITE:-trixie}"
mirror="${Z2M_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
inputs="$here/base-packages.txt"

case "$arch" in
  amd64) oci_arch=amd64 variant='' ;;
  arm64) oci_arch=arm64 variant=v8 ;;
  armhf) oci_arch=arm variant=v7 ;;
  *)
    echo "build-base.sh: unknown architecture '$arch' (amd64, arm64 or armhf)" >&2
    exit 2
    ;;
esac

field() { sed -n "s/^$1: *//p" "$inputs"; }
key_of() { printf '%s\n' "${RECIPE[$1]}" "$suite" "$(field "$1")" "$(field "$1-npm")" | sha256sum | cut -c1-12; }

# Docs, manuals and translations are dead weight in a container; copyright files stay for licence compliance.
slim_opts=(
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
)

# npm is pure JavaScript with its dependencies bundled, so one tarball serves every architecture.
npm_tarball() {
  local spec="$1" dir="$cache_dir/npm-$1"
  if [ ! -s "$dir/package.tgz" ]; then
    mkdir -p "$dir.partial"
    (cd "$dir.partial" && npm pack --silent "$spec" >/dev/null && mv ./*.tgz package.tgz)
    rm -rf "$dir" && mv "$dir.partial" "$dir"
  fi
  echo "$dir/package.tgz"
}

# The runtime base: only nodejs's dependency closure, dash (/bin/sh for HEALTHCHECK and HealthCmd) and tini,
# installed by the host's dpkg (chrootless: no dpkg in the image and no qemu needed for foreign architectures).
make_runtime_rootfs() {
  local tarball="$1"
  echo "base: mmdebstrap $suite $arch runtime (custom, chrootless) -> $tarball" >&2
  # shellcheck disable=SC2016 # "$1" in a hook is expanded by mmdebstrap's hook shell: the rootfs directory.
  # libc6's preinst runs the host's debconf, which reads its config under DPKG_ROOT: runtime-hook.sh removes it.
  mmdebstrap --quiet --mode=chrootless --format=tar --architectures="$arch" --variant=custom \
    --include="$(field runtime | tr ' ' ',')" \
    --setup-hook='mkdir -p "$1/etc" "$1/var/cache/debconf" && cp /usr/share/debconf/debconf.conf "$1/etc/debconf.conf"' \
    --customize-hook="bash '$here/runtime-hook.sh' \"\$1\"" \
    "$suite" "$tarball.partial" "$mirror" 2> >(grep -v -e 'dependency problems' -e 'depends on' -e 'is not installed' \
      -e '^$' -e 'pre-dependency problem' -e 'ignoring pre-dependency' -e 'chrootless mode' >&2)
  mv "$tarball.partial" "$tarball"
}

make_rootfs() {
  local flavour="$1" mm_variant="$2" tarball="$3" hooks=()
  local npm_spec
  npm_spec="$(field "$flavour-npm")"
  if [ -n "$npm_spec" ]; then
    local tgz
    tgz="$(npm_tarball "$npm_spec")"
    hooks+=(--customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$tgz' --strip-components=1 -C \"\$1/usr/local/lib/node_modules/npm\" && ln -sf ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"")
  fi
  echo "base: mmdebstrap $suite $arch $flavour -> $tarball" >&2
  # shellcheck disable=SC2016 # "$1" in a hook is expanded by mmdebstrap's hook shell: the rootfs directory.
  mmdebstrap --quiet --mode=root --format=tar --architectures="$arch" --variant="$mm_variant" \
    --include="$(field "$flavour" | tr ' ' ',')" "${slim_opts[@]}" "${hooks[@]}" \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
    "$suite" "$tarball.partial" "$mirror"
  mv "$tarball.partial" "$tarball"
}

make_image() {
  local flavour="$1" mm_variant="$2" key tag tarball ctr mnt
  key="$(key_of "$flavour")"
  tag="localhost/zephyr2mqtt-base:$flavour-$arch-$key"
  tarball="$cache_dir/$key-$arch-$flavour.tar"
  if ! podman image exists "$tag"; then
    mkdir -p "$cache_dir"
    if [ ! -s "$tarball" ]; then
      if [ "$flavour" = runtime ]; then make_runtime_rootfs "$tarball"; else make_rootfs "$flavour" "$mm_variant" "$tarball"; fi
    fi
    echo "base: importing $tarball as $tag" >&2
    ctr="$(buildah from --arch "$oci_arch" ${variant:+--variant "$variant"} scratch)"
    mnt="$(buildah mount "$ctr")"
    if ! tar -xf "$tarball" -C "$mnt"; then
      buildah rm "$ctr" >/dev/null
      exit 1
    fi
    buildah umount "$ctr" >/dev/null
    buildah config --arch "$oci_arch" ${variant:+--variant "$variant"} --os linux \
      --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --label org.opencontainers.image.description="zephyr2mqtt local $flavour base ($suite $arch)" \
      --cmd "$([ "$flavour" = runtime ] && echo '["/bin/sh"]' || echo '["/bin/bash"]')" "$ctr"
    buildah commit --quiet --rm "$ctr" "$tag" >/dev/null
  fi
  echo "$tag"
}

make_image runtime custom
make_image build apt
