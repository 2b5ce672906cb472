#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent's HTTPS server under abuse (CVE-2023-38200 class): one host
# holding 1000 idle sockets gets its per-IP share and no more, while the
# verifier on another address (127.0.0.2) is still served; TLS below 1.2 is
# refused; client certificates that chain to the CA but are expired, not yet
# valid, or limited to other uses (no clientAuth, no digitalSignature) are
# refused (with a log line saying why, when the handshake got that far), while one without any usage
# extensions (as upstream Keylime's CA issues them) is accepted.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

UUID=d432fbb3-d2f1-4a97-9ef7-75bd81c0b0b0
tpm_up tpm1
registrar_start reg
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/pki" 2>/dev/null
mkdir -p "$T/kl/cv_ca"
cp "$T/pki/cacert.crt" "$T/kl/cv_ca/cacert.crt"
APORT=$(free_port) || fail "no free port"
agent_conf "$T/agent.conf" "$T/kl" "$UUID" "port = $APORT"
agent_serve "$tpm1_TCTI" "$T/agent.conf" "$T/agent.log"
QUOTE="https://127.0.0.1:$APORT/v2.6/quotes/integrity?nonce=bounds&mask=0x400&partial=1"

# quote FROM_ADDR [CERT KEY]: the HTTP status of a quote request sent from FROM_ADDR.
quote() {
        curl -s -o "$T/q.json" -w '%{http_code}' --max-time 10 --interface "$1" \
                --cacert "$T/kl/server-cert.crt" --cert "${2:-$T/pki/client-cert.crt}" \
                --key "${3:-$T/pki/client-private.pem}" "$QUOTE" || true
}

log "1000 idle sockets from 127.0.0.1: the verifier on 127.0.0.2 is still served"
ulimit -n 4096
held=()
for i in $(seq 1000); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$APORT" || fail "cannot open idle connection $i"
        held+=("$fd")
done
start=$(date +%s%N)
[ "$(quote 127.0.0.2)" = 200 ] || fail "quote from 127.0.0.2 not served while 127.0.0.1 holds 1000 sockets"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$(quote 127.0.0.1)" = 000 ] || fail "127.0.0.1 got past its per-IP connection limit"
open=$(ss -Htn state established "( sport = :$APORT )" | wc -l)
[ "$open" -le 40 ] || fail "the agent holds $open connections from one host"
pass "quote from 127.0.0.2 in $ms ms; 127.0.0.1 refused beyond its limit ($open sockets kept)"
for fd in "${held[@]}"; do
        exec {fd}>&-
done
ok=0
for _ in $(seq 50); do
        [ "$(quote 127.0.0.1)" = 200 ] && ok=1 && break
        sleep 0.2
done
[ "$ok" = 1 ] || fail "127.0.0.1 not served again after closing its sockets"
kill -0 "$AGENT_PID" || fail "agent died"
pass "127.0.0.1 served again once its sockets are closed"

log "TLS 1.0 and 1.1 refused, TLS 1.2 and 1.3 accepted"
tls() { # tls VERSION-FLAGS...: 0 when a handshake with a client certificate completes
        openssl s_client -connect "127.0.0.1:$APORT" -cert "$T/pki/client-cert.crt" \
                -key "$T/pki/client-private.pem" "$@" </dev/null >"$T/tls.out" 2>&1
}
tls -tls1_2 || fail "TLS 1.2 refused: $(tail -3 "$T/tls.out")"
tls -tls1_3 || fail "TLS 1.3 refused: $(tail -3 "$T/tls.out")"
tls -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' && fail "TLS 1.1 accepted"
tls -tls1 -cipher 'DEFAULT:@SECLEVEL=0' && fail "TLS 1.0 accepted"
tls -tls1_2 -cipher 'AES128-SHA256' && fail "a non-AEAD, non-forward-secret cipher accepted"
pass "only TLS 1.2+ with AEAD ciphers"

log "client certificates: validity dates and key usage"
mkdir -p "$T/ca"
: >"$T/ca/index.txt"
echo 1000 >"$T/ca/serial"
cat >"$T/ca/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $T/ca/index.txt
new_certs_dir = $T/ca
serial = $T/ca/serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
CNF
# client NAME START END EXTENSIONS: a CA-signed client certificate valid from START to END
client() {
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ca/$1.key" 2>/dev/null
        openssl req -new -key "$T/ca/$1.key" -subj "/CN=$1" -out "$T/ca/$1.csr"
        printf '%b\n' "$4" >"$T/ca/$1.ext"
        openssl ca -batch -config "$T/ca/ca.cnf" -cert "$T/pki/cacert.crt" \
                -keyfile "$T/pki/cacert-private.pem" -in "$T/ca/$1.csr" -out "$T/ca/$1.crt" \
                -startdate "$2" -enddate "$3" -extfile "$T/ca/$1.ext" >/dev/null 2>&1 ||
                fail "openssl ca could not issue $1"
}
good_ext='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
client expired 20200101000000Z 20210101000000Z "$good_ext"
client notyet 20990101000000Z 20991231000000Z "$good_ext"
client serveronly 20240101000000Z 20991231000000Z \
        'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth'
client nosign 20240101000000Z 20991231000000Z \
        'basicConstraints=CA:FALSE\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=clientAuth'
client upstream 20240101000000Z 20991231000000Z 'subjectAltName=DNS:client'
for c in expired notyet serveronly nosign; do
        [ "$(quote 127.0.0.1 "$T/ca/$c.crt" "$T/ca/$c.key")" = 200 ] &&
                fail "client certificate '$c' accepted"
        sleep 1.1 # refusals are logged at most once a second
done
[ "$(quote 127.0.0.1 "$T/ca/upstream.crt" "$T/ca/upstream.key")" = 200 ] ||
        fail "a client certificate without usage extensions (upstream's CA) was refused"
# GnuTLS itself ends the handshake for a signing key that may not sign: no request, no log line
for why in "expired" "not valid yet" "lacks clientAuth"; do
        grep -q "refusing TLS client: .*$why" "$T/agent.log" ||
                fail "no log line saying '$why': $(grep 'refusing TLS' "$T/agent.log")"
done
[ "$(quote 127.0.0.1)" = 200 ] || fail "the good client certificate stopped working"
pass "expired, not-yet-valid, serverAuth-only and keyEncipherment-only certificates refused, each logged"
