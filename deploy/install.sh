#!/usr/bin/env bash
# Installs zephyr2mqtt on a fresh host (Fedora IoT with podman 5, or podman 4 hosts such as 32-bit Pi OS):
# config skeleton (never overwritten), Quadlet or systemd units, the greenboot check, the podman auto-update
# timer. Idempotent: a second run changes nothing. Run from a checkout or release tarball of zephyr2mqtt.
#
# Usage: sudo deploy/install.sh [--image REF] [--channel stable|testing] [--podman4|--podman5]
#                               [--root DIR] [--no-start] [--read-only-config]
#   --image REF     image without tag (default ghcr.io/zephyr2mqtt/zephyr2mqtt) or with @sha256:digest to pin
#   --channel NAME  tag to follow: stable (default) or testing
#   --root DIR      install under DIR instead of / (for image builds and tests; skips systemctl)
#   --read-only-config  mount /etc/zephyr2mqtt read-only (onboarding requests then cannot write the config)
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$src/.." && pwd)"
image_repo=ghcr.io/zephyr2mqtt/zephyr2mqtt
channel=stable
root=/
start=1
podman_major=''
read_only_config=0
# The image's user (Containerfile USER): it owns the config directory so that onboarding requests can write it.
gateway_uid=10001

while [ $# -gt 0 ]; do
  case "$1" in
    --image) image_repo="$2"; shift 2 ;;
    --channel) channel="$2"; shift 2 ;;
    --podman4) podman_major=4; shift ;;
    --podman5) podman_major=5; shift ;;
    --root) root="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    --read-only-config) read_only_config=1; shift ;;
    -h | --help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

case "$channel" in
  stable | testing) ;;
  *) echo "install.sh: unknown channel '$channel' (stable or testing)" >&2; exit 2 ;;
esac
case "$image_repo" in
  *@sha256:*) image="$image_repo" ;;
  *) image="$image_repo:$channel" ;;
esac

if [ -z "$podman_major" ]; then
  command -v podman >/dev/null || { echo 'install.sh: podman is not installed (dnf/apt install podman)' >&2; exit 1; }
  podman_major="$(podman version --format '{{.Client.Version}}' | cut -d. -f1)"
fi
root="${root%/}"

changed=0
# Writes stdin to a file only when the content differs, so re-runs leave files (and their mtimes) alone.
put() {
  local dest="$root$1" mode="$2" tmp
  tmp="$(mktemp)"
  cat > "$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    return
  fi
  mkdir -p "$(dirname "$dest")"
  install -m "$mode" "$tmp" "$dest"
  rm -f "$tmp"
  echo "install.sh: wrote $1"
  changed=1
}

# Serial ports belong to the host's dialout group; its id differs between Fedora (18) and Debian (20).
dialout_gid="$(getent group dialout | cut -d: -f3 || true)"
dialout_gid="${dialout_gid:-20}"

if [ ! -e "$root/etc/zephyr2mqtt/gateway.yaml" ]; then
  sed -E 's#^([[:space:]]*data_dir:)[[:space:]]*[^[:space:]]+#\1 /var/lib/zephyr2mqtt#' \
    "$repo/config/gateway.example.yaml" | put /etc/zephyr2mqtt/gateway.yaml 0640
else
  echo "install.sh: keeping the existing /etc/zephyr2mqtt/gateway.yaml"
fi
# Onboarding (bridge/request/device/add, the dashboard) rewrites the config beside itself and renames it into place,
# so the gateway's uid needs the directory; the file may hold secrets, so nobody else reads it.
if [ "$read_only_config" = 0 ] && [ "$(id -u)" = 0 ]; then
  for path in "$root/etc/zephyr2mqtt" "$root/etc/zephyr2mqtt/gateway.yaml"; do
    if [ "$(stat -c %u "$path")" != "$gateway_uid" ]; then
      chown "$gateway_uid:$gateway_uid" "$path"
      echo "install.sh: gave ${path#"$root"} to uid $gateway_uid"
      changed=1
    fi
  done
  chmod 0750 "$root/etc/zephyr2mqtt"
elif [ "$read_only_config" = 0 ]; then
  echo "install.sh: not root, so /etc/zephyr2mqtt stays as it is; onboarding requests need it writable by uid $gateway_uid" >&2
fi

config_mount=/etc/zephyr2mqtt:/etc/zephyr2mqtt:Z
[ "$read_only_config" = 0 ] || config_mount=/etc/zephyr2mqtt:/etc/zephyr2mqtt:ro,Z
if [ "$podman_major" -ge 5 ]; then
  sed "s#^Volume=/etc/zephyr2mqtt:.*#Volume=$config_mount#" "$src/quadlet/zephyr2mqtt.container" |
    put /etc/containers/systemd/zephyr2mqtt.container 0644
  put /etc/containers/systemd/zephyr2mqtt.volume 0644 < "$src/quadlet/zephyr2mqtt.volume"
  printf '# Written by deploy/install.sh: the image to follow and the host dialout group.\n[Container]\nImage=%s\nGroupAdd=%s\n' \
    "$image" "$dialout_gid" | put /etc/containers/systemd/zephyr2mqtt.container.d/10-install.conf 0644
else
  sed -e "s#^Environment=Z2M_IMAGE=.*#Environment=Z2M_IMAGE=$image#" \
    -e "s#^Environment=Z2M_DIALOUT_GID=.*#Environment=Z2M_DIALOUT_GID=$dialout_gid#" \
    -e "s# -v /etc/zephyr2mqtt:[^ ]*# -v $config_mount#" \
    "$src/systemd/zephyr2mqtt.service" | put /etc/systemd/system/zephyr2mqtt.service 0644
fi

if [ -d "$root/etc/greenboot" ] || [ -d "$root/usr/lib/greenboot" ]; then
  put /etc/greenboot/check/required.d/50-zephyr2mqtt.sh 0755 < "$src/greenboot/check/required.d/50-zephyr2mqtt.sh"
fi

if [ "$root" != '' ]; then
  echo "install.sh: installed under $root (changed: $changed); not touching systemd"
  exit 0
fi

[ "$changed" = 0 ] || systemctl daemon-reload
systemctl enable --now podman-auto-update.timer >/dev/null
if [ "$podman_major" -lt 5 ]; then
  systemctl enable zephyr2mqtt.service >/dev/null
fi
if [ "$start" = 1 ]; then
  if [ "$changed" = 1 ]; then systemctl restart zephyr2mqtt.service; else systemctl start zephyr2mqtt.service; fi
  echo "install.sh: zephyr2mqtt.service is $(systemctl is-active zephyr2mqtt.service || true)"
fi
