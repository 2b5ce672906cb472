/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's option table, for lib/core's configuration code only (and
 * man/gen_conf_man.c, which prints it as keylime-agent.conf(5)):
 * config_options.c describes every option once (name, field, default, range
 * or validator, path rule) and gives typed access to its field; config.c
 * loads and merges the sources over it.
 */
#ifndef KL_CONFIG_OPTIONS_H
#define KL_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define DEFAULT_KEYLIME_DIR "/var/lib/keylime"

enum opt_kind {
        OPT_STR,
        OPT_U16,
        OPT_U32,
        OPT_BOOL,
};

/* How a string option is turned into a path once all sources are merged. */
enum opt_path {
        PATH_NONE,
        PATH_KEYLIME_DIR,          /* "default"/"" -> keylime_dir/<rel>; relative -> keylime_dir */
        PATH_KEYLIME_DIR_OR_EMPTY, /* the same, but "" stays "" (= none) */
        PATH_ROOT,                 /* "default"/"" -> <abs default>; relative -> "/" */
};

#define OPTF_SECRET       0x1u /* never logged; wiped when freed */
#define OPTF_UNSUPPORTED  0x2u /* a non-default value asks for something not implemented */
#define OPTF_ROOT_DEFAULT 0x4u /* the default applies only when euid is 0, else "" */
#define OPTF_NOT_YET      0x8u /* its feature is not implemented yet: reported at every start */

/* Returns NULL if value is acceptable, else what was expected. */
typedef const char *(*opt_check_fn)(const char *value);

struct opt {
        const char *name;
        enum opt_kind kind;
        size_t offset;
        const char *def_str; /* OPT_STR */
        uint32_t def_num;    /* OPT_U16, OPT_U32, OPT_BOOL */
        uint32_t min, max;   /* integers */
        enum opt_path path;
        const char *path_default;
        unsigned flags;
        opt_check_fn check;
};

extern const struct opt kl_cfg_options[];
extern const size_t kl_cfg_n_opts;

/* The option called name (its index in *ret_idx when not NULL), or NULL. */
const struct opt *kl_cfg_find_opt(const char *name, size_t *ret_idx);
/* The string field of option o in cfg (o->kind == OPT_STR). */
char **kl_cfg_field_str(struct kl_agent_config *cfg, const struct opt *o);
char *const *kl_cfg_field_str_c(const struct kl_agent_config *cfg, const struct opt *o);
/* The numeric field of option o in cfg (OPT_U16, OPT_U32, OPT_BOOL as 0/1). */
uint32_t kl_cfg_field_num(const struct kl_agent_config *cfg, const struct opt *o);
void kl_cfg_set_num(struct kl_agent_config *cfg, const struct opt *o, uint32_t v);
/* Replaces a string option with a copy of v (the old one wiped if secret). */
int kl_cfg_set_str(struct kl_agent_config *cfg, const struct opt *o, const char *v);
void kl_cfg_free_str(char *s, bool secret);

/* Validators the loader also calls itself: NULL when fine, else what was expected. */
const char *kl_cfg_check_address(const char *v);
const char *kl_cfg_check_api_versions(const char *v);

#endif
