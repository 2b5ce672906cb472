#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/fleet.sh [--quick] [--build-dir DIR] [--sizes "N ..."] [--duration S]
# [--interval S]: the verifier stub holding a fleet of simulated agents
# (tests/tools/fleet, kl_fleet) on loopback, one run per size. For each N it
# starts a fresh registrar stub and verifier stub in a private temp dir,
# registers and adds N agents (one of each bad mode among them), holds them for
# --duration seconds and prints one markdown row: poll lateness (p50/p99/max
# beyond the interval, seen by the agents), verifier CPU per verified quote,
# verifier RSS, time from an agent going bad to its flag, and the registrar
# stub's registrations/s. Benchmarks, not tests: no thresholds.
#
# With KEYLIME_REGISTRAR_URL (a running Keylime registrar's agent port,
# http://HOST:PORT) the same kind of agents register there too and a second
# registrations/s figure is printed. With KEYLIME_VERIFIER_URL (a running
# Keylime verifier, https://HOST:PORT, pull mode, quote_interval = --interval),
# KEYLIME_CV_CA (its cv_ca directory) and KEYLIME_VERIFIER_PID (its main
# process), the same agents are attested by it at each size in
# KEYLIME_VERIFIER_SIZES (default: the first size), added as its tenant adds
# them, and a second table compares it; its CPU and memory are summed over its
# process group (it forks workers). Stops exactly what it started.
#
# --quick: 50 agents for 15 s (a smoke test). Defaults: sizes "200 1000",
# 60 s, interval 2 s.
set -euo pipefail

src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
build= sizes="200 1000" duration=60 interval=2
while [ $# -gt 0 ]; do
        case $1 in
        --quick) sizes=50 duration=15 ;;
        --build-dir | --sizes | --duration | --interval)
                [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
                case $1 in
                --build-dir) build=$2 ;;
                --sizes) sizes=$2 ;;
                --duration) duration=$2 ;;
                --interval) interval=$2 ;;
                esac
                shift
                ;;
        -h | --help)
                sed -n '3,24p' "$0" | sed 's/^# \{0,1\}//'
                exit 0
                ;;
        *) echo "usage: bench/fleet.sh [--quick] [--build-dir DIR] [--sizes \"N ...\"]" \
                "[--duration S] [--interval S]" >&2; exit 2 ;;
        esac
        shift
done
if [ -z "$build" ]; then
        build=$src/bench-build
        "$src/scripts/build.sh" "$build" >&2
fi
build=$(cd -- "$build" && pwd -P)
REGISTRAR=$build/registrar-stub/keylime_registrar_stub
VERIFIER=$build/verifier-stub/keylime_verifier_stub
FLEET=$build/tests/kl_fleet
for b in "$REGISTRAR" "$VERIFIER" "$FLEET"; do
        [ -x "$b" ] || { echo "fleet.sh: $b not built (KL_BUILD_TESTS=ON?)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "fleet.sh: needs jq" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/kl-fleet-bench.XXXXXX")
PIDS=()
cleanup() {
        local p
        for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
        rm -rf -- "$T"
}
trap cleanup EXIT
die() { echo "fleet.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }

"$src/certs/make-pki.sh" "$T/pki" 2>/dev/null || die "make-pki.sh failed"
VTLS=(--ca "$T/pki/cacert.crt" --client-cert "$T/pki/client-cert.crt"
        --client-key "$T/pki/client-private.pem")

wait_file() { # wait_file FILE LOG
        for _ in $(seq 200); do
                [ -s "$1" ] && return 0
                sleep 0.05
        done
        die "no $1: $(tail -3 "$2")"
}

# start_registrar DIR: a fresh registrar stub; sets REG_PID
start_registrar() {
        mkdir -p "$1"
        "$REGISTRAR" --listen 127.0.0.1:0 --port-file "$1/reg.port" --db "$1/reg.sqlite" \
                --tls-listen 127.0.0.1:0 --tls-port-file "$1/reg.tlsport" \
                --tls-cert "$T/pki/server-cert.crt" --tls-key "$T/pki/server-private.pem" \
                --client-ca "$T/pki/cacert.crt" --log-level warn >"$1/reg.log" 2>&1 &
        REG_PID=$!
        PIDS+=("$REG_PID")
        wait_file "$1/reg.port" "$1/reg.log"
}

# one_size N: registrar and verifier stubs, the fleet, one row into $T/rows.md
one_size() {
        local n=$1 d=$T/n$1 reg_pid ver_pid fleet_rc=0 s
        start_registrar "$d"
        reg_pid=$REG_PID
        "$VERIFIER" serve --listen 127.0.0.1:0 --port-file "$d/ver.port" --db "$d/ver.sqlite" \
                --registrar "https://127.0.0.1:$(cat "$d/reg.tlsport")" "${VTLS[@]}" \
                --tls-cert "$T/pki/server-cert.crt" --tls-key "$T/pki/server-private.pem" \
                --interval "$interval" --max-retries 1 --revocation-pub "" \
                --log-level warn >"$d/ver.log" 2>&1 &
        ver_pid=$!
        PIDS+=("$ver_pid")
        wait_file "$d/ver.port" "$d/ver.log"
        say "$n agents, interval $interval s, held $duration s"
        "$FLEET" --agents "$n" --registrar "http://127.0.0.1:$(cat "$d/reg.port")" \
                --verifier "https://127.0.0.1:$(cat "$d/ver.port")" "${VTLS[@]}" \
                --interval "$interval" --bad wrong-pcr:1 --bad bad-sig:1 --bad stale-nonce:1 \
                --bad silent:1 --duration "$duration" --watch-pid "$ver_pid" \
                --report "$d/report.jsonl" 2>"$d/fleet.log" || fleet_rc=$?
        kill "$ver_pid" "$reg_pid" 2>/dev/null || true
        wait "$ver_pid" "$reg_pid" 2>/dev/null || true
        [ "$fleet_rc" = 0 ] || die "kl_fleet failed ($n agents): $(tail -3 "$d/fleet.log")"
        s=$(jq -c 'select(.summary)' "$d/report.jsonl")
        flag() { jq -r "select(.mode == \"$1\") | if .flag_ms < 0 then \"-\" else .flag_ms end" \
                "$d/report.jsonl" | head -1; }
        good_ok=$(jq -s '[.[] | select(.mode == "good" and .state == "Get Quote")] | length' \
                "$d/report.jsonl")
        jq -r --arg good "$good_ok" --arg wp "$(flag wrong-pcr)" --arg bs "$(flag bad-sig)" \
                --arg sn "$(flag stale-nonce)" --arg si "$(flag silent)" '
                def ms: if . < 0 then "-" else tostring end;
                "| \(.agents) | \(.interval_ms / 1000) | \($good)/\(.agents - 4) | \(.quotes) | " +
                "\(.late_p50_ms | ms) / \(.late_p99_ms | ms) / \(.late_max_ms | ms) | " +
                (if .quotes > 0 and .watch_cpu_s >= 0
                 then "\(.watch_cpu_s * 1e6 / .quotes | floor)" else "-" end) + " | " +
                "\((.watch_rss_kib / 1024 * 10 | floor) / 10) | " +
                "\((.watch_hwm_kib / 1024 * 10 | floor) / 10) | " +
                "\($wp) / \($bs) / \($sn) / \($si) | \(.registrations_per_s) | " +
                "\((.sim_cpu_s * 1e6 / (if .quotes > 0 then .quotes else 1 end)) | floor) |"' \
                <<<"$s" >>"$T/rows.md"
}

: >"$T/rows.md"
for n in $sizes; do
        one_size "$n"
done

real_reg=
if [ -n "${KEYLIME_REGISTRAR_URL:-}" ]; then
        n=${sizes%% *}
        say "$n agents registering at $KEYLIME_REGISTRAR_URL"
        "$FLEET" --agents "$n" --registrar "$KEYLIME_REGISTRAR_URL" --base-ip 127.2.0.1 \
                --duration 1 --report "$T/real-reg.jsonl" 2>"$T/real-reg.log" ||
                die "registration at $KEYLIME_REGISTRAR_URL failed: $(tail -3 "$T/real-reg.log")"
        real_reg=$(jq -r 'select(.summary) | .registrations_per_s' "$T/real-reg.jsonl")
fi

# group_usage PID: "CPU-seconds PSS-KiB" summed over PID's process group
group_usage() {
        local pgid cpu=0 pss=0 p st
        pgid=$(ps -o pgid= -p "$1" | tr -d ' ') || die "no process $1"
        for p in $(ps -eo pid=,pgid= | awk -v g="$pgid" '$2 == g { print $1 }'); do
                st=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
                cpu=$((cpu + ${st% *} + ${st#* }))
                pss=$((pss + $(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
        done
        echo "$((cpu * 1000 / $(getconf CLK_TCK))) $pss"
}

# keylime_add UUID: what keylime_tenant -c add posts, for one simulated agent
# (its AK and mTLS certificate read back from the registrar stub; no V key)
keylime_add() {
        local rec
        rec=$(curl -sf --cacert "$T/pki/cacert.crt" --cert "$T/pki/client-cert.crt" \
                --key "$T/pki/client-private.pem" "$KREG/v2.6/agents/$1") || return 1
        jq -n --argjson r "$rec" --rawfile tp "$T/k-tpm-policy" --rawfile rp "$T/k-runtime-policy" '{
                cloudagent_ip: $r.results.ip, cloudagent_port: $r.results.port,
                tpm_policy: $tp, runtime_policy: $rp, runtime_policy_name: null,
                runtime_policy_key: null, mb_policy: null, mb_policy_name: "",
                ima_sign_verification_keys: "", metadata: "{}", revocation_key: "",
                accept_tpm_hash_algs: ["sha512", "sha384", "sha256"],
                accept_tpm_encryption_algs: ["ecc", "rsa"],
                accept_tpm_signing_algs: ["ecdsa", "rsassa", "rsapss"],
                ak_tpm: $r.results.aik_tpm, mtls_cert: $r.results.mtls_cert,
                supported_version: "2.6"}' |
                curl -sf -o /dev/null --cacert "$KEYLIME_CV_CA/cacert.crt" \
                        --cert "$KEYLIME_CV_CA/client-cert.crt" \
                        --key "$KEYLIME_CV_CA/client-private.pem" -H 'Content-Type: application/json' \
                        --data-binary @- "$KEYLIME_VERIFIER_URL/v2.6/agents/$1"
}

# keylime_size N: N simulated agents attested by the Keylime verifier; one row into $T/krows.md
keylime_size() {
        local n=$1 d=$T/k$1 fleet_pid u0 u1 t0 t1 pss added=0 good
        start_registrar "$d"
        KREG=https://127.0.0.1:$(cat "$d/reg.tlsport")
        say "$n agents attested by the Keylime verifier at $KEYLIME_VERIFIER_URL"
        "$FLEET" --agents "$n" --registrar "http://127.0.0.1:$(cat "$d/reg.port")" \
                --base-ip 127.3.0.1 --ca "$KEYLIME_CV_CA/cacert.crt" --interval "$interval" \
                --ready-file "$d/ready" --report "$d/report.jsonl" 2>"$d/fleet.log" &
        fleet_pid=$!
        PIDS+=("$fleet_pid")
        while [ ! -s "$d/ready" ]; do
                kill -0 "$fleet_pid" 2>/dev/null || die "kl_fleet failed: $(tail -3 "$d/fleet.log")"
                sleep 0.2
        done
        read -r u0 _ < <(group_usage "$KEYLIME_VERIFIER_PID")
        t0=$(date +%s%3N)
        curl -sf --cacert "$T/pki/cacert.crt" --cert "$T/pki/client-cert.crt" \
                --key "$T/pki/client-private.pem" "$KREG/v2.6/agents/" | jq -r '.results.uuids[]' \
                >"$d/uuids" || die "cannot list the registrar stub's agents"
        export -f keylime_add
        export T KREG KEYLIME_VERIFIER_URL KEYLIME_CV_CA
        # four at a time, as several tenants would
        xargs -P 4 -I{} bash -c 'keylime_add {} && echo {}' <"$d/uuids" >"$d/added" || true
        added=$(wc -l <"$d/added")
        [ "$added" = "$n" ] || say "only $added of $n agents were added"
        sleep "$duration"
        read -r u1 pss < <(group_usage "$KEYLIME_VERIFIER_PID")
        t1=$(date +%s%3N)
        kill "$fleet_pid"
        wait "$fleet_pid" || die "kl_fleet failed: $(tail -3 "$d/fleet.log")"
        # upstream's numeric state 3 is Get Quote: every agent must still be in it
        good=$(xargs -P 4 -I{} curl -sf "${KTLS[@]}" "$KEYLIME_VERIFIER_URL/v2.6/agents/{}" \
                <"$d/added" | jq -s '[.[] | select(.results.operational_state == 3)] | length')
        xargs -P 4 -I{} curl -sf -o /dev/null -X DELETE "${KTLS[@]}" \
                "$KEYLIME_VERIFIER_URL/v2.6/agents/{}" <"$d/added" || true
        jq -r --arg added "$added" --arg good "$good" --arg cpu_ms "$((u1 - u0))" --arg pss "$pss" \
                --arg run_ms "$((t1 - t0))" '
                def ms: if . < 0 then "-" else tostring end;
                select(.summary) |
                "| \(.agents) | \($added) | \($good) | \(.quotes) | " +
                "\(.quotes * 1000 / ($run_ms | tonumber) * 10 | floor / 10) | " +
                "\(.late_p50_ms | ms) / \(.late_p99_ms | ms) / \(.late_max_ms | ms) | " +
                (if .quotes > 0 then "\(($cpu_ms | tonumber) * 1000 / .quotes | floor)" else "-" end) +
                " | \(($pss | tonumber) / 1024 * 10 | floor / 10) |"' "$d/report.jsonl" >>"$T/krows.md"
}

: >"$T/krows.md"
if [ -n "${KEYLIME_VERIFIER_URL:-}" ]; then
        if [ -z "${KEYLIME_CV_CA:-}" ] || [ -z "${KEYLIME_VERIFIER_PID:-}" ]; then
                die "KEYLIME_VERIFIER_URL needs KEYLIME_CV_CA and KEYLIME_VERIFIER_PID"
        fi
        KTLS=(--cacert "$KEYLIME_CV_CA/cacert.crt" --cert "$KEYLIME_CV_CA/client-cert.crt"
                --key "$KEYLIME_CV_CA/client-private.pem")
        "$FLEET" --print-policies >"$T/policies" || die "kl_fleet --print-policies failed"
        # upstream's shapes: a PCR list with a mask (PCR 10 for IMA), a whole runtime policy
        mask=$((1 << 10))
        for p in $(sed -n 1p "$T/policies" | jq -r 'del(.hash_alg) | keys[]'); do
                mask=$((mask | 1 << p))
        done
        sed -n 1p "$T/policies" | jq -c --arg mask "$(printf '0x%x' "$mask")" \
                'del(.hash_alg) | map_values([.]) + {mask: $mask}' >"$T/k-tpm-policy"
        sed -n 2p "$T/policies" | jq -c '{meta: {version: 1, generator: 2}, release: 0,
                digests, excludes, keyrings: {}, ima: {ignored_keyrings: [], log_hash_alg: "sha1",
                dm_policy: null}, "ima-buf": {}, "verification-keys": ""}' | base64 -w0 \
                >"$T/k-runtime-policy"
        for n in ${KEYLIME_VERIFIER_SIZES:-${sizes%% *}}; do
                keylime_size "$n"
        done
fi

echo "# Fleet benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo -)"
echo "- machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- agents: software EK (P-256), AK P-256 (every 8th RSA-2048), mTLS, IMA policy over a log"
echo "  growing one line per quote, PCR 15 policy; verifier stub --max-retries 1"
echo
echo "| agents | interval (s) | good in Get Quote | quotes | lateness p50 / p99 / max (ms) |" \
        "verifier CPU per quote (us) | verifier RSS (MiB) | peak (MiB) |" \
        "time to flag (ms): wrong PCR / bad sig / stale nonce / silent |" \
        "registrar stub registrations/s | simulator CPU per quote (us) |"
echo "|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|"
cat "$T/rows.md"
if [ -s "$T/krows.md" ]; then
        echo
        echo "Keylime verifier at $KEYLIME_VERIFIER_URL, the same simulated agents (no bad ones)," \
                "added 4 at a time as tenants would; CPU and PSS of all its processes"
        echo
        echo "| agents | added | in Get Quote | quotes | quotes/s | lateness p50 / p99 / max (ms) |" \
                "verifier CPU per quote (us) | verifier PSS (MiB) |"
        echo "|---:|---:|---:|---:|---:|---|---:|---:|"
        cat "$T/krows.md"
fi
if [ -n "$real_reg" ]; then
        echo
        echo "Keylime registrar at $KEYLIME_REGISTRAR_URL: $real_reg registrations/s" \
                "(stub: $(head -1 "$T/rows.md" | awk -F'|' '{print $11}' | tr -d ' ')/s, same agents)"
fi
