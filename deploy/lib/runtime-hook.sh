#!/usr/bin/env bash
# mmdebstrap customize hook for the runtime base (deploy/lib/build-base.sh), run on the build host against the
# rootfs in $1 after `--variant=custom --mode=chrootless` installed nodejs, its libraries, dash and tini with
# Debian's own dpkg metadata. It
#  - removes files a Node service never uses (docs but copyright, manuals, translations, glibc's iconv modules,
#    corepack, Node's type declarations, tini-static) and drops them from their package's file lists, as dpkg's
#    path-exclude would have (dpkg's path-exclude is not applied in chrootless mode), so `dpkg -L` stays true;
#  - writes the CA bundle /etc/ssl/certs/ca-certificates.crt from Debian's ca-certificates package without
#    installing that package (its openssl, debconf and perl chain is 12 MB), and records the package in
#    /var/lib/dpkg/status.d/ca-certificates, the way distroless images list packages installed without dpkg, so
#    the SBOM and image scanners see it;
#  - adds /etc/passwd and /etc/group with root and the gateway's user (10001), which base-passwd would need the
#    target architecture's binaries to write, and /etc/nsswitch.conf (libc-bin's, which is not installed);
#  - removes what the installation itself left behind (apt lists and config, logs, the debconf shim).
set -euo pipefail

root="${1:?usage: runtime-hook.sh ROOTFS}"
[ -d "$root/var/lib/dpkg/info" ] || { echo "runtime-hook: $root has no dpkg database" >&2; exit 1; }

# The debconf shim build-base.sh gives libc6's preinst (the host's debconf reads its config under DPKG_ROOT).
rm -rf "$root/etc/debconf.conf" "$root/var/cache/debconf"

# Package files to leave out, relative to the root (shell globs).
excluded=(
  'usr/share/man' 'usr/share/locale' 'usr/share/lintian' 'usr/share/bash-completion' 'usr/share/gcc'
  'usr/share/gdb' 'usr/lib/*-linux-gnu*/gconv' 'usr/share/nodejs/corepack' 'usr/bin/corepack'
  'usr/share/nodejs/@types' 'usr/bin/tini-static'
)
shopt -s nullglob
for pattern in "${excluded[@]}"; do
  # shellcheck disable=SC2086 # the pattern is a glob on purpose
  for path in "$root"/$pattern; do rm -rf "$path"; done
done
find "$root/usr/share/doc" -mindepth 1 \( -type f -o -type l \) ! -name copyright -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
# Build-time metadata of the libraries (dpkg-shlibdeps), not package files.
rm -f "$root"/var/lib/dpkg/info/*.symbols "$root"/var/lib/dpkg/info/*.shlibs "$root"/var/lib/dpkg/info/*.triggers

# Keep every package's file list and checksums to what is on disk.
for list in "$root"/var/lib/dpkg/info/*.list; do
  while IFS= read -r path; do
    if [ -e "$root$path" ] || [ -L "$root$path" ]; then printf '%s\n' "$path"; fi
  done <"$list" >"$list.new"
  mv "$list.new" "$list"
done
for sums in "$root"/var/lib/dpkg/info/*.md5sums; do
  while IFS= read -r line; do
    if [ -e "$root/${line#*  }" ]; then printf '%s\n' "$line"; fi
  done <"$sums" >"$sums.new"
  mv "$sums.new" "$sums"
done

# The CA bundle, exactly as update-ca-certificates writes it with Debian's default selection (every Mozilla CA).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && APT_CONFIG="$MMDEBSTRAP_APT_CONFIG" apt-get download --quiet=2 ca-certificates)
deb="$(echo "$work"/ca-certificates_*.deb)"
[ -f "$deb" ] || { echo "runtime-hook: could not download ca-certificates" >&2; exit 1; }
dpkg-deb -x "$deb" "$work/x"
mkdir -p "$root/etc/ssl/certs" "$root/usr/share/doc/ca-certificates" "$root/var/lib/dpkg/status.d"
count=0
for crt in "$work"/x/usr/share/ca-certificates/mozilla/*.crt; do
  cat "$crt"
  [ -z "$(tail -c 1 "$crt")" ] || echo
  count=$((count + 1))
done >"$root/etc/ssl/certs/ca-certificates.crt"
[ "$count" -gt 100 ] || { echo "runtime-hook: only $count CA certificates in $deb" >&2; exit 1; }
chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt"
# OpenSSL's default CA file and directory (OPENSSLDIR is /usr/lib/ssl), the links Debian's openssl package makes:
# Debian's Node verifies against this system store, not a bundled one.
mkdir -p "$root/usr/lib/ssl"
ln -sfn /etc/ssl/certs/ca-certificates.crt "$root/usr/lib/ssl/cert.pem"
ln -sfn /etc/ssl/certs "$root/usr/lib/ssl/certs"
cp "$work/x/usr/share/doc/ca-certificates/copyright" "$root/usr/share/doc/ca-certificates/copyright"
{
  echo "Package: $(dpkg-deb -f "$deb" Package)"
  echo 'Status: install ok installed'
  dpkg-deb -f "$deb" Priority Section Maintainer Architecture Multi-Arch Source Version
  echo "Description: common CA certificates (bundle only: /etc/ssl/certs/ca-certificates.crt, $count CAs)"
} >"$root/var/lib/dpkg/status.d/ca-certificates"
echo "runtime-hook: CA bundle with $count certificates from $(basename "$deb")" >&2

# Users: root and the gateway's (Containerfile USER 10001), so that tools and Node's os.userInfo() find a name.
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'zephyr2mqtt:x:10001:10001:zephyr2mqtt:/var/lib/zephyr2mqtt:/usr/sbin/nologin' \
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'zephyr2mqtt:x:10001:' 'nogroup:x:65534:' >"$root/etc/group"
# Name service order as Debian's libc-bin sets it: without this file glibc asks DNS before /etc/hosts.
printf '%s\n' 'passwd: files' 'group: files' 'shadow: files' 'hosts: files dns' 'networks: files' 'protocols: files' \
  'services: files' >"$root/etc/nsswitch.conf"
mkdir -p "$root/root" "$root/tmp"
chmod 0700 "$root/root"
chmod 1777 "$root/tmp"

rm -rf "${root:?}/var/log"/*
