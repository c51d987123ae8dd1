#!/usr/bin/env bash
# Smoke-tests one architecture's image the way a device would run it: the native addons load, `--version` prints
# the package version with the image's revision, the gateway starts on the example config, its HEALTHCHECK passes, an MQTT client on the host
# sees <base>/bridge/state online, SIGTERM stops it cleanly (exit 0), and Node verifies TLS against the image's
# system CA store (/etc/ssl/certs/ca-certificates.crt, which an mqtts upstream relies on). Foreign architectures
# run under qemu. The image has no coreutils: checks inside it use node or /bin/sh.
# Usage: smoke-test.sh IMAGE EXPECTED_VERSION EXPECTED_ARCH (amd64, arm64 or arm)
set -euo pipefail

image="$1"
expected_version="$2"
expected_arch="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# Health and readiness under emulation are slow: bounded, generous waits.
start_timeout="${Z2M_SMOKE_START_TIMEOUT:-240}"
run=(podman run --runtime runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

fail() {
  echo "smoke[$image]: FAIL: $*" >&2
  exit 1
}
free_port() { node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

arch="$(podman image inspect --format '{{.Os}}/{{.Architecture}}' "$image")"
[ "$arch" = "linux/$expected_arch" ] || fail "image architecture is $arch, expected linux/$expected_arch"
declare -A machine=([amd64]=x86_64 [arm64]=aarch64 [arm]=armv7l)
seen="$("${run[@]}" --rm --no-healthcheck --entrypoint node "$image" -p "require('node:os').machine()")"
[ "$seen" = "${machine[$expected_arch]}" ] || fail "binaries run as $seen, expected ${machine[$expected_arch]}"
echo "smoke[$image]: architecture $arch, runs as $seen"

# An image built from a commit reports it as build metadata: <version>+<first 7 hex digits of the revision label>.
revision="$(podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' "$image")"
if [[ "$revision" =~ ^[0-9a-f]{7,40}$ ]]; then expected_version="$expected_version+${revision:0:7}"; fi
version="$("${run[@]}" --rm --no-healthcheck "$image" --version)"
[ "$version" = "$expected_version" ] || fail "--version printed '$version', expected '$expected_version'"
echo "smoke[$image]: --version ok ($version)"

"${run[@]}" --rm --no-healthcheck --entrypoint node "$image" /opt/zephyr2mqtt/bin/check-addons.cjs || fail 'a native addon does not load'

# The CA store: a bundle of public CAs is there, and Node uses that file (not a copy of its own): with a test CA
# mounted over it, a TLS server on the host whose certificate that CA signed verifies, and without it, it does not.
ca_count="$("${run[@]}" --rm --no-healthcheck --entrypoint node "$image" -p \
  "require('node:fs').readFileSync('/etc/ssl/certs/ca-certificates.crt','latin1').split('BEGIN CERTIFICATE').length-1")"
[ "$ca_count" -gt 100 ] || fail "/etc/ssl/certs/ca-certificates.crt has $ca_count certificates"
tls_dir="$(mktemp -d)"
tls_pid=''
tls_cleanup() {
  [ -z "$tls_pid" ] || kill "$tls_pid" 2>/dev/null || true
  tls_pid=''
  rm -rf "$tls_dir"
}
trap tls_cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=z2m-smoke-ca \
  -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$tls_dir/leaf.key" -out "$tls_dir/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$tls_dir/ext"
openssl x509 -req -in "$tls_dir/leaf.csr" -CA "$tls_dir/ca.pem" -CAkey "$tls_dir/ca.key" -CAcreateserial -days 1 \
  -extfile "$tls_dir/ext" -out "$tls_dir/leaf.pem" 2>/dev/null
chmod 0644 "$tls_dir/ca.pem"
# A TLS server on loopback that answers every connection and exits after 5 minutes at the latest.
node -e "const fs=require('node:fs');const s=require('node:tls').createServer({key:fs.readFileSync('$tls_dir/leaf.key'),
  cert:fs.readFileSync('$tls_dir/leaf.pem')},(c)=>c.end('ok')).listen(0,'127.0.0.1',()=>fs.writeFileSync('$tls_dir/port',
  String(s.address().port)));setTimeout(()=>process.exit(0),300000).unref()" &
tls_pid=$!
for _ in $(seq 1 50); do [ -s "$tls_dir/port" ] && break; sleep 0.1; done
[ -s "$tls_dir/port" ] || fail 'the host TLS test server did not start'
tls_client="const c=require('node:tls').connect({host:'127.0.0.1',port:$(cat "$tls_dir/port"),servername:'localhost'},
  ()=>{console.log('verified');c.end()});c.on('error',(e)=>{console.log(e.code);process.exitCode=1})"
verdict="$("${run[@]}" --rm --no-healthcheck --network host --entrypoint node \
  -v "$tls_dir/ca.pem:/etc/ssl/certs/ca-certificates.crt:ro" "$image" -e "$tls_client" || true)"
[ "$verdict" = verified ] || fail "Node did not verify a certificate from the system CA store ($verdict)"
verdict="$("${run[@]}" --rm --no-healthcheck --network host --entrypoint node "$image" -e "$tls_client" || true)"
[ "$verdict" = UNABLE_TO_VERIFY_LEAF_SIGNATURE ] || fail "a certificate of an unknown CA was not refused ($verdict)"
tls_cleanup
echo "smoke[$image]: Node verifies TLS against the system CA store ($ca_count CAs)"

# The example config, with free ports so that the host network of a shared CI machine cannot collide.
work="$(mktemp -d)"
name="z2m-smoke-$$"
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
  tls_cleanup
}
trap cleanup EXIT
mqtt_port="$(free_port)"
http_port="$(free_port)"
sed -E -e "s/port: 1883/port: $mqtt_port/" -e "s/port: 8080/port: $http_port/" \
  -e 's#^([[:space:]]*data_dir:)[[:space:]]*[^[:space:]]+#\1 /var/lib/zephyr2mqtt#' \
  "$repo/config/gateway.example.yaml" > "$work/gateway.yaml"
if ! grep -q "port: $mqtt_port" "$work/gateway.yaml" || ! grep -q "port: $http_port" "$work/gateway.yaml"; then
  fail 'config/gateway.example.yaml no longer has the default ports 1883 and 8080 to replace'
fi
# The config directory as install.sh lays it out: owned by the image's uid, mounted read-write (onboarding writes it).
mkdir "$work/etc"
mv "$work/gateway.yaml" "$work/etc/gateway.yaml"
chown -R 10001:10001 "$work/etc"
chmod 0750 "$work/etc"
chmod 0640 "$work/etc/gateway.yaml"

# Under qemu a Node process starts several times slower than on a device: allow the health probe for that.
health_timeout=10s
[ "$expected_arch" = "$(podman info --format '{{.Host.Arch}}')" ] || health_timeout=120s

"${run[@]}" -d --name "$name" --network host --health-timeout "$health_timeout" \
  -v "$work/etc:/etc/zephyr2mqtt" \
  -e "ZEPHYR2MQTT_HEALTH_URL=http://127.0.0.1:$http_port" \
  "$image" >/dev/null

deadline=$((SECONDS + start_timeout))
until podman healthcheck run "$name" >/dev/null 2>&1; do
  if [ "$(podman inspect --format '{{.State.Running}}' "$name")" != true ]; then
    podman logs "$name" >&2 || true
    fail 'the gateway exited during start'
  fi
  if [ $SECONDS -ge $deadline ]; then
    podman logs "$name" >&2 || true
    fail "not healthy within ${start_timeout}s"
  fi
  sleep 2
done
echo "smoke[$image]: healthy after $((SECONDS + start_timeout - deadline))s (HEALTHCHECK: zephyr2mqtt health)"

state="$(mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t 'zephyr2mqtt/bridge/state' -C 1 -W 30)" ||
  fail "no retained message on zephyr2mqtt/bridge/state from the host on port $mqtt_port"
echo "$state" | jq -e '.state == "online"' >/dev/null || fail "bridge/state is '$state', expected online"
echo "smoke[$image]: MQTT from the host sees bridge/state $state"

# Onboarding by request writes the mounted config (atomically, beside it) as the image's user. The retained
# bridge/state arrives first and shows the subscription is in place before the request goes out.
mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t zephyr2mqtt/bridge/state -t zephyr2mqtt/bridge/response/device/add \
  -C 2 -W 30 > "$work/add.json" &
sub_pid=$!
for _ in $(seq 1 100); do [ -s "$work/add.json" ] && break; sleep 0.1; done
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -t zephyr2mqtt/bridge/request/device/add \
  -m '{"id":"smoke-added","transport":"coap","transaction":"smoke"}'
wait "$sub_pid" || fail 'no response to bridge/request/device/add'
tail -n 1 "$work/add.json" | jq -e '.status == "ok"' >/dev/null || fail "device/add answered $(tail -n 1 "$work/add.json")"
grep -q 'smoke-added' "$work/etc/gateway.yaml" || fail 'device/add answered ok but the mounted config does not list the device'
echo "smoke[$image]: device/add wrote the mounted config as uid $(stat -c %u "$work/etc/gateway.yaml")"

podman stop -t 30 "$name" >/dev/null
code="$(podman inspect --format '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || {
  podman logs "$name" >&2 || true
  fail "exit code $code after SIGTERM, expected 0"
}
echo "smoke[$image]: stopped cleanly on SIGTERM"
