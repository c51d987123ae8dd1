#!/usr/bin/env bash
# Builds the zephyr2mqtt image for linux/amd64, linux/arm64 and linux/arm/v7 into one manifest list, exports it as
# an OCI archive with one CycloneDX SBOM per architecture beside it, and smoke-tests every architecture's image
# (foreign ones under qemu). Needs root, buildah and podman; deploy/lib/host-setup.sh installs what is missing.
#
# Usage: deploy/build-image.sh [--arches amd64,arm64,armhf] [--bases local|official] [--worktree]
#                              [--out DIR] [--channel NAME] [--no-smoke]
#   --bases local     base images made here from Debian trixie packages (default: nothing can be pulled here)
#   --bases official  the Containerfile's defaults (docker.io/library/node:22-bookworm[-slim])
#   --worktree        build the working tree as it is; default is the committed HEAD (matches the revision label)
#   --channel NAME    also tag the manifest list NAME (stable, testing) as a host would pull it
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
arches=amd64,arm64,armhf
bases=local
worktree=0
out="$repo/deploy/.cache/out"
channel=''
smoke=1
while [ $# -gt 0 ]; do
  case "$1" in
    --arches) arches="$2"; shift 2 ;;
    --bases) bases="$2"; shift 2 ;;
    --worktree) worktree=1; shift ;;
    --out) out="$2"; shift 2 ;;
    --channel) channel="$2"; shift 2 ;;
    --no-smoke) smoke=0; shift ;;
    -h | --help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "build-image.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

export BUILDAH_ISOLATION=chroot
phase() { printf '\n=== build-image: %s (%s, +%ss)\n' "$1" "$(date -u +%H:%M:%S)" "$SECONDS"; }

phase 'host setup'
bash "$repo/deploy/lib/host-setup.sh"

version="$(node -p "require('$repo/package.json').version")"
revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
epoch="$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)"
image="localhost/zephyr2mqtt"

context="$repo"
if [ "$worktree" = 0 ] && [ "$revision" != unknown ]; then
  context="$(mktemp -d)"
  trap 'rm -rf "$context"' EXIT
  git -C "$repo" archive HEAD | tar -x -C "$context"
fi
mkdir -p "$out"

declare -A platform=([amd64]=linux/amd64 [arm64]=linux/arm64 [armhf]=linux/arm/v7)
declare -A oci_arch=([amd64]=amd64 [arm64]=arm64 [armhf]=arm)
IFS=, read -r -a arch_list <<<"$arches"
for arch in "${arch_list[@]}"; do
  [ -n "${platform[$arch]:-}" ] || { echo "build-image.sh: unknown arch $arch (amd64, arm64, armhf)" >&2; exit 2; }
done

# The architecture-independent stage always runs on the build machine's own architecture.
host_arch="$(dpkg --print-architecture)"
declare -A build_base runtime_base
if [ "$bases" = local ]; then
  for arch in "$host_arch" "${arch_list[@]}"; do
    [ -n "${build_base[$arch]:-}" ] && continue
    phase "base images $arch"
    # Not a process substitution: its exit status would be lost, and a failed base would surface later as an
    # unbound variable.
    bases_made="$(bash "$repo/deploy/lib/build-base.sh" "$arch" | tail -n 2)" || {
      echo "build-image.sh: building the $arch base images failed (messages above)" >&2
      exit 1
    }
    mapfile -t made <<<"$bases_made"
    [ "${#made[@]}" -eq 2 ] || { echo "build-image.sh: build-base.sh printed no image names for $arch" >&2; exit 1; }
    runtime_base[$arch]="${made[0]}"
    build_base[$arch]="${made[1]}"
  done
fi

# buildah 1.28 leaves a working container behind for a stage used only by COPY --from: remove what this run adds.
mapfile -t containers_before < <(buildah containers -q)
remove_build_leftovers() {
  local id
  for id in $(buildah containers -q); do
    printf '%s\n' "${containers_before[@]}" | grep -qx "$id" || buildah rm "$id" >/dev/null
  done
}

podman manifest exists "$image:$version" && podman manifest rm "$image:$version" >/dev/null
podman manifest create "$image:$version" >/dev/null

for arch in "${arch_list[@]}"; do
  phase "image $arch (${platform[$arch]})"
  # buildah 1.28 does not set BUILDPLATFORM itself (docker buildx does).
  args=(--build-arg "BUILDPLATFORM=${platform[$host_arch]}" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "SOURCE_DATE_EPOCH=$epoch")
  if [ "$bases" = local ]; then
    args+=(--pull=never --build-arg "JS_BASE=${build_base[$host_arch]}" --build-arg "BUILD_BASE=${build_base[$arch]}"
      --build-arg "RUNTIME_BASE=${runtime_base[$arch]}" --build-arg NODE_GYP_NODEDIR=/usr)
  fi
  buildah build --layers --format docker --platform "${platform[$arch]}" --timestamp "$epoch" \
    --secret "id=npm_ca,src=${NPM_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" \
    "${args[@]}" -t "$image:$version-$arch" -f "$context/Containerfile" "$context"
  podman manifest add "$image:$version" "containers-storage:$image:$version-$arch" >/dev/null
  ctr="$(podman create "$image:$version-$arch")"
  podman cp "$ctr:/usr/share/zephyr2mqtt/sbom.cdx.json" "$out/zephyr2mqtt-$version-$arch.sbom.cdx.json"
  podman rm "$ctr" >/dev/null
done

remove_build_leftovers

phase 'export'
archive="$out/zephyr2mqtt-$version.oci.tar"
rm -f "$archive"
podman manifest push --all --format oci "$image:$version" "oci-archive:$archive:zephyr2mqtt:$version" >/dev/null
[ -z "$channel" ] || podman tag "$image:$version" "$image:$channel"
# The archive's index must name every architecture, or a device would pull the wrong (or no) image.
index_platforms="$(skopeo inspect --raw "oci-archive:$archive" |
  jq -r '[.manifests[].platform | "\(.os)/\(.architecture)\(if .variant and .variant != "v8" then "/" + .variant else "" end)"] | sort | join(" ")')"
wanted_platforms="$(for arch in "${arch_list[@]}"; do echo "${platform[$arch]}"; done | sort | paste -sd' ')"
if [ "$index_platforms" != "$wanted_platforms" ]; then
  echo "build-image.sh: the archive's index lists '$index_platforms', expected '$wanted_platforms'" >&2
  exit 1
fi
echo "archive index: $index_platforms"
{
  echo "| arch | platform | image size (uncompressed) |"
  echo "|---|---|---|"
  for arch in "${arch_list[@]}"; do
    size="$(podman image inspect --format '{{.Size}}' "$image:$version-$arch")"
    echo "| $arch | ${platform[$arch]} | $((size / 1000000)) MB |"
  done
} | tee "$out/sizes.md"
echo "archive: $archive ($(du -h "$archive" | cut -f1))"
ls -1 "$out"/*.sbom.cdx.json

if [ "$smoke" = 1 ]; then
  for arch in "${arch_list[@]}"; do
    phase "smoke test $arch"
    bash "$repo/deploy/lib/smoke-test.sh" "$image:$version-$arch" "$version" "${oci_arch[$arch]}"
  done
fi
phase finished
