#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The registrar stub under hostile input: garbage, truncated JSON, wrong
# types, huge bodies, bad agent IDs, bad base64, unknown paths and wrong
# methods on every route. Each answer must carry the expected 4xx code and a
# JSON envelope with the same code, and the stub must survive all of it.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

registrar_start reg --log-level debug
ID=5e600bce-a5cb-4f5f-b9a1-0e1c2d3e4f50
V=v2.6
N=0

# expect CODE METHOD PATH [CURL ARGS...]: one request, checked code and envelope.
expect() {
        local want=$1 method=$2 path=$3 code url=$REG_URL tls=()
        shift 3
        # reads and deletes are served on the mTLS listener only (stub_auth.sh tests that)
        case $method in GET | DELETE) url=$REG_TLS_URL tls=("${STUB_TLS[@]}") ;; esac
        rm -f -- "$T/body"
        code=$(curl -s -o "$T/body" -w '%{http_code}' "${tls[@]}" -X "$method" "$@" \
                "$url$path") || true
        touch "$T/body"
        [ "$code" = "$want" ] ||
                fail "$method $path -> $code, want $want: $(head -c 300 "$T/body")"
        jq -e --argjson c "$want" \
                '(.code == $c) and (.status | type == "string") and (.results | type == "object")' \
                "$T/body" >/dev/null ||
                fail "$method $path -> $code without a JSON envelope: $(head -c 300 "$T/body")"
        N=$((N + 1))
}

# post_json CODE METHOD PATH BODY
send() {
        expect "$1" "$2" "$3" -H 'Content-Type: application/json' --data-binary "$4"
}

log "version and routing"
expect 200 GET /version
expect 405 POST /version
expect 405 DELETE /version
expect 404 GET /
expect 404 GET /foo
expect 404 GET /v2.6
expect 404 GET /v2.6/
expect 404 GET /v2.6/foo
expect 404 GET "/v2.6/agents/$ID/extra"
expect 404 PUT "/v2.6/agents/$ID/activate/x"
expect 404 GET /vx/agents
expect 400 GET /v9/agents
expect 400 GET /v2.7/agents
expect 400 GET /v1.0/agents
expect 400 POST "/v3.0/agents/$ID"
expect 400 GET /v2.60/agents
for v in v2 v2.0 v2.1 v2.5 v2.6; do
        expect 200 GET "/$v/agents/"
done
expect 200 GET "/$V/agents"
expect 200 GET "/$V/agents/?x=%00&y=1&&&"

log "wrong methods"
expect 405 PATCH "/$V/agents/$ID"
expect 405 HEAD_ "/$V/agents/$ID"
expect 405 DELETE "/$V/agents"
expect 405 PUT "/$V/agents"
expect 405 GET "/$V/agents/$ID/activate"
expect 405 DELETE "/$V/agents/$ID/activate"
expect 405 OPTIONS "/$V/agents/"

log "bad agent IDs on every route"
for bad in 'bad%21id' 'a%20b' "$(printf 'x%.0s' {1..81})" 'id%00x' '%C3%A9t%C3%A9'; do
        send 400 POST "/$V/agents/$bad" '{}'
        send 400 PUT "/$V/agents/$bad" '{"auth_tag":"00"}'
        send 400 PUT "/$V/agents/$bad/activate" '{"auth_tag":"00"}'
        send 400 POST "/$V/agents/$bad/activate" '{"auth_tag":"00"}'
        expect 400 GET "/$V/agents/$bad"
        expect 400 DELETE "/$V/agents/$bad"
done
expect 404 GET "/$V/agents/%2e%2e%2fetc"
send 400 POST "/$V/agents" '{"agent_id": "bad id"}'
send 400 POST "/$V/agents" '{"agent_id": 5}'
send 400 POST "/$V/agents" '{"aik_tpm": "AAAA"}'

log "register: garbage, truncated JSON, wrong types, bad base64"
AIK=ARgAAQALAAUAcgAAABAAFAALCAAAAAAAAQCg5mMzNFqdlUbW8uI/GuMcIIvOXXTohHFTas59JlwrJQVed+5klWP+j7tI7492YPmCnoZvP4T4YdT1PN7tHHGfF81AeMnuw5GV5RkW/QeSD+ssB4f6AfuzYJgBkc28zKmpRRHUbwN4rb/HnJgRXdXsuIcnOqGcC39pD0kiu5TrN6hekjxTQtfAbIlQwwDwHCxKWdtH5x7avd15hqc6cBc2gjTQksXrk+OiMwOFTJ68n0qY+dQYuBTjE66YXn9S8cdU9sbjCTSdLRqFEpAyfkSV8F2An7N3DWNIA+PW/mVmd8XhPeYUoMlweXBOwc3e9zM9lZmMvregrFHKYc7CXChz
P="/$V/agents/$ID"
for body in '' 'garbage' '{' '{"aik_tpm": "AAA' '[]' '"str"' '42' 'null' '{}' '{"a":1}{}' \
        '{"aik_tpm": 5, "ek_tpm": []}' '{"aik_tpm": null}' '{"aik_tpm": {"x": 1}}' \
        '{"aik_tpm": "!!!!", "ek_tpm": "!!!!"}' '{"aik_tpm": "AAAA", "ek_tpm": "AAAA"}' \
        "{\"aik_tpm\": \"$AIK\"}" "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"\"}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"0xZZ\"}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"${AIK:0:100}\"}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"ekcert\": \"not a cert\"}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"ekcert\": 7}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"ekcert\": \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"port\": \"http\"}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"port\": 70000}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"port\": -1}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"port\": 1.5}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"ip\": 127}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"mtls_cert\": \"enabled\"}" \
        "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"mtls_cert\": false}" \
        "$(printf '[%.0s' {1..5000})" "$(printf '{"a":%.0s' {1..100})1$(printf '}%.0s' {1..100})" \
        $'{"aik_tpm": "\xff\xfe"}' '{"aik_tpm": "\u0000"}'; do
        send 400 POST "$P" "$body"
        send 400 POST "/$V/agents" "$body"
done
# An EK that is a signing key parses but cannot take a credential: refused, not crashed.
send 400 POST "$P" "{\"aik_tpm\": \"$AIK\", \"ek_tpm\": \"$AIK\", \"port\": \"9002\"}"

log "activate: garbage, wrong types, unknown agent"
for path in "/$V/agents/$ID" "/$V/agents/$ID/activate"; do
        for method in PUT POST; do
                [ "$method/$path" = "POST//$V/agents/$ID" ] && continue
                for body in '' 'garbage' '{' '[]' '{}' '{"auth_tag": 5}' '{"auth_tag": null}' \
                        '{"auth_tag": ["a"]}' "{\"auth_tag\": \"$(printf 'a%.0s' {1..300})\"}"; do
                        send 400 "$method" "$path" "$body"
                done
                send 404 "$method" "$path" "{\"auth_tag\": \"$(printf '0%.0s' {1..96})\"}"
                send 404 "$method" "$path" '{"auth_tag": "zz"}'
        done
done

log "show, delete: unknown agent"
expect 404 GET "/$V/agents/$ID"
expect 404 DELETE "/$V/agents/$ID"

log "huge bodies on every body route: 413"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'A' >"$T/huge"
for path in "/$V/agents/$ID" "/$V/agents" "/$V/agents/$ID/activate"; do
        for method in POST PUT; do
                [ "$method $path" = "PUT /$V/agents" ] && continue
                expect 413 "$method" "$path" --data-binary "@$T/huge"
                expect 413 "$method" "$path" -H 'Transfer-Encoding: chunked' \
                        --data-binary "@$T/huge"
        done
done
# Just over the cap, without Expect: 100-continue: the client sends the whole
# body at once; the server drains it, so the 413 is read, never lost to a reset.
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '{' >"$T/over"
expect 413 POST "/$V/agents/$ID" -H 'Expect:' --data-binary "@$T/over"
expect 413 PUT "/$V/agents/$ID/activate" -H 'Expect:' --data-binary "@$T/huge"

log "still alive"
expect 200 GET /version
kill -0 "$REG_PID" || fail "registrar stub died"
grep -q "AddressSanitizer\|runtime error" "$T/reg.log" && fail "sanitizer report in the stub log"
kill -TERM "$REG_PID"
rc=0
wait "$REG_PID" || rc=$?
[ "$rc" = 0 ] || fail "stub exited with $rc on SIGTERM"
KL_PIDS=()
grep -q "shutting down" "$T/reg.log" || fail "no clean shutdown in the log"
pass "$N malformed requests answered with the right 4xx and a JSON envelope; stub survived"
