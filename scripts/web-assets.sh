#!/usr/bin/env bash
# Fetch the browser libraries from the npm registry into a git-ignored folder the app serves
# (no CDN at run time). Pinned: Apache ECharts 6.0.0 (the dashboard's charts) and
# swagger-ui-dist 5.36.0 (the API docs at /docs), both licensed Apache-2.0.
set -euo pipefail
cd "$(dirname "$0")/.."
ECHARTS_VERSION=6.0.0
SWAGGER_UI_VERSION=5.36.0
dest=src/suanli/web/static/vendor
if [ -f "$dest/echarts.min.js" ] && [ -f "$dest/swagger-ui/swagger-ui-bundle.js" ] \
  && grep -q "^echarts $ECHARTS_VERSION" "$dest/VERSIONS" 2>/dev/null \
  && grep -q "^swagger-ui-dist $SWAGGER_UI_VERSION" "$dest/VERSIONS" 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to fetch the web assets (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() {  # name version: unpack the package under $work/name
  mkdir -p "$work/$1"
  (cd "$work/$1" && npm pack --silent "$1@$2" >/dev/null && tar -xzf "$1-$2.tgz")
}
licence() {  # name: the licence its package.json declares
  node -e "console.log(require('$work/$1/package/package.json').license)" 2>/dev/null || echo Apache-2.0
}
fetch echarts "$ECHARTS_VERSION"
fetch swagger-ui-dist "$SWAGGER_UI_VERSION"
mkdir -p "$dest/swagger-ui"
cp "$work/echarts/package/dist/echarts.min.js" "$dest/echarts.min.js"
cp "$work/echarts/package/LICENSE" "$dest/ECHARTS-LICENSE"
for f in swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
  cp "$work/swagger-ui-dist/package/$f" "$dest/swagger-ui/$f"
done
{
  echo "echarts $ECHARTS_VERSION $(licence echarts) (npm registry, dist/echarts.min.js)"
  echo "swagger-ui-dist $SWAGGER_UI_VERSION $(licence swagger-ui-dist) (npm registry, swagger-ui-bundle.js, swagger-ui.css)"
} > "$dest/VERSIONS"
echo "== web assets: $(tr '\n' ';' < "$dest/VERSIONS")"
