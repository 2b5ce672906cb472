/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replay, freshness and addressee checks of verified revocation events (see
 * revocation_replay.h). Runs after the signature check, so the fields come
 * from the verifier; they are still parsed as untrusted text.
 */
#include "revocation_replay.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "json.h"

/* upstream's event ids are a few dozen characters, asctime text 24 */
#define EVENT_ID_MAX   256
#define EVENT_TIME_MAX 64

int revocation_parse_asctime(const char *s, time_t *ret)
{
        struct tm tm = {0};
        const char *end;
        time_t t;

        /* the agent never calls setlocale: %a and %b are the C locale's English names */
        end = strptime(s, "%a %b %e %H:%M:%S %Y", &tm);
        if (end == NULL || *end != '\0')
                return KL_ERR_INVAL;
        tm.tm_isdst = -1;
        if ((t = mktime(&tm)) == (time_t)-1)
                return KL_ERR_INVAL;
        *ret = t;
        return 0;
}

static bool seen_has(const struct revocation_seen *seen, const uint8_t id[KL_SHA256_LEN])
{
        for (size_t i = 0; i < seen->n; i++)
                if (memcmp(seen->id[i], id, KL_SHA256_LEN) == 0)
                        return true;
        return false;
}

static void seen_add(struct revocation_seen *seen, const uint8_t id[KL_SHA256_LEN])
{
        size_t slot = seen->n < REVOCATION_SEEN_MAX ? seen->n++ : seen->next;

        memcpy(seen->id[slot], id, KL_SHA256_LEN);
        if (seen->n == REVOCATION_SEEN_MAX && slot == seen->next)
                seen->next = (seen->next + 1) % REVOCATION_SEEN_MAX;
}

int revocation_admit(struct revocation_seen *seen, const kl_json *ev, const char *agent_id,
                     time_t now, char *why, size_t why_len)
{
        const char *id = NULL, *event_id = NULL, *when = NULL;
        uint8_t digest[KL_MAX_DIGEST_LEN];
        char name[512];
        size_t dlen = 0;
        time_t t = 0;
        int n;

        if (kl_json_get_string(ev, "agent_id", &id) < 0 || strcmp(id, agent_id) != 0) {
                kl_why_set(why, why_len, "it is for agent '%.80s', not this one",
                           id != NULL ? id : "(none)");
                return KL_ERR_INVAL;
        }
        if (kl_json_get_string(ev, "event_id", &event_id) < 0 ||
            kl_json_get_string(ev, "event_time", &when) < 0 || strlen(event_id) > EVENT_ID_MAX ||
            strlen(when) > EVENT_TIME_MAX || revocation_parse_asctime(when, &t) < 0) {
                kl_why_set(why, why_len,
                           "no event_id (at most %d characters) or no event_time in asctime form "
                           "('%.40s')",
                           EVENT_ID_MAX, when != NULL ? when : "");
                return KL_ERR_INVAL;
        }
        if (t < now - REVOCATION_MAX_AGE_S || t > now + REVOCATION_MAX_AHEAD_S) {
                kl_why_set(why, why_len,
                           "its event_time '%.40s' is %lld s from now, outside -%d..+%d s", when,
                           (long long)(t - now), REVOCATION_MAX_AGE_S, REVOCATION_MAX_AHEAD_S);
                return KL_ERR_INVAL;
        }
        n = snprintf(name, sizeof(name), "%s\n%s", event_id, when);
        if (n < 0 || (size_t)n >= sizeof(name) ||
            kl_digest("sha256", name, (size_t)n, digest, &dlen) < 0) {
                kl_why_set(why, why_len, "internal error");
                return KL_ERR_INTERNAL;
        }
        if (seen_has(seen, digest)) {
                kl_why_set(why, why_len, "event '%.100s' of %.40s was already handled", event_id,
                           when);
                return KL_ERR_EXISTS;
        }
        seen_add(seen, digest);
        return 0;
}
