/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session table (see push_session.h): a fixed array scanned linearly, which
 * is plenty for the handful of agents a stub attests and keeps every bound
 * explicit. Tokens are compared in constant time and wiped when dropped.
 */
#include "push_session.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "hex.h"
#include "rest.h"

#define SECRET_LEN 32

enum state { FREE, PENDING, ANSWERED, ACTIVE };

struct session {
        enum state state;
        char id[KL_UUID_STR_LEN + 1];
        char agent_id[KL_REST_AGENT_ID_MAX + 1];
        char nonce[VER_NONCE_LEN + 1];
        time_t created, expires; /* of the challenge (PENDING) or the token (ACTIVE) */
        char token[VER_PUSH_TOKEN_MAX + 1];
};

struct ver_push_sessions {
        pthread_mutex_t lock;
        struct session *tab; /* VER_PUSH_SESSIONS_MAX */
};

static void drop(struct session *e)
{
        explicit_bzero(e, sizeof(*e)); /* state FREE */
}

/* Frees every slot whose challenge or token expired; ANSWERED slots wait for activation. */
static void prune(struct ver_push_sessions *s, time_t now)
{
        for (size_t i = 0; i < VER_PUSH_SESSIONS_MAX; i++) {
                struct session *e = &s->tab[i];

                if (e->state != FREE && e->expires < now)
                        drop(e);
        }
}

static struct session *find(struct ver_push_sessions *s, const char *id, enum state st)
{
        for (size_t i = 0; i < VER_PUSH_SESSIONS_MAX; i++) {
                if (s->tab[i].state == st && strcmp(s->tab[i].id, id) == 0)
                        return &s->tab[i];
        }
        return NULL;
}

int ver_push_sessions_new(struct ver_push_sessions **ret)
{
        struct ver_push_sessions *s = calloc(1, sizeof(*s));

        if (s == NULL || (s->tab = calloc(VER_PUSH_SESSIONS_MAX, sizeof(*s->tab))) == NULL) {
                free(s);
                return KL_ERR_NOMEM;
        }
        if (pthread_mutex_init(&s->lock, NULL) != 0) {
                free(s->tab);
                free(s);
                return KL_ERR_SYSTEM;
        }
        *ret = s;
        return 0;
}

void ver_push_sessions_free(struct ver_push_sessions *s)
{
        if (s == NULL)
                return;
        kl_secure_free(s->tab, VER_PUSH_SESSIONS_MAX * sizeof(*s->tab));
        pthread_mutex_destroy(&s->lock);
        free(s);
}

int ver_push_session_create(struct ver_push_sessions *s, const char *agent_id,
                            char ret_id[KL_UUID_STR_LEN + 1], char ret_nonce[VER_NONCE_LEN + 1],
                            time_t *ret_expires)
{
        struct session *e = NULL;
        time_t now = time(NULL);
        size_t len = strlen(agent_id);
        int r;

        if (len > KL_REST_AGENT_ID_MAX)
                return KL_ERR_INVAL;
        pthread_mutex_lock(&s->lock);
        prune(s, now);
        for (size_t i = 0; i < VER_PUSH_SESSIONS_MAX && e == NULL; i++) {
                if (s->tab[i].state == FREE)
                        e = &s->tab[i];
        }
        r = KL_ERR_TOO_LONG;
        if (e == NULL)
                goto out;
        if ((r = kl_uuid_generate(e->id)) < 0 ||
            (r = kl_nonce_generate(e->nonce, VER_NONCE_LEN)) < 0) {
                drop(e);
                goto out;
        }
        memcpy(e->agent_id, agent_id, len + 1);
        e->created = now;
        e->expires = now + VER_PUSH_CHALLENGE_LIFE;
        e->state = PENDING;
        memcpy(ret_id, e->id, sizeof(e->id));
        memcpy(ret_nonce, e->nonce, sizeof(e->nonce));
        *ret_expires = e->expires;
        r = 0;
out:
        pthread_mutex_unlock(&s->lock);
        return r;
}

int ver_push_session_take(struct ver_push_sessions *s, const char *id, const char *agent_id,
                          char ret_nonce[VER_NONCE_LEN + 1], time_t *ret_created,
                          time_t *ret_expires)
{
        struct session *e;
        int r = KL_ERR_NOT_FOUND;

        pthread_mutex_lock(&s->lock);
        if ((e = find(s, id, PENDING)) == NULL || strcmp(e->agent_id, agent_id) != 0)
                goto out;
        memcpy(ret_nonce, e->nonce, sizeof(e->nonce));
        *ret_created = e->created;
        *ret_expires = e->expires;
        r = e->expires < time(NULL) ? KL_ERR_VERIFY : 0;
        if (r < 0)
                drop(e);
        else
                e->state = ANSWERED; /* a second proof for this challenge finds nothing */
out:
        pthread_mutex_unlock(&s->lock);
        return r;
}

int ver_push_session_activate(struct ver_push_sessions *s, const char *id, const char *agent_id,
                              char ret_token[VER_PUSH_TOKEN_MAX + 1], time_t *ret_expires)
{
        uint8_t secret[SECRET_LEN];
        char hex[2 * SECRET_LEN + 1];
        struct session *e;
        int r = KL_ERR_NOT_FOUND;

        pthread_mutex_lock(&s->lock);
        if ((e = find(s, id, ANSWERED)) == NULL || strcmp(e->agent_id, agent_id) != 0)
                goto out;
        if ((r = kl_random_bytes(secret, sizeof(secret))) < 0) {
                drop(e);
                goto out;
        }
        for (size_t i = 0; i < VER_PUSH_SESSIONS_MAX; i++) {
                if (s->tab[i].state == ACTIVE && strcmp(s->tab[i].agent_id, agent_id) == 0)
                        drop(&s->tab[i]); /* one live token per agent */
        }
        kl_hex_encode_to(secret, sizeof(secret), hex);
        memcpy(e->token, e->id, KL_UUID_STR_LEN);
        e->token[KL_UUID_STR_LEN] = '.';
        memcpy(e->token + KL_UUID_STR_LEN + 1, hex, sizeof(hex));
        e->expires = time(NULL) + VER_PUSH_SESSION_LIFE;
        e->state = ACTIVE;
        memcpy(ret_token, e->token, sizeof(e->token));
        *ret_expires = e->expires;
        r = 0;
out:
        explicit_bzero(secret, sizeof(secret));
        explicit_bzero(hex, sizeof(hex));
        pthread_mutex_unlock(&s->lock);
        return r;
}

int ver_push_session_check(struct ver_push_sessions *s, const char *agent_id, const char *token)
{
        size_t len = strlen(token);
        time_t now = time(NULL);
        int r = KL_ERR_VERIFY;

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < VER_PUSH_SESSIONS_MAX; i++) {
                struct session *e = &s->tab[i];

                if (e->state != ACTIVE || strcmp(e->agent_id, agent_id) != 0)
                        continue;
                if (e->expires < now) {
                        drop(e);
                        continue;
                }
                if (kl_mem_equal_ct(e->token, strlen(e->token), token, len)) {
                        e->expires = now + VER_PUSH_SESSION_LIFE; /* extend_token_on_attestation */
                        r = 0;
                }
        }
        pthread_mutex_unlock(&s->lock);
        return r;
}
