#!/usr/bin/env bash
# install-node-exporter.sh: installs Prometheus node_exporter on a bare Linux host as a hardened
# systemd service, so the stack's Prometheus can scrape the host (HOST:9100/metrics).
#
# Where the binary comes from, in this order:
#   --binary PATH              a node_exporter binary already on this machine
#   --version V / --from release / --root DIR
#                              the official GitHub release tarball for this host's architecture,
#                              its SHA-256 checked against the release's sha256sums.txt
#   otherwise                  the distribution's package where one exists (apt-get:
#                              prometheus-node-exporter, dnf: golang-github-prometheus-node-exporter),
#                              with its own unit and user plus a hardening drop-in; else the tarball
# Run it again: it changes only what differs (idempotent). See --help.
set -euo pipefail

readonly PROG=install-node-exporter
readonly DEFAULT_VERSION=1.10.2
readonly DEFAULT_MIRROR=https://github.com/prometheus/node_exporter/releases/download
readonly SERVICE_USER=node_exporter
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
  --root DIR         install into DIR instead of / (binary, unit, user entry in DIR/etc/passwd);
                     nothing is started; for staging images and for tests
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

version=""
from=""
binary=""
listen=":9100"
root="/"
mirror=$DEFAULT_MIRROR
action=install
dry_run=false

need_value() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi; }

while [ $# -gt 0 ]; do
  case $1 in
    --version)   need_value "$@"; version=$2; shift 2 ;;
    --version=*) version=${1#*=}; shift ;;
    --from)      need_value "$@"; from=$2; shift 2 ;;
    --from=*)    from=${1#*=}; shift ;;
    --binary)    need_value "$@"; binary=$2; shift 2 ;;
    --binary=*)  binary=${1#*=}; shift ;;
    --listen)    need_value "$@"; listen=$2; shift 2 ;;
    --listen=*)  listen=${1#*=}; shift ;;
    --root)      need_value "$@"; root=$2; shift 2 ;;
    --root=*)    root=${1#*=}; shift ;;
    --mirror)    need_value "$@"; mirror=$2; shift 2 ;;
    --mirror=*)  mirror=${1#*=}; shift ;;
    --uninstall) action=uninstall; shift ;;
    --dry-run)   dry_run=true; shift ;;
    -h|--help)   usage; exit 0 ;;
    *) echo "$PROG: error: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

# ---- validation -------------------------------------------------------------------------------

if [ -n "$version" ]; then
  version=${version#v}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version must look like 1.10.2, got '$version'"
fi
case $from in ''|package|release) ;; *) die "--from must be 'package' or 'release', got '$from'" ;; esac
if [ -n "$binary" ]; then
  if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then die "--binary $binary is not an executable file"; fi
  binary=$(realpath "$binary")
  [ -z "$from" ] || die "--binary and --from exclude each other"
fi
[[ $listen =~ ^[^[:space:]]*:[0-9]+$ ]] || die "--listen must be [HOST]:PORT, got '$listen'"
mirror=${mirror%/}
root=$(realpath -m "$root")

# path REL: REL inside the install root.
path() { if [ "$root" = / ]; then echo "$1"; else echo "$root$1"; fi; }

# ---- choosing the source ----------------------------------------------------------------------

pkg_manager=""
pkg_name=""
if command -v apt-get >/dev/null 2>&1; then
  pkg_manager=apt-get; pkg_name=prometheus-node-exporter
elif command -v dnf >/dev/null 2>&1; then
  pkg_manager=dnf; pkg_name=golang-github-prometheus-node-exporter
fi

if [ -n "$binary" ]; then
  method=binary
elif [ -n "$from" ]; then
  method=$from
elif [ -n "$version" ] || [ "$root" != / ] || [ -z "$pkg_manager" ]; then
  # A pinned version or a staging root needs the release: packages carry the distribution's
  # version and install only into /.
  method=release
else
  method=package
fi
if [ "$method" = package ]; then
  [ -n "$pkg_manager" ] || die "--from package: no apt-get or dnf on this host; use --from release"
  [ "$root" = / ] || die "--from package installs into / only; use --from release or --binary with --root"
  [ -z "$version" ] || die "--version pins a release tarball; the package carries the distribution's version"
fi

# Release architecture names of node_exporter's tarballs.
release_arch() {
  case $(uname -m) in
    x86_64|amd64)   echo amd64 ;;
    aarch64|arm64)  echo arm64 ;;
    armv7l|armv7*)  echo armv7 ;;
    armv6l|armv6*)  echo armv6 ;;
    armv5*)         echo armv5 ;;
    i386|i686)      echo 386 ;;
    ppc64le)        echo ppc64le ;;
    ppc64)          echo ppc64 ;;
    s390x)          echo s390x ;;
    riscv64)        echo riscv64 ;;
    mips64el)       echo mips64le ;;
    mips64)         echo mips64 ;;
    mipsel)         echo mipsle ;;
    mips)           echo mips ;;
    loongarch64)    echo loong64 ;;
    *) die "no node_exporter release for architecture $(uname -m); use --binary PATH" ;;
  esac
}

if [ "$method" = release ]; then
  version=${version:-$DEFAULT_VERSION}
  arch=$(release_arch)
  tarball=node_exporter-$version.linux-$arch.tar.gz
  tarball_url=$mirror/v$version/$tarball
  sums_url=$mirror/v$version/sha256sums.txt
fi

manifest=$(path "$MANIFEST_REL")

# Values an earlier run recorded (uninstall and re-runs use them).
recorded() { if [ -f "$manifest" ]; then sed -n "s/^$1=//p" "$manifest" | head -n 1; fi; }

# ---- the plan ---------------------------------------------------------------------------------

package_unit_guess() { if [ "$pkg_manager" = apt-get ]; then echo prometheus-node-exporter.service; else echo node_exporter.service; fi; }

print_plan() {
  echo "$PROG plan ($action):"
  if [ "$action" = uninstall ]; then
    local was; was=$(recorded method)
    echo "  recorded:  ${was:-nothing recorded at $manifest; removing the default paths if present}"
    if [ "$was" = package ]; then
      echo "  package:   $(recorded package) (removed with $(recorded package_manager))"
      echo "  drop-in:   $(recorded dropin)"
    else
      echo "  binary:    $(path "$BIN_REL")"
      echo "  unit:      $(path "$UNIT_REL")"
      echo "  user:      $SERVICE_USER ($( [ "$(recorded user_created)" = yes ] && echo removed || echo 'kept: not created by this script'))"
    fi
    echo "  root:      $root"
    return
  fi
  case $method in
    package)
      echo "  method:    distribution package $pkg_name ($pkg_manager)"
      echo "  unit:      $(package_unit_guess) (from the package)"
      echo "  drop-in:   /etc/systemd/system/$(package_unit_guess).d/$DROPIN_NAME (hardening)"
      echo "  user:      the package's own service user"
      echo "  listen:    as the package configures it (Debian: /etc/default/prometheus-node-exporter)"
      ;;
    release|binary)
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
      echo "  user:      $SERVICE_USER (system user and group, no login shell, no home)"
      echo "  listen:    $listen"
      ;;
  esac
  if [ "$root" = / ]; then
    echo "  start:     systemctl enable --now"
  else
    echo "  enable:    $(path "$WANTS_REL") (not started: --root)"
  fi
  echo "  manifest:  $manifest"
  echo "  root:      $root"
}

if $dry_run; then
  print_plan
  exit 0
fi

# ---- preflight --------------------------------------------------------------------------------

if [ "$root" = / ]; then
  [ "$(id -u)" -eq 0 ] || die "must run as root to install a system service (try: sudo $0 ...); --dry-run shows the plan, --root DIR stages into a directory"
  if ! command -v systemctl >/dev/null 2>&1 || [ ! -d "$SYSTEMD_PROBE" ]; then
    die "systemd is not running on this host ($SYSTEMD_PROBE missing); node_exporter is installed as a systemd service. Use --root DIR to stage the files, or run node_exporter under your init system"
  fi
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

changed=false

# install_file SRC DEST MODE: copies only when the content differs.
install_file() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    say "unchanged $2"
    return
  fi
  install -D -m "$3" "$1" "$2"
  say "installed $2"
  changed=true
}

# write_file DEST MODE CONTENT (an argument, not a pipe: a pipeline's subshell would lose `changed`)
write_file() {
  printf '%s\n' "$3" >"$workdir/content"
  install_file "$workdir/content" "$1" "$2"
}

hardening() {
  cat <<'EOF'
# Read-only view of the system, no privileges, no devices: node_exporter only reads /proc and /sys.
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
UMask=0077
EOF
}

render_unit() {
  cat <<EOF
# Installed by install-node-exporter.sh; re-run it to change this file.
[Unit]
Description=Prometheus node_exporter (host metrics)
Documentation=https://github.com/prometheus/node_exporter
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_USER
# Extra flags: NODE_EXPORTER_ARGS="--collector.systemd ..." in /etc/default/node_exporter.
EnvironmentFile=-/etc/default/node_exporter
ExecStart=$BIN_REL --web.listen-address=$listen \$NODE_EXPORTER_ARGS
Restart=on-failure
RestartSec=5s
$(hardening)

[Install]
WantedBy=multi-user.target
EOF
}

nologin_shell() {
  local s
  for s in /usr/sbin/nologin /sbin/nologin /usr/bin/false /bin/false; do
    if [ -x "$(path "$s")" ] || { [ "$root" != / ] && [ "$s" = /usr/sbin/nologin ]; }; then echo "$s"; return; fi
  done
  echo /bin/false
}

# free_id FILE: the highest id below 1000 (the system range) that FILE does not use yet.
free_id() {
  local id used
  used=" $(cut -d: -f3 "$1" | tr '\n' ' ') "
  for ((id = 999; id >= 100; id--)); do
    if [[ $used != *" $id "* ]]; then echo "$id"; return; fi
  done
  die "no free system id between 100 and 999 in $1"
}

# ensure_user: prints "yes" when it created the user, "no" when it already existed.
ensure_user() {
  if [ "$root" = / ]; then
    if getent passwd "$SERVICE_USER" >/dev/null; then echo no; return; fi
    if command -v useradd >/dev/null 2>&1; then
      useradd --system --user-group --no-create-home --home-dir / --shell "$(nologin_shell)" \
        --comment "Prometheus node_exporter" "$SERVICE_USER" >&2
    else
      addgroup -S "$SERVICE_USER" >&2
      adduser -S -D -H -h / -s "$(nologin_shell)" -G "$SERVICE_USER" "$SERVICE_USER" >&2
    fi
    echo yes
    return
  fi
  local passwd group gid uid
  passwd=$(path /etc/passwd)
  group=$(path /etc/group)
  mkdir -p "$(dirname "$passwd")"
  touch "$passwd" "$group"
  if grep -q "^$SERVICE_USER:" "$passwd"; then echo no; return; fi
  gid=$(sed -n "s/^$SERVICE_USER:[^:]*:\([0-9]*\):.*/\1/p" "$group")
  if [ -z "$gid" ]; then
    gid=$(free_id "$group")
    echo "$SERVICE_USER:x:$gid:" >>"$group"
  fi
  uid=$(free_id "$passwd")
  echo "$SERVICE_USER:x:$uid:$gid:Prometheus node_exporter:/:$(nologin_shell)" >>"$passwd"
  echo yes
}

remove_user() {
  if [ "$root" = / ]; then
    if getent passwd "$SERVICE_USER" >/dev/null; then
      if command -v userdel >/dev/null 2>&1; then userdel "$SERVICE_USER"; else deluser "$SERVICE_USER"; fi
      getent group "$SERVICE_USER" >/dev/null && { groupdel "$SERVICE_USER" 2>/dev/null || delgroup "$SERVICE_USER" 2>/dev/null || true; }
      say "removed user $SERVICE_USER"
    fi
    return
  fi
  local f
  for f in "$(path /etc/passwd)" "$(path /etc/group)"; do
    if [ -f "$f" ] && grep -q "^$SERVICE_USER:" "$f"; then
      grep -v "^$SERVICE_USER:" "$f" >"$workdir/ids" || true
      cat "$workdir/ids" >"$f"
    fi
  done
  say "removed user $SERVICE_USER from $(path /etc/passwd)"
}

download() {
  say "downloading $1"
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 --connect-timeout 15 -o "$2" "$1" || die "download failed: $1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 15 -O "$2" "$1" || die "download failed: $1"
  else
    die "need curl or wget to download $1"
  fi
}

# fetch_release: downloads the tarball, checks its SHA-256, prints the extracted binary's path.
fetch_release() {
  download "$tarball_url" "$workdir/$tarball" >&2
  download "$sums_url" "$workdir/sha256sums.txt" >&2
  local expected actual
  expected=$(awk -v f="$tarball" '{ name = $2; sub(/^\*/, "", name) } name == f { print $1; exit }' "$workdir/sha256sums.txt")
  [ -n "$expected" ] || die "sha256sums.txt has no line for $tarball"
  actual=$(sha256sum "$workdir/$tarball" | cut -d' ' -f1)
  [ "$expected" = "$actual" ] || die "checksum mismatch for $tarball: expected $expected, got $actual; not installing"
  say "checksum ok ($actual)" >&2
  tar -xzf "$workdir/$tarball" -C "$workdir"
  local extracted=$workdir/${tarball%.tar.gz}/node_exporter
  [ -f "$extracted" ] || die "$tarball holds no ${tarball%.tar.gz}/node_exporter"
  echo "$extracted"
}

write_manifest() {
  local IFS=$'\n'
  write_file "$manifest" 0644 "$*"
}

# ---- install ----------------------------------------------------------------------------------

install_from_files() {
  local src
  if [ "$method" = release ]; then src=$(fetch_release); else src=$binary; fi
  local reported
  reported=$("$src" --version 2>&1 | head -n 1) || die "$src does not run on this host"
  say "binary: $reported"

  local created previous
  previous=$(recorded user_created)
  created=$(ensure_user)
  [ "$created" = yes ] && { say "created system user $SERVICE_USER"; changed=true; }
  # A re-run must not forget that an earlier run created the user.
  [ "$previous" = yes ] && created=yes

  install_file "$src" "$(path "$BIN_REL")" 0755
  write_file "$(path "$UNIT_REL")" 0644 "$(render_unit)"

  if [ "$root" = / ]; then
    systemctl daemon-reload
    systemctl enable "$UNIT_NAME" >/dev/null 2>&1
    if $changed; then systemctl restart "$UNIT_NAME"; else systemctl start "$UNIT_NAME"; fi
  else
    local wants
    wants=$(path "$WANTS_REL")
    mkdir -p "$(dirname "$wants")"
    if [ "$(readlink "$wants" 2>/dev/null)" != "$UNIT_REL" ]; then
      ln -sfn "$UNIT_REL" "$wants"
      say "enabled $wants"
    fi
  fi

  write_manifest "method=$method" "version=$(sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p' <<<"$reported")" \
    "binary=$BIN_REL" "unit=$UNIT_REL" "user=$SERVICE_USER" "user_created=$created" "listen=$listen"
}

package_unit() {
  local files unit
  if [ "$pkg_manager" = apt-get ]; then files=$(dpkg -L "$pkg_name"); else files=$(rpm -ql "$pkg_name"); fi
  for unit in prometheus-node-exporter.service node_exporter.service prometheus-node_exporter.service; do
    if grep -q "/systemd/system/$unit\$" <<<"$files"; then echo "$unit"; return; fi
  done
  die "package $pkg_name ships no node_exporter service unit"
}

install_package() {
  if [ "$pkg_manager" = apt-get ]; then
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache policy "$pkg_name" 2>/dev/null | grep -q 'Candidate: [0-9]'; then apt-get update -qq; fi
    apt-get install -y -qq --no-install-recommends "$pkg_name"
  else
    dnf install -y -q "$pkg_name"
  fi
  local unit dropin
  unit=$(package_unit)
  dropin=/etc/systemd/system/$unit.d/$DROPIN_NAME
  write_file "$dropin" 0644 "$(printf '%s\n' "# Installed by install-node-exporter.sh: hardening on top of the package's unit." "[Service]"; hardening)"
  systemctl daemon-reload
  systemctl enable "$unit" >/dev/null 2>&1
  if $changed; then systemctl restart "$unit"; else systemctl start "$unit"; fi
  write_manifest "method=package" "package=$pkg_name" "package_manager=$pkg_manager" "unit=$unit" "dropin=$dropin"
}

# ---- uninstall --------------------------------------------------------------------------------

remove_path() {
  if [ -e "$1" ] || [ -L "$1" ]; then rm -f "$1"; say "removed $1"; fi
}

uninstall() {
  local was unit
  was=$(recorded method)
  if [ "$was" = package ]; then
    unit=$(recorded unit)
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
    remove_path "$(recorded dropin)"
    rmdir "$(dirname "$(recorded dropin)")" 2>/dev/null || true
    case $(recorded package_manager) in
      apt-get) DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "$(recorded package)" ;;
      dnf) dnf remove -y -q "$(recorded package)" ;;
    esac
    systemctl daemon-reload
  else
    if [ "$root" = / ] && [ -e "$UNIT_REL" ]; then
      systemctl disable --now "$UNIT_NAME" >/dev/null 2>&1 || true
    fi
    remove_path "$(path "$WANTS_REL")"
    remove_path "$(path "$UNIT_REL")"
    remove_path "$(path "$BIN_REL")"
    [ "$root" = / ] && systemctl daemon-reload
    if [ "$(recorded user_created)" = yes ]; then
      remove_user
    elif [ -n "$was" ] || grep -qs "^$SERVICE_USER:" "$(path /etc/passwd)"; then
      say "kept user $SERVICE_USER: this script did not create it"
    fi
  fi
  if [ -f "$manifest" ]; then
    rm -f "$manifest"
    rmdir "$(dirname "$manifest")" 2>/dev/null || true
  fi
  say "node_exporter uninstalled"
}

if [ "$action" = uninstall ]; then
  uninstall
  exit 0
fi

case $method in
  package) install_package ;;
  release|binary) install_from_files ;;
esac
if [ "$root" = / ]; then
  say "node_exporter is running: http://$(hostname -f 2>/dev/null || hostname):${listen##*:}/metrics"
else
  say "staged into $root ($(if $changed; then echo changed; else echo 'nothing changed'; fi))"
fi
