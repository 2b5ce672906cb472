/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A JSON text written as it is sent: a prefix, the bytes of a source as the
 * contents of one JSON string, then a suffix. The source is escaped exactly
 * as kl_json_to_string escapes a string (", \, \b \f \n \r \t, other bytes
 * below 0x20 as \u00xx, everything else verbatim, '/' unescaped), so the
 * result is byte for byte what serialising the whole value would give.
 * Memory is the prefix, the suffix and one fixed input buffer, whatever the
 * source's length; an escape sequence cut by the end of an output piece is
 * finished in the next one.
 *
 * The prefix and suffix usually come from kl_json_envelope_split (json.h).
 */
#ifndef KL_JSON_STREAM_H
#define KL_JSON_STREAM_H

#include "stream.h"

/*
 * *ret reads as prefix, escaped src, suffix. Takes prefix and suffix (heap
 * strings) and src, also on failure (KL_ERR_NOMEM, KL_ERR_INVAL). A source
 * error ends the stream with that error: the text is then never complete, so
 * a reader cannot mistake a shortened string for the whole one.
 */
int kl_json_stream_new(char *prefix, char *suffix, struct kl_stream src, struct kl_stream *ret);

#endif
