#!/usr/bin/env bash
# Prepares a Debian host (or CI machine) to build and run the multi-arch image: installs buildah, podman, qemu and
# friends when missing, mounts binfmt_misc and enables the qemu handlers for arm64 and arm. Needs root.
set -euo pipefail

# arch-test: mmdebstrap needs it for a foreign-architecture chroot (arm64/armhf build bases); it only recommends it.
wanted=(buildah podman runc uidmap fuse-overlayfs qemu-user-static binfmt-support mmdebstrap arch-test skopeo
  mosquitto-clients shellcheck systemd jq curl ca-certificates openssl git)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "host-setup: need root to install ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "host-setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq -o DPkg::Lock::Timeout=600
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
for handler in qemu-aarch64 qemu-arm; do
  if [ "$(head -n1 "/proc/sys/fs/binfmt_misc/$handler" 2>/dev/null)" != enabled ]; then
    update-binfmts --enable "$handler"
  fi
  grep -q '^flags: .*F' "/proc/sys/fs/binfmt_misc/$handler" || {
    echo "host-setup: binfmt handler $handler lacks the F (fix binary) flag; containers cannot use it" >&2
    exit 1
  }
done
