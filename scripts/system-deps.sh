#!/usr/bin/env bash
# The system packages the test suite needs: redis-server (real Redis session tests) and Debian's
# Chromium with CJK fonts (browser tests). Installed with apt-get when missing: as root, or with
# sudo when it works without a password; otherwise one sentence says what to run.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
((${#need[@]})) || exit 0
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "The tests need ${need[*]}: run 'sudo apt-get update && sudo apt-get install -y ${need[*]}', then make test again." >&2
  exit 2
fi
echo "installing ${need[*]} with apt-get"
"${run[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
