#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# make-pki.sh DIR [HOST]
#
# Makes the throwaway PKI that the demo and the tests use, in DIR (created
# if needed), with the file names Keylime uses in its cv_ca directory:
#   cacert.crt, cacert-private.pem          the CA (trusted_client_ca of agents)
#   client-cert.crt, client-private.pem     the verifier/tenant client certificate (CN client)
#   server-cert.crt, server-private.pem     TLS server certificate for the stubs (SAN HOST)
#   RevocationNotifier-cert.crt, RevocationNotifier-private.pem
#                                           revocation signing key (RSA-2048) and certificate
# HOST defaults to 127.0.0.1 (an IP address or a DNS name). Existing files
# are kept, so the script can be run again. Private keys are 0600 and never
# leave DIR; nothing here is meant for production.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 DIR [HOST]" >&2; exit 2; }
dir=$1
host=${2:-127.0.0.1}
command -v openssl >/dev/null || { echo "make-pki.sh: openssl not found" >&2; exit 1; }
mkdir -p -- "$dir"
cd -- "$dir"
umask 077

if [[ $host =~ ^[0-9.]+$ || $host == *:* ]]; then
        san="IP:$host"
else
        san="DNS:$host"
fi

# key FILE TYPE: an EC P-256 or RSA-2048 private key, unless it exists.
key() {
        [ -s "$1" ] && return 0
        case $2 in
        ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
        esac
}

# issue NAME CN KEYTYPE EXTENSIONS: a certificate signed by the CA.
issue() {
        local name=$1 cn=$2 type=$3 ext=$4
        [ -s "$name-cert.crt" ] && return 0
        key "$name-private.pem" "$type"
        openssl req -new -key "$name-private.pem" -subj "/CN=$cn" -out "$name.csr"
        printf '%b\n' "$ext" >"$name.ext"
        openssl x509 -req -in "$name.csr" -CA cacert.crt -CAkey cacert-private.pem \
                -CAcreateserial -days 3650 -sha256 -extfile "$name.ext" -out "$name-cert.crt" \
                2>/dev/null
        rm -f -- "$name.csr" "$name.ext"
        chmod 0644 "$name-cert.crt"
}

if [ ! -s cacert.crt ]; then
        key cacert-private.pem ec
        openssl req -new -x509 -key cacert-private.pem -subj "/CN=Keylime test CA" -days 3650 \
                -sha256 -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" -out cacert.crt
        chmod 0644 cacert.crt
fi

issue client client ec \
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth"
issue server "$host" ec \
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=$san"
issue RevocationNotifier RevocationNotifier rsa \
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature"

echo "make-pki.sh: PKI ready in $(pwd)" >&2
