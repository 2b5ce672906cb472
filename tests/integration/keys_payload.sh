#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Secret delivery end to end, with this test as the tenant and the verifier:
# K split into U and V (kl_tenant_tool), U with an encrypted zip payload and V
# posted over mTLS in both orders; the payload's autorun.sh runs in
# secure/unzipped; /keys/verify proves K; once K exists only the client that
# sent its V may send another. Refusals: a bad auth tag, a ukey
# without a client certificate, hostile zips (slip, symlink, bomb), mTLS off
# with a payload script, and a planted mount or symlink at secure/.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

UUID=d432fbb3-d2f1-4a97-9ef7-75bd81c0a001
TOOL=$KL_BUILD_DIR/tests/kl_tenant_tool
tpm_up tpm1
registrar_start reg
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/pki" 2>/dev/null
mkdir -p "$T/kl/cv_ca"
cp "$T/pki/cacert.crt" "$T/kl/cv_ca/cacert.crt"

# start_agent CONF LOG: starts the agent and waits until it serves.
start_agent() {
        TCTI=$tpm1_TCTI KEYLIME_AGENT_CONFIG=$1 "$AGENT_BIN" --log-level debug >"$2" 2>&1 &
        AGENT_PID=$!
        KL_PIDS+=("$AGENT_PID")
        for _ in $(seq 150); do
                grep -q "serving the agent API" "$2" && return 0
                kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(tail -5 "$2")"
                sleep 0.1
        done
        fail "agent API did not start: $(tail -5 "$2")"
}
# must_refuse_start CONF LOG TEXT: the agent exits non-zero and says TEXT.
must_refuse_start() {
        local rc=0
        TCTI=$tpm1_TCTI KEYLIME_AGENT_CONFIG=$1 timeout 60 "$AGENT_BIN" >"$2" 2>&1 || rc=$?
        [ "$rc" != 0 ] || fail "agent started with $1"
        [ "$rc" != 124 ] || fail "agent kept running with $1"
        grep -qF -- "$3" "$2" || fail "agent did not say '$3': $(tail -3 "$2")"
}

APORT=$(free_port) || fail "no free port"
agent_conf "$T/agent.conf" "$T/kl" "$UUID" "port = $APORT"
start_agent "$T/agent.conf" "$T/agent.log"
BASE=https://127.0.0.1:$APORT
TLS=(--cacert "$T/kl/server-cert.crt" --cert "$T/pki/client-cert.crt" --key "$T/pki/client-private.pem")
SECURE=$T/kl/secure

api() { # api PATH [OUT]: GET over mTLS, prints the status
        curl -s -o "${2:-$T/out.json}" -w '%{http_code}' --max-time 20 "${TLS[@]}" "$BASE$1"
}
post() { # post PATH JSON [OUT]: POST over mTLS, prints the status
        curl -s -o "${3:-$T/post.json}" -w '%{http_code}' --max-time 20 "${TLS[@]}" \
                -H 'Content-Type: application/json' --data-binary "$2" "$BASE$1"
}

[ "$(api /v2.6/keys/pubkey)" = 200 ] || fail "pubkey"
jq -j .results.pubkey "$T/out.json" >"$T/nk.pem"

# make_payload NAME MARKER: a zip whose autorun.sh writes its cwd into MARKER.
make_payload() {
        mkdir -p "$T/$1"
        printf '#!/bin/sh\npwd > "%s"\n' "$2" >"$T/$1/autorun.sh"
        echo "data of $1" >"$T/$1/data.txt"
        (cd "$T/$1" && zip -q -X "../$1.zip" autorun.sh data.txt)
}
# shares NAME ZIP: K, U, V, the auth tag and the JSON bodies for one delivery.
shares() {
        local k u v
        read -r k u v < <("$TOOL" split)
        printf '%s' "$k" >"$T/$1.k"
        tag=$("$TOOL" hmac "$k" "$UUID")
        ukey=$(jq -cn --arg t "$tag" --arg e "$("$TOOL" oaep-encrypt "$T/nk.pem" "$u")" \
                --arg p "$("$TOOL" encrypt-payload "$k" "$2")" \
                '{auth_tag: $t, encrypted_key: $e, payload: $p}')
        vkey=$(jq -cn --arg e "$("$TOOL" oaep-encrypt "$T/nk.pem" "$v")" '{encrypted_key: $e}')
}
expect_post() { # expect_post PATH JSON CODE [STATUS-SUBSTRING]
        local code
        code=$(post "$1" "$2" "$T/p.json")
        [ "$code" = "$3" ] || fail "POST $1: HTTP $code, expected $3: $(cat "$T/p.json")"
        [ -z "${4:-}" ] || grep -qF -- "$4" "$T/p.json" || fail "POST $1: $(cat "$T/p.json")"
        if [ "$3" = 200 ]; then
                jq -e '.results == null and .status == "Success"' "$T/p.json" >/dev/null ||
                        fail "POST $1: results should be null: $(cat "$T/p.json")"
        fi
}
rejected() { grep -c "payload rejected" "$T/agent.log" || true; }
k_is() { # k_is NAME [API]: /keys/verify proves the K of shares NAME
        api "/${2:-v2.6}/keys/verify?challenge=$CH" "$T/v.json" >/dev/null
        [ "$(jq -r .results.hmac "$T/v.json")" = "$("$TOOL" hmac "$(cat "$T/$1.k")" "$CH")" ]
}
nothing_left() { # no unzipped/, no temporary directory, nothing escaped
        [ ! -e "$SECURE/unzipped" ] || fail "$1: $SECURE/unzipped exists: $(ls -la "$SECURE/unzipped")"
        [ -z "$(ls -A "$SECURE")" ] || fail "$1: left in $SECURE: $(ls -A "$SECURE")"
        [ ! -e "$T/kl/evil" ] && [ ! -e "$SECURE/evil" ] || fail "$1: an entry escaped"
}

log "secure/ is a tmpfs with mode 0700 (as root) or a 0700 directory"
if [ "$(id -u)" = 0 ]; then
        line=$(awk -v m="$SECURE" '$5 == m' /proc/self/mountinfo | tail -1)
        [[ $line == *" - tmpfs "*"mode=700"* ]] || fail "no tmpfs at $SECURE: '$line'"
fi
[ "$(stat -c %a "$SECURE")" = 700 ] || fail "$SECURE mode $(stat -c %a "$SECURE")"
pass "secure storage ready"

log "a bad auth tag: nothing is decrypted, no bootstrap key"
make_payload bad "$T/marker-bad"
shares bad "$T/bad.zip"
tag=$("$TOOL" hmac "$(cat "$T/bad.k")" "another-uuid")
expect_post /v2.6/keys/ukey "$(jq -c --arg t "$tag" '.auth_tag = $t' <<<"$ukey")" 200
expect_post /v2.6/keys/vkey "$vkey" 200
sleep 2
[ ! -e "$T/marker-bad" ] || fail "payload ran with a bad auth tag"
[ "$(api "/v2.6/keys/verify?challenge=abc" "$T/v.json")" = 400 ] || fail "verify without K"
grep -qF "Bootstrap key not yet available." "$T/v.json" || fail "verify text: $(cat "$T/v.json")"
[ ! -e "$SECURE/unzipped" ] || fail "something was delivered"
pass "bad auth tag refused"

log "U with payload, then V: autorun.sh runs in secure/unzipped; verify proves K"
make_payload p1 "$T/marker-1"
shares p1 "$T/p1.zip"
expect_post /v2.6/keys/ukey "$ukey" 200
[ "$(api "/v2.6/keys/verify?challenge=abc" "$T/v.json")" = 400 ] || fail "verify before V"
expect_post /v2.6/keys/vkey "$vkey" 200
wait_for_file "$T/marker-1" 30 || fail "payload script did not run: $(tail -5 "$T/agent.log")"
[ "$(cat "$T/marker-1")" = "$(realpath "$SECURE")/unzipped" ] || fail "cwd was $(cat "$T/marker-1")"
[ "$(cat "$SECURE/unzipped/data.txt")" = "data of p1" ] || fail "data.txt"
[ "$(xxd -p -c 64 "$SECURE/unzipped/derived_tci_key")" = "$(cat "$T/p1.k")" ] || fail "K file"
[ "$(stat -c %a "$SECURE/unzipped/derived_tci_key")" = 600 ] || fail "K file mode"
cmp -s "$SECURE/unzipped/decrypted_payload" "$T/p1.zip" || fail "decrypted_payload"
CH=Zx81aBc9dE0fGh2iJk3L
[ "$(api "/v2.6/keys/verify?challenge=$CH" "$T/v.json")" = 200 ] || fail "verify: $(cat "$T/v.json")"
[ "$(jq -r .results.hmac "$T/v.json")" = "$("$TOOL" hmac "$(cat "$T/p1.k")" "$CH")" ] ||
        fail "verify HMAC is wrong"
grep -q "payload script autorun.sh exited with status 0" "$T/agent.log" || fail "exit status not logged"
grep -qi "$(cat "$T/p1.k")" "$T/agent.log" && fail "K appears in the log"
pass "U then V: payload ran, K proven"

log "V first, then U (API 2.1)"
make_payload p2 "$T/marker-2"
shares p2 "$T/p2.zip"
expect_post /v2.1/keys/vkey "$vkey" 200
expect_post /v2.1/keys/ukey "$ukey" 200
wait_for_file "$T/marker-2" 30 || fail "payload 2 did not run"
[ "$(cat "$SECURE/unzipped/data.txt")" = "data of p2" ] || fail "payload 2 not in place"
k_is p2 v2.1 || fail "K was not replaced by the newer one"
pass "V then U"

log "another client certificate from the trusted CA cannot replace K (CVE-2021-43310 class)"
issue_client "$T/pki" intruder intruder
OTHER=(--cacert "$T/kl/server-cert.crt" --cert "$T/pki/intruder-cert.crt" --key "$T/pki/intruder-private.pem")
make_payload p3 "$T/marker-3"
shares p3 "$T/p3.zip"
code=$(curl -s -o "$T/p.json" -w '%{http_code}' --max-time 20 "${OTHER[@]}" \
        -H 'Content-Type: application/json' --data-binary "$ukey" "$BASE/v2.6/keys/ukey")
[ "$code" = 200 ] || fail "intruder ukey: HTTP $code"
code=$(curl -s -o "$T/p.json" -w '%{http_code}' --max-time 20 "${OTHER[@]}" \
        -H 'Content-Type: application/json' --data-binary "$vkey" "$BASE/v2.6/keys/vkey")
[ "$code" = 403 ] || fail "intruder vkey: HTTP $code, expected 403: $(cat "$T/p.json")"
grep -q "restart the agent" "$T/p.json" || fail "403 text: $(cat "$T/p.json")"
sleep 1
[ ! -e "$T/marker-3" ] || fail "the intruder's payload ran"
k_is p2 || fail "K was replaced by the intruder's pair"
pass "intruder's U/V pair refused (403), K unchanged"

log "the verifier that delivered V may reset K (re-adding the agent)"
make_payload p4 "$T/marker-4"
shares p4 "$T/p4.zip"
expect_post /v2.6/keys/ukey "$ukey" 200
expect_post /v2.6/keys/vkey "$vkey" 200
wait_for_file "$T/marker-4" 30 || fail "payload 4 did not run"
k_is p4 || fail "K was not replaced by the delivering verifier's new pair"
pass "same verifier replaces K"

log "exact 400s"
expect_post /v2.6/keys/ukey '{"auth_tag":"ab","encrypted_key":"***"}' 400 \
        "Invalid base64 encoding in encrypted_key"
expect_post /v2.6/keys/vkey '{"encrypted_key":"AAAA"}' 400 "Failed to decrypt encrypted_key"
expect_post /v2.6/keys/vkey '{}' 400 "missing field"
[ "$(api "/v2.6/keys/verify?challenge=a-b" "$T/v.json")" = 400 ] &&
        grep -q "Parameters should be strictly alphanumeric" "$T/v.json" || fail "verify a-b"
[ "$(api "/v2.6/keys/verify?challenge=" "$T/v.json")" = 400 ] &&
        grep -q "No challenge provided." "$T/v.json" || fail "verify empty challenge"
pass "ukey/vkey/verify errors"

log "a ukey without a client certificate never reaches the handler"
before=$(grep -c "POST /v2.6/keys/ukey" "$T/agent.log" || true)
curl -s --max-time 10 --cacert "$T/kl/server-cert.crt" -H 'Content-Type: application/json' \
        --data-binary "$ukey" "$BASE/v2.6/keys/ukey" >"$T/nocert.out" 2>&1 &&
        grep -q Success "$T/nocert.out" && fail "a ukey without a certificate was accepted"
sleep 0.5
[ "$(grep -c "POST /v2.6/keys/ukey" "$T/agent.log" || true)" = "$before" ] ||
        fail "the request reached the router"
pass "refused at TLS level"

log "hostile zips are refused and leave nothing in secure/"
mkdir -p "$T/slip/zz" "$T/sym" "$T/bomb"
echo pwned >"$T/slip/zz/evil"
(cd "$T/slip" && zip -q -X ../slip.zip zz/evil)
perl -pi -e 's{zz/evil}{../evil}g' "$T/slip.zip"
ln -s /etc/passwd "$T/sym/autorun.sh"
(cd "$T/sym" && zip -q -X -y ../sym.zip autorun.sh)
dd if=/dev/zero of="$T/bomb/zeros" bs=1M count=20 status=none
(cd "$T/bomb" && zip -q -X -9 ../bomb.zip zeros)
for z in slip sym bomb; do
        n=$(rejected)
        shares "$z" "$T/$z.zip"
        expect_post /v2.6/keys/ukey "$ukey" 200
        expect_post /v2.6/keys/vkey "$vkey" 200
        for _ in $(seq 100); do
                [ "$(rejected)" -gt "$n" ] && break
                sleep 0.1
        done
        [ "$(rejected)" -gt "$n" ] || fail "$z.zip was not rejected: $(tail -5 "$T/agent.log")"
        nothing_left "$z.zip"
done
pass "zip slip, symlink entry and zip bomb refused; nothing left behind"
kill -0 "$AGENT_PID" || fail "agent died"
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true

log "kill -9 during payload delivery, at 6 points: nothing half-written; a restart delivers"
# 384 KiB that does not compress (it and its unzipped copy fit the default 1 MiB
# secure tmpfs): decrypting, writing and unzipping it takes a moment
make_payload big "$T/marker-big"
head -c $((384 * 1024)) /dev/urandom >"$T/big/blob.bin"
(cd "$T/big" && zip -q -X -0 ../big.zip blob.bin)
big_shares() { # the shares of big.zip; the ukey body (too big for an argument) in $T/big.ukey
        local k u v
        read -r k u v < <("$TOOL" split)
        printf '%s' "$k" >"$T/big.k"
        "$TOOL" encrypt-payload "$k" "$T/big.zip" | tr -d '\n' >"$T/big.p"
        jq -cn --arg t "$("$TOOL" hmac "$k" "$UUID")" \
                --arg e "$("$TOOL" oaep-encrypt "$T/nk.pem" "$u")" --rawfile p "$T/big.p" \
                '{auth_tag: $t, encrypted_key: $e, payload: $p}' >"$T/big.ukey"
        vkey=$(jq -cn --arg e "$("$TOOL" oaep-encrypt "$T/nk.pem" "$v")" '{encrypted_key: $e}')
}
deliver_big() { # U (from its file), then V
        local code
        code=$(curl -s -o "$T/p.json" -w '%{http_code}' --max-time 20 "${TLS[@]}" \
                -H 'Content-Type: application/json' --data-binary "@$T/big.ukey" "$BASE/v2.6/keys/ukey")
        [ "$code" = 200 ] || fail "POST ukey (big payload): HTTP $code: $(cat "$T/p.json")"
        expect_post /v2.6/keys/vkey "$vkey" 200
}
whole() { # whole WHEN: agent_data.json is whole JSON; unzipped/ is absent or one whole delivery
        jq -e .ak_public "$T/kl/agent_data.json" >/dev/null || fail "$1: agent_data.json is not whole"
        [ ! -e "$SECURE/unzipped" ] || { cmp -s "$SECURE/unzipped/decrypted_payload" "$T/big.zip" &&
                cmp -s "$SECURE/unzipped/blob.bin" "$T/big/blob.bin" &&
                [ "$(stat -c %s "$SECURE/unzipped/derived_tci_key")" = 32 ]; } ||
                fail "$1: a half-written unzipped/: $(ls -la "$SECURE/unzipped")"
}
n=0
for delay in 0 0.05 0.1 0.2 0.4 0.8; do
        n=$((n + 1))
        start_agent "$T/agent.conf" "$T/kill$n.log"
        big_shares
        deliver_big
        sleep "$delay"
        kill -9 "$AGENT_PID"
        wait "$AGENT_PID" 2>/dev/null || true
        whole "kill -9 after ${delay}s"
done
left=$(find "$SECURE" -maxdepth 1 -name '.unzipped.*' | wc -l)
# what a kill between mkdtemp and rename leaves, whether or not a kill above hit it
mkdir -p "$SECURE/.unzipped.Xk9fQ2"
head -c 1000 "$T/big/blob.bin" >"$SECURE/.unzipped.Xk9fQ2/blob.bin"
rm -f "$T/marker-big"
start_agent "$T/agent.conf" "$T/restart.log"
grep -q "removed $(realpath "$SECURE")/.unzipped.Xk9fQ2: an unfinished payload delivery" \
        "$T/restart.log" || fail "no log line for the unfinished delivery: $(tail -3 "$T/restart.log")"
[ -z "$(find "$SECURE" -maxdepth 1 -name '.unzipped.*')" ] ||
        fail "unfinished deliveries left: $(ls -A "$SECURE")"
big_shares
deliver_big
wait_for_file "$T/marker-big" 60 || fail "payload script did not run: $(tail -5 "$T/restart.log")"
whole "after the restart"
[ "$(xxd -p -c 64 "$SECURE/unzipped/derived_tci_key")" = "$(cat "$T/big.k")" ] ||
        fail "the K file is not the new delivery's"
k_is big || fail "/keys/verify does not prove the new K"
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
pass "6 kill -9s ($left unfinished deliveries caught); each left whole state; the restart cleaned up and delivered"

log "mTLS off with a payload script: the agent refuses to start"
agent_conf "$T/plain.conf" "$T/kl" "$UUID" "port = $APORT" "enable_agent_mtls = false"
must_refuse_start "$T/plain.conf" "$T/plain.log" "enable_insecure_payload"
pass "no payloads without mTLS"

if [ "$(id -u)" = 0 ]; then
        log "a planted mount or symlink at secure/ is refused"
        mkdir -p "$T/kl2/secure" "$T/bindsrc"
        mount --bind "$T/bindsrc" "$T/kl2/secure"
        cp -r "$T/kl/cv_ca" "$T/kl2/"
        agent_conf "$T/spoof.conf" "$T/kl2" "$UUID" "port = $APORT"
        must_refuse_start "$T/spoof.conf" "$T/spoof.log" "not tmpfs"
        mkdir -p "$T/kl3" "$T/elsewhere"
        ln -s "$T/elsewhere" "$T/kl3/secure"
        cp -r "$T/kl/cv_ca" "$T/kl3/"
        agent_conf "$T/link.conf" "$T/kl3" "$UUID" "port = $APORT"
        must_refuse_start "$T/link.conf" "$T/link.log" "symbolic link"
        pass "mount spoof and symlink refused"
else
        skip_part "the mount spoof check needs root"
fi
