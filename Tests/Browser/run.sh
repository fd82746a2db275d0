#!/usr/bin/env bash
# The training report, checked in a real browser (make test-report; part of make test).
#
# Trains LeNet-5 briefly with --report, opens the page in headless Chromium (Debian's
# `chromium`, installed when missing), and fails when any <img> did not load (naturalWidth 0),
# any script raised an error, a linked file is missing, or a section is absent. A control page
# with a broken image and a throwing script must be caught, so the check cannot pass vacuously.
# Leaves a screenshot in $OUT/report.png.
#
#   KILN   the kiln binary (default .build/debug/kiln)
#   OUT    scratch directory (default .build/browser-test)
#   GRAPH  the graph to train (default Graphs/lenet5.kiln)
set -euo pipefail
cd "$(dirname "$0")/../.."
KILN=${KILN:-.build/debug/kiln}
OUT=${OUT:-.build/browser-test}
GRAPH=${GRAPH:-Graphs/lenet5.kiln}

fail() { echo "browser test: FAIL: $*" >&2; exit 1; }

for p in chromium graphviz; do
  if ! dpkg -s "$p" >/dev/null 2>&1; then
    echo "installing $p"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$p"
  fi
done
[ -x "$KILN" ] || fail "$KILN is not built (swift build)"

rm -rf "$OUT"
mkdir -p "$OUT"
REPORT="$OUT/report"
echo "== training $GRAPH (--limit 2000 --epochs 2 --backend jit) with --report $REPORT"
"$KILN" train "$GRAPH" --limit 2000 --epochs 2 --backend jit --report "$REPORT" > "$OUT/train.log" 2>&1 \
  || { cat "$OUT/train.log"; fail "kiln train failed"; }

# The final page no longer reloads itself; every section is there; every linked file exists.
grep -q 'http-equiv="refresh"' "$REPORT/index.html" && fail "the final page still refreshes itself"
for section in "Training curves" "Test samples" "Most confident mistakes" "Class metrics" "First-layer filters" "The compiled model" "macro average" "weighted average" "Kernel profile"; do
  grep -q "$section" "$REPORT/index.html" || fail "index.html has no '$section'"
done
grep -q 'src="graph.svg"' "$REPORT/index.html" || fail "no rendered graph (is Graphviz's dot installed?)"
for f in $(grep -o '\(src\|href\)="[^":#]*"' "$REPORT/index.html" | sed 's/.*="\(.*\)"/\1/' | sort -u); do
  [ -s "$REPORT/$f" ] || fail "index.html refers to $f, which is missing or empty"
done

# A probe, injected first into a copy of the page: it records script errors and failed
# resources, and on load lists every image that has no pixels.
PROBE='<script>
window.__kilnErrors = [];
addEventListener("error", function (e) {
  var t = e.target;
  window.__kilnErrors.push(t && t !== window && t.tagName ? "resource failed: " + (t.src || t.href) : "script error: " + e.message);
}, true);
addEventListener("load", function () {
  var images = Array.from(document.images);
  var broken = images.filter(function (i) { return !i.complete || i.naturalWidth === 0; });
  var pre = document.createElement("pre");
  pre.id = "kiln-browser-check";
  pre.textContent = "images=" + images.length + " broken=" + broken.length + " errors=" + window.__kilnErrors.length + "\n" +
    broken.map(function (i) { return "broken image: " + i.src.slice(0, 120); }).concat(window.__kilnErrors).join("\n");
  document.body.appendChild(pre);
});
</script>'

# Prints the probe's result for page $1 (under the report directory, so relative paths resolve).
check() {
  local page="$1" log="$2"
  python3 - "$REPORT/index.html" "$REPORT/$page" "$PROBE" "${3:-}" <<'PY'
import sys
source, target, probe, extra = sys.argv[1:5]
html = open(source, encoding="utf-8").read()
html = html.replace("<head>", "<head>" + probe, 1).replace("</body>", extra + "</body>", 1)
open(target, "w", encoding="utf-8").write(html)
PY
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --allow-file-access-from-files \
    --enable-logging=stderr --v=0 --virtual-time-budget=10000 --dump-dom "file://$PWD/$REPORT/$page" 2>"$log" \
    | python3 -c '
import html, re, sys
m = re.search(r"<pre id=\"kiln-browser-check\">(.*?)</pre>", sys.stdin.read(), re.S)
print(html.unescape(m.group(1)) if m else "no probe result: the page did not finish loading")'
}

echo "== control: a page with a missing image and a throwing script must fail the check"
control=$(check control.html "$OUT/control.log" '<img src="missing.png"><script>undefinedFunction()</script>')
echo "$control" | head -1
echo "$control" | grep -q "broken=1 " || fail "the probe did not catch the missing image: $control"
echo "$control" | grep -q "script error" || fail "the probe did not catch the script error: $control"

echo "== the report"
result=$(check check.html "$OUT/chromium.log")
echo "$result"
echo "$result" | grep -q "^images=[1-9][0-9]* broken=0 errors=0$" || fail "the report has missing images or script errors"
grep -i "Uncaught" "$OUT/chromium.log" && fail "the browser console shows a script error"
rm -f "$REPORT/check.html" "$REPORT/control.html"

timeout 120 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
  --window-size=1280,2400 --screenshot="$OUT/report.png" "file://$PWD/$REPORT/index.html" >/dev/null 2>&1 \
  || fail "chromium could not take a screenshot"
[ -s "$OUT/report.png" ] || fail "no screenshot"
echo "browser test: ok ($(grep -c '<img' "$REPORT/index.html") <img> tags, screenshot $OUT/report.png)"
