#!/usr/bin/env bash
# `npm run test:container` (and .ci/run): installs the host tools, checks the deployment files (shellcheck, the
# quadlet generator, systemd-analyze verify, install.sh, greenboot check), then builds the image for every
# architecture and smoke-tests each one (deploy/build-image.sh). Base rootfs tarballs, the quadlet package and
# container layers are cached outside the repo ($Z2M_CACHE_DIR, podman's storage), so a warm run is much faster;
# an empty cache works too. Z2M_ARCHES=amd64 limits the architectures for a quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."

budget="${Z2M_CONTAINER_BUDGET_SECONDS:-2400}"
step() { printf '\n=== test-container: %s (%s, +%ss)\n' "$1" "$(date -u +%H:%M:%S)" "$SECONDS"; }

step 'host tools'
bash deploy/lib/host-setup.sh

step 'deployment file checks'
npx vitest run --config deploy/vitest.config.ts

step 'images'
# A hard stop well inside CI's limit: a hung emulated build must not eat the whole CI run.
timeout --signal=TERM --kill-after=60 "$budget" \
  bash deploy/build-image.sh --arches "${Z2M_ARCHES:-amd64,arm64,armhf}" --channel testing

step "passed in ${SECONDS}s"
