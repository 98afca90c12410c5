#!/usr/bin/env bash
# The training report in a real browser: trains the sample for three epochs on the shipped subset with --report, renders
# the HTML in headless Chromium to a PNG, and fails when the page did not render, a chart has no line, or the image is
# blank. Installs Chromium from Debian's packages when missing. Prints where the PNG is, to look at.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi
out=${NETDSL_REPORT_DIR:-$(mktemp -d)}
mkdir -p "$out"
dotnet run -c Release --project samples/FashionMnist -- --epochs 3 --data samples/FashionMnist/data --report "$out/report.html" > "$out/run.log"
browser=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars)
"${browser[@]}" --window-size=1280,2200 --screenshot="$out/report.png" "file://$out/report.html" 2> "$out/chromium.log"
"${browser[@]}" --dump-dom "file://$out/report.html" > "$out/dom.html" 2>> "$out/chromium.log"
python3 - "$out" <<'PY'
import re, struct, sys
out = sys.argv[1]
dom = open(f"{out}/dom.html", encoding="utf-8").read()
charts = re.findall(r'<svg[^>]*aria-label="([^"]*)"(.*?)</svg>', dom, re.S)
if len(charts) < 5: sys.exit(f"the rendered page has {len(charts)} charts, expected 5")
for title, body in charts:
    lines = re.findall(r'<polyline[^>]*points="([^"]*)"', body)
    if not lines or not any(len(points.split()) >= 2 for points in lines): sys.exit(f"chart '{title}' has no line")
if "Confusion matrix" not in dom: sys.exit("the confusion matrix is missing")
png = open(f"{out}/report.png", "rb").read()
if png[:8] != b"\x89PNG\r\n\x1a\n": sys.exit("no PNG was written")
width, height = struct.unpack(">II", png[16:24])
# A blank page compresses to a few kilobytes; curves, tables and text do not.
if len(png) < 20000: sys.exit(f"the rendered page looks blank ({len(png)} bytes of PNG)")
print(f"report rendered: {out}/report.png ({width}×{height}, {len(charts)} charts, {len(png)} bytes)")
PY
