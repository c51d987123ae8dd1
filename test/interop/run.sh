#!/usr/bin/env bash
# Interop suite: real third-party peers from Debian's packages talk to the gateway.
# Installs the packages listed in apt-packages.txt when any is missing, then runs the suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t wanted < <(grep -v -E '^\s*(#|$)' test/interop/apt-packages.txt)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "interop: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "interop: need root to install ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
exec npx vitest run --project interop "$@"
