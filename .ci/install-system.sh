#!/usr/bin/env bash
# Installs the system packages the tests need: a software Vulkan driver (Mesa lavapipe from
# bookworm-backports; Debian bookworm's Mesa 22.3 is too old for Dawn) and the Vulkan loader; and Debian's
# chromium for test/browser.test.ts (headless WebGPU on SwiftShader, driven by playwright-core).
# Idempotent; run as root. See ../shared/MISSION.md ("Software WebGPU for tests and CI").
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
src=/etc/apt/sources.list.d/debian.sources
bp=/etc/apt/sources.list.d/webpeft-backports.sources
if ! dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]'; then
  if [ ! -f "$bp" ]; then
    # copy the machine's own first (main archive) entry with the suite changed to bookworm-backports
    awk 'BEGIN{RS="";ORS="\n\n"} NR==1' "$src" | sed -E 's/^Suites:.*/Suites: bookworm-backports/' > "$bp"
  fi
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi
dpkg-query -W -f='mesa-vulkan-drivers ${Version}\n' mesa-vulkan-drivers
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
dpkg-query -W -f='chromium ${Version}\n' chromium
