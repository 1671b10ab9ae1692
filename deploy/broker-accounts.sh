#!/usr/bin/env bash
# Accounts on a locked-down mosquitto for rtcam (docs/security.md): a password file and the
# ACL of deploy/mosquitto-rtcam.acl with one block per camera.
#
#   deploy/broker-accounts.sh [--dir DIR] add-device DEVICE_ID [PASSWORD]
#   deploy/broker-accounts.sh [--dir DIR] add-viewer NAME [PASSWORD]
#
# DIR (default /etc/mosquitto/rtcam) gets `passwd` and `acl`; point mosquitto at them with
# `password_file DIR/passwd` and `acl_file DIR/acl`. Without PASSWORD a random one is made
# and printed once. A camera's account name is its device id (rtcam.toml: mqtt.username =
# device_id, mqtt.password = the password). Reload mosquitto afterwards
# (systemctl reload mosquitto).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=/etc/mosquitto/rtcam
if [ "${1:-}" = --dir ]; then dir=$2; shift 2; fi
cmd=${1:-} name=${2:-} password=${3:-}
die() { echo "broker-accounts.sh: $*" >&2; exit 1; }
case "$cmd" in
  add-device | add-viewer) ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
[[ "$name" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "the name must be 1-64 of A-Z a-z 0-9 _ . - (got '$name')"
command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd not found (apt-get install mosquitto)"
mkdir -p "$dir"
umask 077
if [ -z "$password" ]; then
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  echo "password for $name: $password"
fi
[ -f "$dir/passwd" ] || : > "$dir/passwd"
mosquitto_passwd -b "$dir/passwd" "$name" "$password"
[ -f "$dir/acl" ] || cp "$here/mosquitto-rtcam.acl" "$dir/acl"
if [ "$cmd" = add-device ] && ! grep -qx "user $name" "$dir/acl"; then
  printf '\nuser %s\ntopic readwrite rtcam/%s/#\n' "$name" "$name" >> "$dir/acl"
fi
# mosquitto reads these as its own user.
if id mosquitto >/dev/null 2>&1; then chown mosquitto: "$dir/passwd" "$dir/acl"; fi
echo "broker-accounts.sh: $cmd $name in $dir"
