#!/bin/bash
# greenboot required check: after an OS update the gateway must come up healthy, otherwise greenboot fails the
# boot and rpm-ostree rolls the OS back. Installed to /etc/greenboot/check/required.d/ by deploy/install.sh.
set -euo pipefail

unit="${Z2M_UNIT:-zephyr2mqtt.service}"
container="${Z2M_CONTAINER:-zephyr2mqtt}"
timeout="${Z2M_GREENBOOT_TIMEOUT:-300}"
interval="${Z2M_GREENBOOT_INTERVAL:-5}"

deadline=$((SECONDS + timeout))
while true; do
  if systemctl is-active --quiet "$unit" && podman healthcheck run "$container" >/dev/null 2>&1; then
    echo "zephyr2mqtt: $unit active and $container healthy"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "zephyr2mqtt: not healthy ${timeout}s after boot (unit $unit: $(systemctl is-active "$unit" || true))" >&2
    journalctl -u "$unit" -n 30 --no-pager >&2 || true
    exit 1
  fi
  sleep "$interval"
done
