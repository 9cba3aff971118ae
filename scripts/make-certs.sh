#!/usr/bin/env bash
# Makes a private CA and one certificate per service for tls+tcp:// sockets (mutual TLS).
#   scripts/make-certs.sh DIR [NAME...]
# DIR/ca.crt, DIR/ca.key (keep the CA key offline once the certificates exist), and for
# each NAME DIR/NAME.crt and DIR/NAME.key. The store's certificate must carry the name
# the others expect (TRIAGE_TLS_SERVER_NAME, default triage-store): give the store the
# NAME triage-store (the default list: triage-store gateway enricher notifier).
# Existing files are kept: re-running adds what is missing. ECDSA P-256, 825 days.
set -euo pipefail

dir=${1:?usage: $0 DIR [NAME...]}
shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(triage-store gateway enricher notifier)
command -v openssl >/dev/null || { echo "make-certs: openssl is missing (apt-get install openssl)" >&2; exit 1; }
umask 077
mkdir -p "$dir"

if [ ! -f "$dir/ca.key" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -subj "/CN=triage private CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.crt"
fi

for name in "${names[@]}"; do
  case "$name" in *[!A-Za-z0-9._-]*|"") echo "make-certs: bad name '$name'" >&2; exit 2 ;; esac
  [ -f "$dir/$name.crt" ] && continue
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "/CN=$name" -out "$dir/$name.csr"
  ext=$(mktemp)
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s\n' "$name" >"$ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 825 -sha256 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$ext" "$dir/$name.csr"
done
chmod 644 "$dir"/*.crt
echo "make-certs: CA and certificates for ${names[*]} in $dir"
