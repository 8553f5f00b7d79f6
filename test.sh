#!/usr/bin/env bash
# Runs Sluice's whole test suite: installs what the tests need when it is missing, then `mvn -B verify`.
# Extra arguments go to Maven (e.g. ./test.sh -Dtest=FailoverTest -pl sluice-app).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

need_java() {
  command -v java >/dev/null && command -v mvn >/dev/null && return 0
  echo "test.sh: a JDK (17+) and Maven are required" >&2
  exit 1
}
need_java

# Debian packages the tests use, installed only when missing.
PACKAGES=(prometheus)  # promtool checks /metrics, the simulator's telemetry and deploy/prometheus/alerts.yml
PACKAGES+=(chromium chromium-driver)  # the console's browser test (Selenium drives headless Chromium)
PACKAGES+=(etcd-server etcd-client)  # the config centre: tests start a 3-member etcd cluster on loopback
PACKAGES+=(redis-server)  # limits and cache shared by replicas: tests start redis-server on loopback
PACKAGES+=(nginx)  # deploy/nginx/sluice.conf in front of two replicas
PACKAGES+=(systemd)  # systemd-analyze verify checks deploy/systemd/*.service
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# The TLS tests make a test CA and certificates with the openssl CLI (docs/tls.md).
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  # As root the commands run as they are; otherwise through sudo. The variable goes through `env`: an assignment
  # placed after an empty sudo prefix (root) would run as a command ("DEBIAN_FRONTEND=…: command not found", exit 127).
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "test.sh: missing Debian packages: ${missing[*]}; run as root or install them first:" \
        "apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
    as_root=(sudo)
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

exec mvn -B -Dstyle.color=never verify "$@"
