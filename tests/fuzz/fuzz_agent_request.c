/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's request parsing: routing of method + path (versions, resources,
 * error answers) and the /quotes/integrity query checks. Input: lines
 * "METHOD\nPATH\nnonce\nmask\npartial\nima_ml_entry"; a missing line is an
 * absent parameter.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const versions[] = {"2.1", "2.2", "2.3", "2.4", "2.5", "2.6"};
        const char *field[6] = {NULL};
        struct api_integrity_query q;
        struct api_route rt;
        char err[256];
        char *text = malloc(size + 1), *p;

        if (text == NULL)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        p = text;
        for (size_t i = 0; i < 6 && p != NULL; i++) {
                field[i] = p;
                if ((p = strchr(p, '\n')) != NULL)
                        *p++ = '\0';
        }
        api_route_resolve(versions, 6, field[0] != NULL ? field[0] : "GET",
                          field[1] != NULL ? field[1] : "/", &rt);
        (void)api_parse_integrity_query(field[2], field[3], field[4], field[5], &q, err,
                                        sizeof(err));
        free(text);
        return 0;
}
