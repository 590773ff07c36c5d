#!/usr/bin/env bash
# install-node-exporter.sh: installs Prometheus node_exporter on a bare Linux host as a hardened
# systemd service, so the stack's Prometheus can scrape the host (HOST:9100/metrics).
# The binary comes from --binary PATH, else the official release tarball (--version, --from release,
# --root; its SHA-256 checked against the release's sha256sums.txt), else the distribution's package
# (apt-get: prometheus-node-exporter, dnf: golang-github-prometheus-node-exporter) with its own unit
# plus a hardening drop-in. The service runs as a DynamicUser: systemd allocates an unprivileged
# user at each start, so nothing is added to /etc/passwd. Idempotent; see --help.
set -euo pipefail

readonly PROG=install-node-exporter
readonly DEFAULT_VERSION=1.10.2
readonly UNIT_NAME=node_exporter.service
readonly BIN_REL=/usr/local/bin/node_exporter
readonly UNIT_REL=/etc/systemd/system/$UNIT_NAME
readonly WANTS_REL=/etc/systemd/system/multi-user.target.wants/$UNIT_NAME
readonly MANIFEST_REL=/var/lib/install-node-exporter/manifest
readonly DROPIN_NAME=10-hardening.conf
# Tests point this at a missing path to check the "no systemd" error on a host that has systemd.
readonly SYSTEMD_PROBE=${NODE_EXPORTER_SYSTEMD_PROBE:-/run/systemd/system}

usage() {
  cat <<'USAGE'
Usage: install-node-exporter.sh [options]

Installs Prometheus node_exporter as a hardened systemd service listening on :9100.

Options:
  --version V        install release V from the official tarball (default for tarballs: 1.10.2)
  --from SOURCE      package | release: where the binary comes from (default: the distribution's
                     package where apt-get or dnf exists, else the release tarball)
  --binary PATH      install this local node_exporter binary instead of downloading one
  --listen ADDR      --web.listen-address of the service (default :9100)
  --root DIR         install into DIR instead of / (binary, unit, enablement link); nothing is
                     started; for staging images and for tests
  --mirror URL       base URL of the release downloads
                     (default https://github.com/prometheus/node_exporter/releases/download)
  --uninstall        remove what an earlier run installed
  --dry-run          print the plan (source, binary, unit file, user) and change nothing
  -h, --help         this text

Needs root and a running systemd, except with --dry-run or --root.
Examples:
  sudo ./install-node-exporter.sh
  sudo ./install-node-exporter.sh --version 1.10.2
  ./install-node-exporter.sh --dry-run
  ./install-node-exporter.sh --root /tmp/stage --binary /usr/bin/prometheus-node-exporter
USAGE
}

say() { echo "$PROG: $*"; }
die() { echo "$PROG: error: $*" >&2; exit 1; }

version='' from='' binary='' listen=':9100' root=/ action=install dry_run=false
mirror=https://github.com/prometheus/node_exporter/releases/download
while [ $# -gt 0 ]; do
  opt=$1 value=''
  case $opt in
    --*=*) value=${opt#*=}; opt=${opt%%=*} ;;
    --version | --from | --binary | --listen | --root | --mirror)
      if [ $# -lt 2 ] || [ -z "$2" ]; then die "$opt needs a value (see --help)"; fi
      value=$2; shift ;;
  esac
  case $opt in
    --version) version=$value ;;
    --from) from=$value ;;
    --binary) binary=$value ;;
    --listen) listen=$value ;;
    --root) root=$value ;;
    --mirror) mirror=$value ;;
    --uninstall) action=uninstall ;;
    --dry-run) dry_run=true ;;
    -h | --help) usage; exit 0 ;;
    *) echo "$PROG: error: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

version=${version#v}
[ -z "$version" ] || [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version must look like 1.10.2, got '$version'"
case $from in '' | package | release) ;; *) die "--from must be 'package' or 'release', got '$from'" ;; esac
if [ -n "$binary" ]; then
  if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then die "--binary $binary is not an executable file"; fi
  binary=$(realpath "$binary")
  [ -z "$from" ] || die "--binary and --from exclude each other"
fi
[[ $listen =~ ^[^[:space:]]*:[0-9]+$ ]] || die "--listen must be [HOST]:PORT, got '$listen'"
mirror=${mirror%/}
root=$(realpath -m "$root")
# path REL: REL inside the install root.
path() { echo "${root%/}$1"; }

pkg_manager='' pkg_name=''
if command -v apt-get >/dev/null 2>&1; then pkg_manager=apt-get pkg_name=prometheus-node-exporter
elif command -v dnf >/dev/null 2>&1; then pkg_manager=dnf pkg_name=golang-github-prometheus-node-exporter; fi

# A pinned version or a staging root needs the release: packages carry the distribution's version and install only into /.
if [ -n "$binary" ]; then method=binary
elif [ -n "$from" ]; then method=$from
elif [ -n "$version" ] || [ "$root" != / ] || [ -z "$pkg_manager" ]; then method=release
else method=package; fi
if [ "$method" = package ]; then
  [ -n "$pkg_manager" ] || die "--from package: no apt-get or dnf on this host; use --from release"
  [ "$root" = / ] || die "--from package installs into / only; use --from release or --binary with --root"
  [ -z "$version" ] || die "--version pins a release tarball; the package carries the distribution's version"
fi
if [ "$method" = release ]; then
  # node_exporter's release architecture names.
  case $(uname -m) in
    x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; armv7*) arch=armv7 ;; armv6*) arch=armv6 ;; i?86) arch=386 ;;
    ppc64le | s390x | riscv64) arch=$(uname -m) ;;
    *) die "no node_exporter release for architecture $(uname -m); use --binary PATH" ;;
  esac
  version=${version:-$DEFAULT_VERSION}
  tarball=node_exporter-$version.linux-$arch.tar.gz
  tarball_url=$mirror/v$version/$tarball
  sums_url=$mirror/v$version/sha256sums.txt
fi
manifest=$(path "$MANIFEST_REL")
# A value an earlier run recorded (uninstall uses them).
recorded() { if [ -f "$manifest" ]; then grep -m1 "^$1=" "$manifest" | cut -d= -f2-; fi; }
package_unit_guess() { if [ "$pkg_manager" = apt-get ]; then echo prometheus-node-exporter.service; else echo "$UNIT_NAME"; fi; }

if $dry_run; then
  echo "$PROG plan ($action):"
  if [ "$action" = uninstall ]; then
    echo "  recorded:  $(recorded method || true)"
    echo "  binary:    $(path "$BIN_REL")"
    echo "  unit:      $(path "$UNIT_REL")"
  elif [ "$method" = package ]; then
    echo "  method:    distribution package $pkg_name ($pkg_manager)"
    echo "  unit:      $(package_unit_guess) (from the package)"
    echo "  drop-in:   /etc/systemd/system/$(package_unit_guess).d/$DROPIN_NAME (hardening)"
    echo "  user:      the package's own service user"
  else
    if [ "$method" = release ]; then
      echo "  method:    release tarball v$version (linux-$arch)"
      echo "  source:    $tarball_url"
      echo "  checksum:  sha256 from $sums_url"
    else
      echo "  method:    local binary"
      echo "  source:    $binary"
    fi
    echo "  binary:    $(path "$BIN_REL")"
    echo "  unit:      $(path "$UNIT_REL")"
    echo "  user:      node_exporter (DynamicUser=yes: allocated by systemd at start, nothing added to /etc/passwd)"
    echo "  listen:    $listen"
  fi
  if [ "$root" = / ]; then echo "  start:     systemctl enable --now"; else echo "  enable:    $(path "$WANTS_REL") (not started: --root)"; fi
  echo "  manifest:  $manifest"
  echo "  root:      $root"
  exit 0
fi

if [ "$root" = / ]; then
  [ "$(id -u)" -eq 0 ] || die "must run as root to install a system service (try: sudo $0 ...); --dry-run shows the plan, --root DIR stages into a directory"
  command -v systemctl >/dev/null 2>&1 || die "systemctl not found; node_exporter is installed as a systemd service"
  [ -d "$SYSTEMD_PROBE" ] ||
    die "systemd is not running on this host ($SYSTEMD_PROBE missing); node_exporter is installed as a systemd service. Use --root DIR to stage the files, or run node_exporter under your init system"
fi
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
changed=false

# write_file DEST MODE CONTENT: writes only when the content differs.
write_file() {
  printf '%s\n' "$3" >"$workdir/content"
  if [ -f "$1" ] && cmp -s "$workdir/content" "$1"; then say "unchanged $1"; return; fi
  install -D -m "$2" "$workdir/content" "$1"
  say "installed $1"
  changed=true
}

# node_exporter only reads /proc and /sys: a read-only system, no privileges, no devices.
HARDENING='DynamicUser=yes
NoNewPrivileges=yes
ProtectSystem=strict
# read-only, not yes: the filesystem collector statfs()s mount points under /home.
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
UMask=0077'

UNIT="# Installed by install-node-exporter.sh; re-run it to change this file.
[Unit]
Description=Prometheus node_exporter (host metrics)
Documentation=https://github.com/prometheus/node_exporter
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
# Extra flags: NODE_EXPORTER_ARGS=\"--collector.systemd ...\" in /etc/default/node_exporter.
EnvironmentFile=-/etc/default/node_exporter
ExecStart=$BIN_REL --web.listen-address=$listen \$NODE_EXPORTER_ARGS
Restart=on-failure
RestartSec=5s
$HARDENING

[Install]
WantedBy=multi-user.target"

download() {
  say "downloading $1" >&2
  curl -fsSL --retry 3 --connect-timeout 15 -o "$2" "$1" || die "download failed: $1"
}

# fetch_release: downloads the tarball, checks its SHA-256, prints the extracted binary's path.
fetch_release() {
  command -v curl >/dev/null 2>&1 || die "need curl to download $tarball_url"
  download "$tarball_url" "$workdir/$tarball"
  download "$sums_url" "$workdir/sha256sums.txt"
  local expected actual
  expected=$(grep -E "^[0-9a-f]{64} [ *]$tarball\$" "$workdir/sha256sums.txt" | cut -c1-64 || true)
  [ -n "$expected" ] || die "sha256sums.txt has no line for $tarball"
  actual=$(sha256sum "$workdir/$tarball" | cut -c1-64)
  [ "$expected" = "$actual" ] || die "checksum mismatch for $tarball: expected $expected, got $actual; not installing"
  say "checksum ok ($actual)" >&2
  tar -xzf "$workdir/$tarball" -C "$workdir"
  [ -f "$workdir/${tarball%.tar.gz}/node_exporter" ] || die "$tarball holds no ${tarball%.tar.gz}/node_exporter"
  echo "$workdir/${tarball%.tar.gz}/node_exporter"
}

# start_unit UNIT: enabled and (re)started on the host; linked for multi-user.target in a --root.
start_unit() {
  if [ "$root" = / ]; then
    systemctl daemon-reload
    systemctl enable "$1" >/dev/null 2>&1
    if $changed; then systemctl restart "$1"; else systemctl start "$1"; fi
  elif [ "$(readlink "$(path "$WANTS_REL")" 2>/dev/null)" != "$UNIT_REL" ]; then
    mkdir -p "$(dirname "$(path "$WANTS_REL")")"
    ln -sfn "$UNIT_REL" "$(path "$WANTS_REL")"
    say "enabled $(path "$WANTS_REL")"
  fi
}

install_from_files() {
  local src reported
  if [ "$method" = release ]; then src=$(fetch_release); else src=$binary; fi
  reported=$("$src" --version 2>&1 | head -n 1) || die "$src does not run on this host"
  say "binary: $reported"
  if [ -f "$(path "$BIN_REL")" ] && cmp -s "$src" "$(path "$BIN_REL")"; then
    say "unchanged $(path "$BIN_REL")"
  else
    install -D -m 0755 "$src" "$(path "$BIN_REL")"
    say "installed $(path "$BIN_REL")"
    changed=true
  fi
  write_file "$(path "$UNIT_REL")" 0644 "$UNIT"
  start_unit "$UNIT_NAME"
  [[ $reported =~ version\ ([0-9][0-9.]*) ]] || true
  write_file "$manifest" 0644 "method=$method
version=${BASH_REMATCH[1]:-}
binary=$BIN_REL
unit=$UNIT_REL
listen=$listen"
}

install_package() {
  if [ "$pkg_manager" = apt-get ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-cache policy "$pkg_name" 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$pkg_name"
  else
    dnf install -y -q "$pkg_name"
  fi
  local files unit=''
  if [ "$pkg_manager" = apt-get ]; then files=$(dpkg -L "$pkg_name"); else files=$(rpm -ql "$pkg_name"); fi
  for candidate in prometheus-node-exporter.service node_exporter.service prometheus-node_exporter.service; do
    if grep -q "/systemd/system/$candidate\$" <<<"$files"; then unit=$candidate; break; fi
  done
  [ -n "$unit" ] || die "package $pkg_name ships no node_exporter service unit"
  # The package's own user stays; the drop-in adds the hardening (DynamicUser only where the unit names no User=).
  local dropin=/etc/systemd/system/$unit.d/$DROPIN_NAME
  write_file "$dropin" 0644 "# Installed by install-node-exporter.sh: hardening on top of the package's unit.
[Service]
${HARDENING#DynamicUser=yes
}"
  start_unit "$unit"
  write_file "$manifest" 0644 "method=package
package=$pkg_name
package_manager=$pkg_manager
unit=$unit
dropin=$dropin"
}

remove_path() { if [ -e "$1" ] || [ -L "$1" ]; then rm -f "$1"; say "removed $1"; fi; }

uninstall() {
  if [ "$(recorded method)" = package ]; then
    systemctl disable --now "$(recorded unit)" >/dev/null 2>&1 || true
    remove_path "$(recorded dropin)"
    rmdir "$(dirname "$(recorded dropin)")" 2>/dev/null || true
    case $(recorded package_manager) in
      apt-get) DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "$(recorded package)" ;;
      dnf) dnf remove -y -q "$(recorded package)" ;;
    esac
  else
    if [ "$root" = / ] && [ -e "$UNIT_REL" ]; then systemctl disable --now "$UNIT_NAME" >/dev/null 2>&1 || true; fi
    remove_path "$(path "$WANTS_REL")"
    remove_path "$(path "$UNIT_REL")"
    remove_path "$(path "$BIN_REL")"
  fi
  [ "$root" != / ] || systemctl daemon-reload
  if [ -f "$manifest" ]; then rm -f "$manifest"; rmdir "$(dirname "$manifest")" 2>/dev/null || true; fi
  say "node_exporter uninstalled"
}

if [ "$action" = uninstall ]; then uninstall; exit 0; fi
if [ "$method" = package ]; then install_package; else install_from_files; fi
if [ "$root" = / ]; then
  say "node_exporter is running: http://$(hostname -f 2>/dev/null || hostname):${listen##*:}/metrics"
else
  say "staged into $root ($(if $changed; then echo changed; else echo 'nothing changed'; fi))"
fi
