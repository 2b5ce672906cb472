#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Garbage to every route of the verifier stub's REST API: each answer is a
# 4xx JSON envelope, and the stub keeps serving. No TPM needed; the
# registrar stub answers 404 for unknown agents.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

U=d432fbb3-d2f1-4a97-9ef7-75bd81c0f001
registrar_start reg
pki_up
verifier_start

# req METHOD PATH [BODY]: prints the HTTP status; the body lands in $T/r.json.
req() {
        if [ $# -ge 3 ]; then
                curl -s -o "$T/r.json" -w '%{http_code}' --max-time 10 "${STUB_TLS[@]}" -X "$1" \
                        -H 'Content-Type: application/json' --data-binary "$3" "$VER_URL$2"
        else
                curl -s -o "$T/r.json" -w '%{http_code}' --max-time 10 "${STUB_TLS[@]}" -X "$1" "$VER_URL$2"
        fi
}
expect4xx() { # METHOD PATH [BODY]
        local code
        code=$(req "$@")
        [[ $code == 4?? ]] || fail "$1 $2: HTTP $code, expected 4xx: $(head -c 300 "$T/r.json")"
        jq -e --argjson c "$code" '.code == $c and (.status | type == "string")' "$T/r.json" \
                >/dev/null || fail "$1 $2: not a JSON envelope: $(head -c 300 "$T/r.json")"
}

log "bad bodies to POST /agents/{id}"
big=$(head -c 100000 /dev/zero | tr '\0' 'a')
for body in '' 'null' '[]' '{' '{"ip":' '"x"' '{"port":-1}' '{"port":1e9}' '{"port":"99999"}' \
        '{"ip":"a b c"}' '{"ip":{}}' '{"tpm_policy":7}' '{"tpm_policy":{"x":"00"}}' \
        '{"tpm_policy":{"23":"zz"}}' '{"tpm_policy":{"23":["00"]}}' '{"tpm_policy":"{"}' \
        '{"tpm_policy":{"16":"0000000000000000000000000000000000000000000000000000000000000000"}}' \
        '{"tpm_policy":{"hash_alg":"md5"}}' '{"ima_policy":7}' '{"ima_policy":"{"}' \
        '{"mb_policy":[1,2]}' '{"mb_policy":{"sha256":{"0":"00"}}}' \
        "{\"ip\":\"$big\"}" "$(printf '%.0s[' $(seq 100))" $'\xff\xfe{}' \
        '{"ip":"127.0.0.1","port":9002}'; do
        expect4xx POST "/v2.6/agents/$U" "$body"
done
pass "add refuses malformed bodies (and unknown agents: 404 from the registrar lookup)"

log "bad paths, ids, versions and methods"
for p in "/v2.6/agents/bad%20id" "/v2.6/agents/$(printf 'a%.0s' $(seq 81))" "/v2.6/agents/$U" \
        "/v9.9/agents/$U" "/v2.6/nothing" "/" "/v2.6/agents/$U/extra" "/vx/agents"; do
        expect4xx GET "$p"
        expect4xx DELETE "$p"
done
expect4xx PUT "/v2.6/agents/$U" '{}'
expect4xx PATCH "/v2.6/agents/"
expect4xx POST "/version" '{}'
expect4xx POST "/v2.6/agents/" '{}'
pass "routes refuse with 4xx envelopes"

log "a slow client and a huge body do not stop the server"
# a client that connects and never finishes its TLS handshake (writing to it could
# raise SIGPIPE here once the server gives up on it)
exec {fd}<>"/dev/tcp/127.0.0.1/${VER_URL##*:}"
# (sent whole, without waiting for 100-continue: the 413 must still be read)
code=$(head -c $((9 * 1024 * 1024)) /dev/zero | curl -s -o /dev/null -w '%{http_code}' \
        --max-time 20 "${STUB_TLS[@]}" -X POST -H 'Expect:' --data-binary @- "$VER_URL/v2.6/agents/$U")
[ "$code" = 413 ] || fail "9 MiB body: HTTP $code"
exec {fd}>&-
[ "$(req GET /version)" = 200 ] || fail "verifier stopped serving"
jq -e '.results.supported_versions | index("2.6")' "$T/r.json" >/dev/null || fail "/version"
[ "$(req GET /v2.6/agents/)" = 200 ] || fail "list failed"
jq -e '.results.uuids == []' "$T/r.json" >/dev/null || fail "an agent was added by garbage"
kill -0 "$VER_PID" || fail "verifier died"
pass "still serving"

log "subcommands refuse bad options before any request"
vstub add --uuid "$U" --pcr sha256:16:00 2>"$T/e" && fail "--pcr on PCR 16 accepted"
vstub add --uuid "$U" --pcr "sha1:1:$(printf '%040d' 0)" --pcr "sha256:2:$ZERO64" 2>"$T/e" &&
        fail "two banks accepted"
vstub add --uuid "bad id" 2>"$T/e" && fail "bad uuid accepted"
vstub status --uuid "$U" 2>"$T/e" && fail "status of an unknown agent succeeded"
"$VERIFIER_BIN" serve --interval 0 2>/dev/null && fail "--interval 0 accepted"
"$VERIFIER_BIN" --help >"$T/help" # not into grep -q: an early exit would SIGPIPE the stub
grep -q -- "--pcr BANK:INDEX:HEX" "$T/help" || fail "--help lacks --pcr"
pass "option checks"
