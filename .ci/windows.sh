#!/usr/bin/env bash
# The Windows job: build the single executables, check the npm package installs and runs, then run
# the smoke suite of every command as the Windows .exe under Wine against UNC paths (\\APP01\c$)
# and compare it with the Linux run. Called by .ci/run after the unit tests; under 15 minutes on
# two cores. Needs wine (Debian: wine + wine64) and osslsigncode, which .ci/run installs.
# Every step has a hard timeout and says what failed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

step() { printf '\n=== windows job: %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
fail() { printf 'windows job FAILED: %s\n' "$1" >&2; exit 1; }

for tool in wine wineserver osslsigncode unzip; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (apt-get install wine wine64 osslsigncode unzip)"
done

work=$(mktemp -d /tmp/clk-windows-job.XXXXXX)
export WINEPREFIX="$work/wineprefix" WINEDEBUG=-all WINEARCH=win64
# No Mono/Gecko installers and no display: the prefix is made headless.
export WINEDLLOVERRIDES='mscoree,mshtml=' DISPLAY=
cleanup() {
  wineserver -k >/dev/null 2>&1 || true
  if [ "${CLK_KEEP_WINDOWS_WORK:-}" = "" ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

step 'build dist/, the bundle and the executables'
timeout 300 npm run build >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail 'npm run build'; }
timeout 600 npm run build:exe >"$work/build-exe.log" 2>&1 || { cat "$work/build-exe.log"; fail 'npm run build:exe'; }
cat "$work/build-exe.log"

step 'npm pack, then npm install -g of the tarball into an empty prefix'
timeout 300 node scripts/check-package.mjs || fail 'the packed package does not install or run'

step 'Wine prefix (wineboot -i, Windows 10, persistent wineserver)'
# One persistent wineserver first, so every wine call below shares it (starting it after wineboot
# fails while wineboot's own server is still up).
mkdir -p "$WINEPREFIX"
wineserver -p || fail 'wineserver -p'
timeout 300 wine wineboot -i >"$work/wineboot.log" 2>&1 || { cat "$work/wineboot.log"; fail 'wine wineboot -i'; }
# Node refuses to start on Wine's default Windows 7.
timeout 120 wine reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >"$work/reg.log" 2>&1 || { cat "$work/reg.log"; fail 'wine reg add Version=win10'; }
# Windows Node gets EBADF on a Unix pipe: stdout/stderr always go to files.
timeout 120 wine build/exe/clk-support-win-x64.exe --version --json >"$work/version.json" 2>"$work/version.err" \
  || { cat "$work/version.err"; fail 'the .exe does not start under Wine'; }
cat "$work/version.json"
grep -q '"platform": "win32"' "$work/version.json" || fail 'the .exe did not report platform win32'

step 'smoke suite: every command, Linux vs the Windows .exe on \\APP01\c$ UNC paths'
timeout 600 node scripts/windows-smoke.mjs --exe build/exe/clk-support-win-x64.exe --work "$work/smoke" || fail 'the Windows run differs from the Linux run (details above)'

step 'done'
