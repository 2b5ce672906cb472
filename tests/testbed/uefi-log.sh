#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Binary UEFI event logs for the test bed: make a software TPM's PCRs match a log, and write the
# measured-boot policy our verifier expects for it.
#
#   uefi-log.sh replay STATE_DIR LOG   extend every event of LOG except EV_NO_ACTION, with all
#                                      its digests, into the TPM of STATE_DIR (start from reset
#                                      PCRs: extends add up)
#   uefi-log.sh policy LOG             mb policy JSON for PCRs 0-7 (libkl's replay, through
#                                      kl_evidence_tool: $KL_EVIDENCE, else $KL_BUILD_DIR/tests/)
#
# replay reads the log with tpm2_eventlog rather than libkl, so the integration test compares
# two independent parsers. A log with a StartupLocality event needs PCR 0 to start at 00..03,
# which an extend cannot give, so replay refuses it. PCRs 17-22 cannot be extended from
# locality 0; replay refuses those too.
set -euo pipefail

die() {
        echo "uefi-log.sh: $*" >&2
        exit 1
}

cmd_replay() {
        local sd=$1 logf=$2 out spec i
        local -a specs=()
        [ -r "$sd/env" ] || die "replay: no $sd/env (is the TPM up?)"
        # shellcheck source=/dev/null
        . "$sd/env"
        export TPM2TOOLS_TCTI
        out=$(tpm2_eventlog "$logf") || die "replay: tpm2_eventlog cannot parse $logf"
        # tpm2_eventlog shows the event data as text or hex, depending on the version
        if grep -qiE 'StartupLocality|537461727475704c6f63616c697479' <<<"$out"; then
                die "replay: $logf has a StartupLocality event (PCR 0 must start at 00..03)"
        fi
        # one "PCR:alg=hex,alg=hex" spec per measured event; Digest lines count only right
        # after an AlgorithmId line, so event bodies cannot inject digests
        mapfile -t specs < <(awk '
                /^- EventNum: / { pcr = ""; type = ""; d = ""; alg = "" }
                /^  PCRIndex: / { pcr = $2 }
                /^  EventType: / { type = $2 }
                /^  - AlgorithmId: / { alg = $3; next }
                /^    Digest: / && alg != "" {
                        v = $2; gsub(/"/, "", v)
                        d = d (d == "" ? "" : ",") alg "=" v
                }
                { if ($0 !~ /^  - AlgorithmId: /) alg = "" }
                /^  EventSize: / {
                        if (type != "EV_NO_ACTION" && d != "") {
                                if (pcr >= 17 && pcr <= 22) { print "BAD " pcr; exit }
                                print pcr ":" d
                        }
                }' <<<"$out")
        for spec in "${specs[@]}"; do
                [[ $spec != BAD* ]] || die "replay: an event extends PCR ${spec#BAD } (locality 0 cannot)"
        done
        # 32 events per tpm2_pcrextend process
        for ((i = 0; i < ${#specs[@]}; i += 32)); do
                tpm2_pcrextend "${specs[@]:i:32}" >/dev/null
        done
}

cmd_policy() {
        local tool=${KL_EVIDENCE:-${KL_BUILD_DIR:+$KL_BUILD_DIR/tests/kl_evidence_tool}}
        if [ -z "$tool" ] || [ ! -x "$tool" ]; then
                die "policy: set KL_EVIDENCE or KL_BUILD_DIR"
        fi
        "$tool" mb-policy "$1"
}

case ${1:-} in
replay) [ $# = 3 ] || die "usage: replay STATE_DIR LOGFILE"; cmd_replay "$2" "$3" ;;
policy) [ $# = 2 ] || die "usage: policy LOGFILE"; cmd_policy "$2" ;;
*) die "usage: uefi-log.sh replay|policy ..." ;;
esac
