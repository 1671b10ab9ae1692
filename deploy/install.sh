#!/usr/bin/env bash
# Installs (or upgrades) rtcam on a board over SSH and waits until the camera is online.
#
#   deploy/install.sh [options] user@board
#     --config FILE      push FILE as /etc/rtcam/rtcam.toml (checked on the board first)
#     --deb FILE         the package to install (default: target/debian/rtcam_*_<board arch>.deb)
#     --with-mosquitto   also install mosquitto on the board with a TCP (1883) and a
#                        WebSocket (8083) listener, for a self-contained camera
#     --wait SECS        how long to wait for the device to come online (default 60)
#
# Idempotent: running it again re-installs the same package and changes nothing else.
# Needs key-based SSH and sudo on the board (passwordless, or run with a terminal so sudo
# can ask).
set -euo pipefail
cd "$(dirname "$0")/.."

config="" deb="" mosquitto=0 wait=60 host=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=$2; shift 2 ;;
    --deb) deb=$2; shift 2 ;;
    --with-mosquitto) mosquitto=1; shift ;;
    --wait) wait=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    *) host=$1; shift ;;
  esac
done
[ -n "$host" ] || { echo "usage: deploy/install.sh [options] user@board (--help)" >&2; exit 2; }
[ -z "$config" ] || [ -f "$config" ] || { echo "install.sh: no config file $config" >&2; exit 2; }

say() { echo "==> $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }
ssh_opts=(-o ConnectTimeout=10 -o ServerAliveInterval=10)
on_board() { ssh "${ssh_opts[@]}" "$host" "$@"; }

say "checking SSH to $host"
on_board true 2>/dev/null || die "cannot log in to $host over SSH. Set up key-based login first: ssh-copy-id $host"
sudo_cmd="sudo"
if on_board 'test "$(id -u)" -eq 0'; then
  sudo_cmd=""
elif ! on_board sudo -n true 2>/dev/null; then
  if [ -t 0 ]; then
    ssh_opts+=(-t)   # sudo asks for the password on this terminal
  else
    die "sudo on $host needs a password and there is no terminal to type it: run from a terminal, or allow passwordless sudo"
  fi
fi

arch=$(on_board dpkg --print-architecture 2>/dev/null | tr -d '\r') \
  || die "$host has no dpkg: rtcam's package is for Debian / Raspberry Pi OS"
case "$arch" in
  arm64) build="cross/build.sh aarch64 && deploy/build-deb.sh arm64" ;;
  armhf) build="cross/build.sh armv7 && deploy/build-deb.sh armhf" ;;
  amd64) build="cargo build --release && deploy/build-deb.sh amd64" ;;
  *) die "$host is $arch; rtcam packages exist for arm64, armhf and amd64" ;;
esac
if [ -z "$deb" ]; then
  deb=$(ls -t target/debian/rtcam_*_"$arch".deb 2>/dev/null | head -n1 || true)
  [ -n "$deb" ] || die "no package for $arch in target/debian. Build it: $build"
fi
[ -f "$deb" ] || die "no package at $deb"
deb_arch=$(dpkg-deb -f "$deb" Architecture)
[ "$deb_arch" = "$arch" ] || die "$deb is for $deb_arch but $host is $arch. Build the right one: $build"

if [ "$mosquitto" = 1 ]; then
  say "installing mosquitto (TCP 1883, WebSocket 8083) on $host"
  on_board "$sudo_cmd apt-get install -y -qq mosquitto >/dev/null"
  on_board "$sudo_cmd tee /etc/mosquitto/conf.d/rtcam.conf >/dev/null" < deploy/mosquitto-rtcam.conf
  on_board "$sudo_cmd systemctl restart mosquitto"
fi

say "installing $(basename "$deb") on $host ($arch)"
remote_deb=/tmp/rtcam-install.deb
scp -q -o ConnectTimeout=10 "$deb" "$host:$remote_deb" || die "copying the package to $host failed"
on_board "$sudo_cmd apt-get install -y -qq --reinstall $remote_deb >/dev/null && rm -f $remote_deb" \
  || die "installing the package failed on $host (see above)"

if [ -n "$config" ]; then
  say "pushing $config as /etc/rtcam/rtcam.toml"
  scp -q -o ConnectTimeout=10 "$config" "$host:/tmp/rtcam-install.toml" || die "copying $config failed"
  on_board "rtcam check-config --config /tmp/rtcam-install.toml" \
    || die "$config is not valid on the board (see above); nothing changed"
  if ! on_board "cmp -s /tmp/rtcam-install.toml /etc/rtcam/rtcam.toml"; then
    on_board "$sudo_cmd install -m 0644 /tmp/rtcam-install.toml /etc/rtcam/rtcam.toml"
  fi
  on_board "rm -f /tmp/rtcam-install.toml"
fi

say "enabling and (re)starting the service"
on_board "$sudo_cmd systemctl enable rtcam.service >/dev/null 2>&1; $sudo_cmd systemctl restart rtcam.service"

say "waiting up to ${wait}s for the device to say it is online"
if ! on_board "rtcam status --config /etc/rtcam/rtcam.toml --wait $wait"; then
  on_board "$sudo_cmd journalctl -u rtcam -n 30 --no-pager" || true
  die "the device did not come online within ${wait}s (its log is above). Is the broker in /etc/rtcam/rtcam.toml reachable?"
fi
port=$(on_board "sed -n 's/^listen = \"[^\"]*:\\([0-9]*\\)\"/\\1/p' /etc/rtcam/rtcam.toml" | tr -d '\r' | sed -n 1p)
board=${host#*@}
if [ -n "$port" ]; then
  say "rtcam is online. Watch it at http://$board:$port/"
else
  say "rtcam is online (the viewer page is off: set http.listen in /etc/rtcam/rtcam.toml)"
fi
