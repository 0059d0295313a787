#!/usr/bin/env bash
# Fetch the dashboard's browser libraries from the npm registry into a git-ignored folder the
# app serves (no CDN at run time). Pinned: Apache ECharts 6.0.0, licence Apache-2.0.
set -euo pipefail
cd "$(dirname "$0")/.."
ECHARTS_VERSION=6.0.0
dest=src/suanli/web/static/vendor
if [ -f "$dest/echarts.min.js" ] && grep -q "^echarts $ECHARTS_VERSION" "$dest/VERSIONS" 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to fetch ECharts (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@$ECHARTS_VERSION" >/dev/null && tar -xzf "echarts-$ECHARTS_VERSION.tgz")
mkdir -p "$dest"
cp "$work/package/dist/echarts.min.js" "$dest/echarts.min.js"
cp "$work/package/LICENSE" "$dest/ECHARTS-LICENSE"
license=$(node -e "console.log(require('$work/package/package.json').license)" 2>/dev/null || echo Apache-2.0)
echo "echarts $ECHARTS_VERSION $license (npm registry, dist/echarts.min.js)" > "$dest/VERSIONS"
echo "== web assets: $(cat "$dest/VERSIONS")"
