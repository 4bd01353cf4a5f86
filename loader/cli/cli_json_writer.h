/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A minimal streaming JSON writer, in the manner of bpftool's json_writer:
 * the caller says what comes next, the writer places commas and indentation. */
#ifndef SUBFLOW_CLI_JSON_WRITER_H
#define SUBFLOW_CLI_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct json_writer json_writer_t;

json_writer_t *jsonw_new(FILE *out, bool pretty);
void jsonw_destroy(json_writer_t **self);	/* ends with a newline */

void jsonw_start_object(json_writer_t *self);
void jsonw_end_object(json_writer_t *self);
void jsonw_start_array(json_writer_t *self);
void jsonw_end_array(json_writer_t *self);
void jsonw_name(json_writer_t *self, const char *name);

void jsonw_string(json_writer_t *self, const char *value);
void jsonw_uint(json_writer_t *self, uint64_t value);
void jsonw_int(json_writer_t *self, int64_t value);
void jsonw_bool(json_writer_t *self, bool value);
void jsonw_null(json_writer_t *self);

/* name + value in one call */
void jsonw_string_field(json_writer_t *self, const char *name, const char *value);
void jsonw_uint_field(json_writer_t *self, const char *name, uint64_t value);
void jsonw_int_field(json_writer_t *self, const char *name, int64_t value);
void jsonw_bool_field(json_writer_t *self, const char *name, bool value);

#endif
