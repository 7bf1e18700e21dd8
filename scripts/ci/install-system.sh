#!/usr/bin/env bash
# Installs, idempotently, what the tests need from Debian:
#  - chromium: the browser for e2e tests, and SwiftShader (a CPU Vulkan driver) for WebGPU;
#  - libvulkan1: the Vulkan loader Dawn (npm `webgpu`) needs in Node;
#  - mesa-vulkan-drivers from bookworm-backports: lavapipe (Mesa 25), a faster CPU adapter with
#    shader-f16, so kernel tests cover both the f16 and the f32 path.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ] || need+=(libvulkan1)

lavapipe_ok() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -qE '^(2[5-9]|[3-9][0-9])\.'
}

if [ "$(id -u)" != 0 ]; then
  if [ ${#need[@]} -gt 0 ] || ! lavapipe_ok; then
    echo "warning: not root; cannot install ${need[*]} mesa-vulkan-drivers. Tests may find no WebGPU adapter." >&2
  fi
  exit 0
fi

updated=0
apt_update() { [ $updated = 1 ] || { apt-get update -qq; updated=1; }; }

if [ ${#need[@]} -gt 0 ]; then
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! lavapipe_ok && grep -qs bookworm /etc/os-release; then
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat > /etc/apt/sources.list.d/whetstone-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    updated=0
  fi
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null || \
    echo "warning: lavapipe from bookworm-backports could not be installed; tests use SwiftShader only" >&2
fi
echo "system packages: chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null), mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo none)"
