# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers for the push-model tests: an agent in push mode (api_versions = 3.0,
# no server port) reporting to the verifier stub in push mode. Sourced after
# lib.sh and verifier_lib.sh.

# push_agent_start NAME TCTI UUID [EXTRA TOML LINES...]: sets NAME_PID; log $T/NAME.log.
push_agent_start() {
        local name=$1 tcti=$2 uuid=$3 pid
        shift 3
        mkdir -p "$T/$name/cv_ca"
        cp "$T/pki/cacert.crt" "$T/$name/cv_ca/cacert.crt"
        agent_conf "$T/$name.conf" "$T/$name" "$uuid" 'api_versions = "3.0"' \
                "verifier_url = \"$VER_URL\"" "$@"
        TCTI=$tcti KEYLIME_AGENT_CONFIG=$T/$name.conf "$AGENT_BIN" --log-level debug \
                >>"$T/$name.log" 2>&1 &
        pid=$!
        KL_PIDS+=("$pid")
        printf -v "${name}_PID" '%s' "$pid"
}

# wait_log FILE PATTERN [SECONDS] [MIN]: until FILE has at least MIN (1) lines matching PATTERN.
wait_log() {
        local f=$1 pat=$2 secs=${3:-20} min=${4:-1} i
        for ((i = 0; i < secs * 10; i++)); do
                [ "$(grep -c -- "$pat" "$f" 2>/dev/null || true)" -ge "$min" ] && return 0
                sleep 0.1
        done
        fail "no '$pat' (x$min) in $f after ${secs}s: $(tail -5 "$f")"
}
