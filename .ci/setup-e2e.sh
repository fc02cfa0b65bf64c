#!/usr/bin/env bash
# Installs what the end-to-end suite (test/e2e/) needs: Debian's Chromium, ripgrep, libkrb5-dev, a Korean font and
# code-server 4.100.3 (= VS Code 1.100.3, runs on Node 20) into a cache folder outside the clone.
# Idempotent: a second run only checks that everything is there (a few hundred ms).
#
# code-server's plain `npm install` fails here: @vscode/ripgrep's postinstall downloads ripgrep from GitHub.
# The recipe below installs without scripts, puts Debian's `rg` where @vscode/ripgrep expects it, rebuilds
# the native modules from source and then mirrors the rest of code-server's postinstall.sh.
#
# Environment:
#   SEMBRIDGE_E2E_CACHE   cache root (default ~/.cache/sembridge-e2e); code-server lands in $SEMBRIDGE_E2E_CACHE/code-server-<version>
# Prints the path of the code-server binary as its last line.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
CACHE_ROOT=${SEMBRIDGE_E2E_CACHE:-$HOME/.cache/sembridge-e2e}
DEST="$CACHE_ROOT/code-server-$CODE_SERVER_VERSION"
BIN="$DEST/node_modules/code-server/out/node/entry.js"
start=$(date +%s)

# --- Debian packages ---------------------------------------------------------------------------------------
# fonts-nanum: without a Hangul font, Korean text renders as boxes in the screenshots.
apt_packages=(chromium ripgrep libkrb5-dev fonts-nanum)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-e2e: apt-get install ${missing[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi
command -v rg >/dev/null || { echo "setup-e2e: ripgrep (rg) not on PATH after install" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "setup-e2e: /usr/bin/chromium missing after install" >&2; exit 1; }

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" != 20 ]; then
  echo "setup-e2e: code-server $CODE_SERVER_VERSION needs Node 20 (its engines field); this is Node $(node -v)" >&2
  exit 1
fi

# --- code-server ---------------------------------------------------------------------------------------------
if [ -f "$DEST/.complete" ] && [ -f "$BIN" ]; then
  echo "setup-e2e: code-server $CODE_SERVER_VERSION already installed in $DEST ($(( $(date +%s) - start )) s)"
  echo "$DEST/node_modules/.bin/code-server"
  exit 0
fi

echo "setup-e2e: installing code-server $CODE_SERVER_VERSION into $DEST"
mkdir -p "$CACHE_ROOT"
# Build in a temporary sibling and rename at the end, so an interrupted install never looks complete.
WORK=$(mktemp -d "$CACHE_ROOT/.install-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export npm_config_yes=true            # node-pty's install runs `npx node-gyp`; a user npmrc with yes=false cancels it
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# node-gyp would otherwise download Node headers from nodejs.org; Debian's nodejs ships them under /usr/include/node.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi

(
  set -euo pipefail
  cd "$WORK"
  echo '{ "name": "sembridge-e2e-code-server", "private": true }' > package.json
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
  npm rebuild --loglevel=error argon2                       # top-level native dependency of code-server
  cd node_modules/code-server/lib/vscode
  npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  # @vscode/ripgrep's postinstall skips the GitHub download when bin/ already exists.
  mkdir -p node_modules/@vscode/ripgrep/bin
  cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  npm rebuild --loglevel=error                               # node-pty, @vscode/spdlog, kerberos, native-watchdog, deviceid
  # The rest of code-server's postinstall.sh:
  ln -sfn node_modules node_modules.asar
  (cd bin/remote-cli && ln -sfn code-linux.sh code-server)
  (cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
  cd extensions
  npm install --omit=dev --no-audit --no-fund --loglevel=error >/dev/null   # its postinstall lists every file it prunes
)

# npm records absolute paths nowhere that matters here, so the finished tree can be moved into place.
rm -rf "$DEST"
mv "$WORK" "$DEST"
trap - EXIT
# Without private XDG folders even `--version` writes ~/.config/code-server/config.yaml.
xdg=$(mktemp -d)
XDG_CONFIG_HOME=$xdg XDG_DATA_HOME=$xdg "$DEST/node_modules/.bin/code-server" --version
rm -rf "$xdg"
date -u +%FT%TZ > "$DEST/.complete"
echo "setup-e2e: done in $(( $(date +%s) - start )) s"
echo "$DEST/node_modules/.bin/code-server"
