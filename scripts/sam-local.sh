#!/usr/bin/env bash
# Every sample event of every function through SAM's local Lambda, on this machine, with nothing
# pulled from a container registry. Idempotent; what it sets up stays for the next run.
#   scripts/sam-local.sh            set up, then run every sample and check the emulator
#   scripts/sam-local.sh --setup    set up only: then `sam local invoke` by hand (docs/src/local.md)
#   scripts/sam-local.sh --image    Docker and the base image only (.ci/run, in the background);
#                                   a dockerd it starts is left running for the full run, which
#                                   stops it at its end (target/sam-local/dockerd-started)
#
# 1. Docker (Debian's docker.io) and a running dockerd; debootstrap.
# 2. The Lambda base image SAM wants for provided.al2023 on x86_64, made without pulling: a
#    minimal Debian with CA certificates (the HTTP client needs trust roots), imported under the
#    name SAM derives. SAM adds its bundled Runtime Interface Emulator to it (--skip-pull-image).
# 3. The x86_64 release binaries and a local template pointing at them
#    (scripts/sam_local_template.py says why it is generated).
# 4. moto and the stand-in provider API on the docker0 address, where the containers reach this
#    host as host.docker.internal (events/env.json); the queues and table created there.
# 5. The webhook samples signed again now (the replay windows refuse the committed ones' time).
set -euo pipefail
cd "$(dirname "$0")/.."
setup_only=false
image_only=false
[ "${1:-}" = "--setup" ] && setup_only=true
[ "${1:-}" = "--image" ] && image_only=true
$image_only || source scripts/python-env.sh
out=target/sam-local
mkdir -p "$out"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/hookline"
mkdir -p "$cache"
sudo_=()
[ "$(id -u)" = 0 ] || sudo_=(sudo)

# What this run started stops with it (a full run; --setup leaves it running).
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if $started_dockerd; then
    docker ps -q | xargs -r docker kill > /dev/null 2>&1 || true
    "${sudo_[@]}" kill "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null || true
  fi
}
trap cleanup EXIT
started_dockerd=false
# A dockerd an earlier `--image` run started is this run's to stop.
[ -e "$out/dockerd-started" ] && ! $image_only && started_dockerd=true && rm -f "$out/dockerd-started"

# 1. Docker and debootstrap. One apt at a time (.ci/run may be installing Chromium beside this,
# under the same lock file); DPkg::Lock::Timeout waits for any other apt instead of failing.
if ! command -v dockerd > /dev/null || ! command -v debootstrap > /dev/null; then
  apt_get=("${sudo_[@]}" flock /tmp/hookline-apt.lock env DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600)
  "${apt_get[@]}" install -y -q --no-install-recommends docker.io debootstrap > "$out/apt.log" 2>&1 || {
    "${apt_get[@]}" update -q > "$out/apt.log" 2>&1
    "${apt_get[@]}" install -y -q --no-install-recommends docker.io debootstrap >> "$out/apt.log" 2>&1 \
      || { tail -5 "$out/apt.log" >&2; exit 1; }
  }
fi
if ! docker info > /dev/null 2>&1; then
  # No forwarding beyond this host: the containers reach it on docker0, and nothing else.
  "${sudo_[@]}" sh -c 'nohup dockerd --ip-forward=false > /var/log/hookline-dockerd.log 2>&1 &'
  started_dockerd=true
  if $image_only; then touch "$out/dockerd-started"; fi
  for _ in $(seq 60); do docker info > /dev/null 2>&1 && break; sleep 0.5; done
  docker info > /dev/null
fi
host_ip=$(ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1)

# 2. The base image.
image=public.ecr.aws/lambda/provided:al2023-x86_64
if ! docker image inspect "$image" > /dev/null 2>&1; then
  rootfs_tar="$cache/lambda-base-rootfs.tar"
  if [ ! -s "$rootfs_tar" ]; then
    # The Debian mirror apt is configured with (apt reads only *.list and *.sources files).
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
      2>/dev/null | grep -E '^(URIs:|deb )' | grep -oE 'https?://[^ ]+' | grep -i debian \
      | grep -v -- '-security' | head -1 || true)
    rootfs=$(mktemp -d)
    "${sudo_[@]}" debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" \
      "${mirror:-http://deb.debian.org/debian}" > "$out/debootstrap.log" 2>&1 \
      || { tail -5 "$out/debootstrap.log" >&2; exit 1; }
    "${sudo_[@]}" tar -C "$rootfs" -cf "$rootfs_tar" .
    "${sudo_[@]}" rm -rf "$rootfs"
  fi
  docker import - "$image" < "$rootfs_tar" > /dev/null
fi

if $image_only; then
  trap - EXIT
  exit 0
fi

# 3. Binaries and the local template.
cargo build --locked -q -p hookline-cli
hookline=target/debug/hookline
scripts/build-release.sh  # as scripts/bench.sh builds them: a no-op after it
"$HOOKLINE_VENV/bin/python" scripts/sam_local_template.py --out-dir "$out" > /dev/null

# 4. moto and the stand-in API where the containers reach them (events/env.json's ports).
if ! curl -sf "http://$host_ip:5000/moto-api/" > /dev/null; then
  "$HOOKLINE_VENV/bin/moto_server" -H "$host_ip" -p 5000 > "$out/moto.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://$host_ip:5000/moto-api/" > /dev/null && break; sleep 0.2; done
fi
"$hookline" emulator-setup --aws-endpoint "http://$host_ip:5000" > /dev/null
if ! curl -s -o /dev/null "http://$host_ip:3001/"; then
  "$hookline" provider-stub --listen "$host_ip:3001" > "$out/provider-stub.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -s -o /dev/null "http://$host_ip:3001/" && break; sleep 0.2; done
fi

# 5. Samples signed now, one folder per receiver, as in events/.
rm -rf "$out/events"
"$hookline" providers --list | while read -r route samples; do
  "$hookline" sign --format apigw --out-dir "$out/events/$samples" --provider "$route" \
    events/payloads/"$route"/*.json 2> /dev/null
done
"$hookline" sign --format apigw --base64 --out-dir "$out/events/octopus-webhook" \
  events/payloads/octopus-base64/*.json 2> /dev/null

if $setup_only; then
  trap - EXIT
  echo "ready: moto on $host_ip:5000, the stand-in API on $host_ip:3001 (left running), signed samples in $out/events/"
  echo "  sam local invoke -t $out/template.json OctopusWebhookFunction -e $out/events/octopus-webhook/order-delivered.json \\"
  echo "    --env-vars events/env.json --skip-pull-image --add-host host.docker.internal:host-gateway"
  exit 0
fi
"$HOOKLINE_VENV/bin/python" scripts/sam_local_run.py --sam "$HOOKLINE_VENV/bin/sam" \
  --template "$out/template.json" --signed-dir "$out/events" --aws-endpoint "http://$host_ip:5000" \
  --log "$out/sam.log"
