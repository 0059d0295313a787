#!/usr/bin/env bash
# Install the system packages the tests drive for real, if they are missing (Debian/apt, as root).
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need+=(postgresql)
{ command -v sbatch && test -x /usr/sbin/slurmctld && test -x /usr/sbin/munged; } >/dev/null 2>&1 \
  || need+=(slurm-wlm munge)  # the agent tests start a real single-node Slurm
# The dashboard's browser tests drive Debian's Chromium; Chinese pages need a CJK font.
test -x /usr/bin/chromium || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
command -v npm >/dev/null || test -f src/suanli/web/static/vendor/echarts.min.js || need+=(npm)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "missing system packages: ${need[*]} (install them, or run as root on Debian)" >&2
    exit 1
  fi
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
"$(dirname "$0")/web-assets.sh"  # ECharts for the dashboard, from the npm registry
