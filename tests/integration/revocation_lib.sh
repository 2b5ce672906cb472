# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers shared by the revocation tests: an actions directory with a marker
# action, crafted notice frames, waiting for the marker. Sourced after
# verifier_lib.sh.
ZMQ_PUB=$KL_BUILD_DIR/tests/kl_zmq_pub

# actions_up: $T/actions/marker_action appends "<agent_id> <event_id>" of the
# event file it is given to $T/marker (written whole, then renamed).
actions_up() {
        mkdir -p "$T/actions"
        cat >"$T/actions/marker_action" <<EOS
#!/bin/sh
line=\$(jq -r '"\(.agent_id) \(.event_id)"' "\$1") || exit 1
printf '%s\n' "\$line" >>"$T/marker.tmp" && cp "$T/marker.tmp" "$T/marker.new" &&
        mv "$T/marker.new" "$T/marker"
EOS
        chmod 0755 "$T/actions/marker_action"
}

# wait_marker UUID SECONDS: until $T/marker names UUID.
wait_marker() {
        local i
        for ((i = 0; i < $2 * 20; i++)); do
                grep -q "^$1 " "$T/marker" 2>/dev/null && return 0
                sleep 0.05
        done
        fail "no action marker for $1 after $2 s: $(grep -i revocation "$T"/*.log | tail -8)"
}

# crafted_frames DIR: notices an agent must drop (it trusts the PKI's
# RevocationNotifier certificate, not the upstream test certificate).
crafted_frames() {
        local d=$1 vec=$KL_SOURCE_DIR/tests/data/revocation/revocation-message.json
        mkdir -p "$d"
        cp "$vec" "$d/wrong_cert"
        jq -c --arg s "$(head -c 256 /dev/urandom | base64 -w0)" '.signature = $s' "$vec" >"$d/forged"
        jq -c '.signature = ""' "$vec" >"$d/unsigned"
        head -c 200 "$vec" >"$d/truncated"
        printf 'hello, not json' >"$d/not_json"
        # 2 MiB: above the listener's ZMQ_MAXMSGSIZE (1 MiB), dropped by ZeroMQ itself
        head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$d/huge"
}

