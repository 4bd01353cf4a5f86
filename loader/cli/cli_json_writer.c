// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Streaming JSON writer; see json_writer.h. */
#include <inttypes.h>
#include <stdlib.h>
#include "cli_json_writer.h"

#define JSON_MAX_DEPTH 32

struct json_writer {
	FILE *out;
	bool pretty;
	int depth;
	bool first[JSON_MAX_DEPTH];	/* no element yet at this depth */
	bool after_name;		/* a value completes "name": */
	bool wrote;			/* anything printed yet */
};

json_writer_t *jsonw_new(FILE *out, bool pretty)
{
	json_writer_t *self = calloc(1, sizeof(*self));

	if (!self)
		return NULL;
	self->out = out;
	self->pretty = pretty;
	self->first[0] = true;
	return self;
}

void jsonw_destroy(json_writer_t **self)
{
	if (!*self)
		return;
	if ((*self)->wrote)
		fputc('\n', (*self)->out);
	fflush((*self)->out);
	free(*self);
	*self = NULL;
}

static void indent(json_writer_t *self)
{
	if (!self->pretty)
		return;
	fputc('\n', self->out);
	for (int i = 0; i < self->depth; i++)
		fputs("  ", self->out);
}

/* Separator before a new element (a value, or a name in an object). */
static void element(json_writer_t *self)
{
	self->wrote = true;
	if (self->after_name) {
		self->after_name = false;
		return;
	}
	if (!self->first[self->depth])
		fputc(',', self->out);
	self->first[self->depth] = false;
	if (self->depth > 0)
		indent(self);
}

static void open_scope(json_writer_t *self, char c)
{
	element(self);
	fputc(c, self->out);
	if (self->depth < JSON_MAX_DEPTH - 1)
		self->depth++;
	self->first[self->depth] = true;
}

static void close_scope(json_writer_t *self, char c)
{
	bool empty = self->first[self->depth];

	if (self->depth > 0)
		self->depth--;
	if (!empty)
		indent(self);
	fputc(c, self->out);
}

void jsonw_start_object(json_writer_t *self) { open_scope(self, '{'); }
void jsonw_end_object(json_writer_t *self) { close_scope(self, '}'); }
void jsonw_start_array(json_writer_t *self) { open_scope(self, '['); }
void jsonw_end_array(json_writer_t *self) { close_scope(self, ']'); }

static void quoted(json_writer_t *self, const char *s)
{
	fputc('"', self->out);
	for (; *s; s++) {
		unsigned char c = *s;

		switch (c) {
		case '"': fputs("\\\"", self->out); break;
		case '\\': fputs("\\\\", self->out); break;
		case '\n': fputs("\\n", self->out); break;
		case '\t': fputs("\\t", self->out); break;
		case '\r': fputs("\\r", self->out); break;
		default:
			if (c < 0x20)
				fprintf(self->out, "\\u%04x", c);
			else
				fputc(c, self->out);
		}
	}
	fputc('"', self->out);
}

void jsonw_name(json_writer_t *self, const char *name)
{
	element(self);
	quoted(self, name);
	fputs(self->pretty ? ": " : ":", self->out);
	self->after_name = true;
}

void jsonw_string(json_writer_t *self, const char *value)
{
	element(self);
	quoted(self, value);
}

void jsonw_uint(json_writer_t *self, uint64_t value)
{
	element(self);
	fprintf(self->out, "%" PRIu64, value);
}

void jsonw_int(json_writer_t *self, int64_t value)
{
	element(self);
	fprintf(self->out, "%" PRId64, value);
}

void jsonw_bool(json_writer_t *self, bool value)
{
	element(self);
	fputs(value ? "true" : "false", self->out);
}

void jsonw_null(json_writer_t *self)
{
	element(self);
	fputs("null", self->out);
}

void jsonw_string_field(json_writer_t *self, const char *name, const char *value)
{
	jsonw_name(self, name);
	jsonw_string(self, value);
}

void jsonw_uint_field(json_writer_t *self, const char *name, uint64_t value)
{
	jsonw_name(self, name);
	jsonw_uint(self, value);
}

void jsonw_int_field(json_writer_t *self, const char *name, int64_t value)
{
	jsonw_name(self, name);
	jsonw_int(self, value);
}

void jsonw_bool_field(json_writer_t *self, const char *name, bool value)
{
	jsonw_name(self, name);
	jsonw_bool(self, value);
}
