#!/usr/bin/env bash
# A certificate authority of your own for a home broker (docs/security.md): the broker's TLS
# listeners (MQTT on 8883, WebSocket on 8884 in deploy/mosquitto-rtcam-secure.conf) show a
# certificate this CA signed; the camera (mqtt.ca_file) and the viewers' browsers trust it.
#
#   deploy/broker-ca.sh [--dir DIR] server NAME [NAME|ADDRESS ...]
#   deploy/broker-ca.sh [--dir DIR] client NAME
#
# server: the broker's certificate (server.crt, server.key) for every host name and IP
#         address viewers and cameras use to reach it (e.g. broker.lan 192.168.1.10).
#         Run it again to reissue (new names, expiry); the CA stays.
# client: a client certificate (NAME.crt, NAME.key) for a broker with require_certificate
#         (rtcam.toml: mqtt.client_cert_file, mqtt.client_key_file).
# DIR (default /etc/mosquitto/rtcam/tls) gets ca.crt and ca.key (made once, kept: ca.key
# signs everything; keep it there or offline). Copy ca.crt to the camera (mqtt.ca_file) and
# import it in each viewer's browser or phone as a trusted authority.
set -euo pipefail
dir=/etc/mosquitto/rtcam/tls
if [ "${1:-}" = --dir ]; then dir=$2; shift 2; fi
cmd=${1:-}
die() { echo "broker-ca.sh: $*" >&2; exit 1; }
case "$cmd" in
  server | client) shift ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
[ $# -ge 1 ] || die "$cmd needs a name"
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
mkdir -p "$dir"
umask 077
ca_days=3650 cert_days=825

if [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -days "$ca_days" -subj "/CN=rtcam home CA $(hostname)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 644 "$dir/ca.crt"
  echo "broker-ca.sh: new CA in $dir/ca.crt (valid $ca_days days)"
fi

# Signs $1.csr with the CA using the extensions in $2.
sign() {
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/$1.crt" -days "$cert_days" -extfile "$2" 2>/dev/null
  rm -f "$dir/$1.csr" "$2"
  chmod 644 "$dir/$1.crt"
}

ext=$(mktemp)
if [ "$cmd" = server ]; then
  sans=()
  for n in "$@"; do
    if [[ "$n" =~ ^[0-9.]+$ || "$n" == *:* ]]; then
      sans+=("IP:$n")
    elif [[ "$n" =~ ^[A-Za-z0-9.-]{1,253}$ ]]; then
      sans+=("DNS:$n")
    else
      die "'$n' is neither a host name nor an IP address"
    fi
  done
  san=$(IFS=,; echo "${sans[*]}")
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
    "$san" > "$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/server.key" \
    -out "$dir/server.csr" -subj "/CN=$1" 2>/dev/null
  sign server "$ext"
  # mosquitto reads its key as its own user.
  if id mosquitto >/dev/null 2>&1; then chown mosquitto: "$dir/server.key"; fi
  echo "broker-ca.sh: $dir/server.crt for $san (valid $cert_days days)"
else
  name=$1
  [[ "$name" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "the name must be 1-64 of A-Z a-z 0-9 _ . - (got '$name')"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > "$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name.key" \
    -out "$dir/$name.csr" -subj "/CN=$name" 2>/dev/null
  sign "$name" "$ext"
  echo "broker-ca.sh: $dir/$name.crt and $dir/$name.key (client certificate for $name)"
fi
