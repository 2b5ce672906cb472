#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the agent and the registrar stub refuse: another TPM claiming a known
# ID (403), an EK certificate from an unknown CA, a TPM without an EK
# certificate when one is required, and a TPM that cannot be opened.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

UUID=5e600bce-a5cb-4f5f-b9a1-0e1c2d3e4f50
tpm_up tpm1
tpm_up tpm2 own
registrar_start reg

log "a second TPM claiming the same ID gets 403 and the agent says why"
agent_conf "$T/a1.conf" "$T/kl1" "$UUID"
agent_register "$tpm1_TCTI" "$T/a1.conf" "$T/a1.log" || fail "first agent did not register"
agent_conf "$T/a2.conf" "$T/kl2" "$UUID"
if agent_register "$tpm2_TCTI" "$T/a2.conf" "$T/a2.log"; then
        fail "an agent on another TPM took over $UUID"
fi
grep -q "403" "$T/a2.log" && grep -q "different TPM identity" "$T/a2.log" ||
        fail "the agent's message does not explain the 403: $(tail -3 "$T/a2.log")"
[ "$(reg_get "/v2.6/agents/$UUID" "$T/g.json")" = 200 ] || fail "original agent lost"
pass "identity takeover refused with 403"

log "EK certificate from an unknown CA is refused when the stub checks chains"
registrar_start reg2 --ek-ca-dir "$tpm1_EK_CA_DIR" --require-ek-cert
agent_conf "$T/a3.conf" "$T/kl3" 0c8e7f10-3e1b-4b7e-9a55-4f6d0e2b1a77
if agent_register "$tpm2_TCTI" "$T/a3.conf" "$T/a3.log"; then
        fail "EK certificate from an unknown CA was accepted"
fi
grep -qi "EK certificate" "$T/a3.log" || fail "no clear message: $(tail -3 "$T/a3.log")"
pass "unknown EK CA refused: $(grep -i 'EK certificate' "$T/a3.log" | tail -1 | cut -c1-160)"

log "a TPM without an EK certificate registers with ekcert null unless one is required"
registrar_start reg-lenient --ek-ca-dir "$tpm1_EK_CA_DIR"
TPM2TOOLS_TCTI=$tpm2_TCTI tpm2_nvundefine -C p 0x01c00002 >/dev/null 2>&1 ||
        fail "cannot remove the EK certificate from NV"
agent_conf "$T/a4.conf" "$T/kl4" 7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
agent_register "$tpm2_TCTI" "$T/a4.conf" "$T/a4.log" ||
        fail "agent without EK certificate was refused by a lenient registrar"
grep -q "no EK certificate" "$T/a4.log" || fail "agent did not say the TPM has no EK cert"
reg_get "/v2.6/agents/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" "$T/g4.json" >/dev/null
[ "$(json_get "$T/g4.json" .results.ekcert)" = null ] || fail "ekcert should be null"
registrar_start reg3 --require-ek-cert
agent_conf "$T/a6.conf" "$T/kl6" 7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4f
if agent_register "$tpm2_TCTI" "$T/a6.conf" "$T/a6.log"; then
        fail "registrar requiring EK certificates accepted an agent without one"
fi
grep -qi "EK certificate" "$T/a6.log" || fail "no clear message: $(tail -3 "$T/a6.log")"
pass "missing EK certificate: accepted as null, refused when required"

log "a TPM that cannot be opened gives one readable line"
agent_conf "$T/a7.conf" "$T/kl7" "$UUID"
if agent_register "swtpm:host=127.0.0.1,port=1" "$T/a7.conf" "$T/a7.log"; then
        fail "agent started without a TPM"
fi
grep -q "swtpm:host=127.0.0.1,port=1.*Connection refused" "$T/a7.log" ||
        fail "error does not name the TCTI and the cause: $(cat "$T/a7.log")"
if TCTI=device:/nonexistent/tpm KEYLIME_AGENT_CONFIG=$T/a7.conf "$AGENT_BIN" --register-only \
        >"$T/a8.log" 2>&1; then
        fail "agent started on a missing device"
fi
grep -q "/nonexistent/tpm" "$T/a8.log" && grep -qi "no such file" "$T/a8.log" ||
        fail "device error is not readable: $(cat "$T/a8.log")"
pass "TPM open failures are reported with the TCTI and the cause"
