// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The engine's coupled congestion controls (bpf/cc_coupled.bpf.c): their
 * names, for the policy compiler's check, and their registration state, for
 * `subflowctl status`.
 *
 * A control is registered by this engine when its link is pinned in the pin
 * directory ("link_cc_<name>"): the link holds the registration, so removing
 * the pin (`subflowctl unload`) unregisters it, and a loader that dies
 * before pinning leaves nothing registered. The same name may be registered
 * by someone else (another engine instance with another pin directory, a
 * stale registration): the kernel then lists it in
 * tcp_available_congestion_control, and this engine runs without it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "internal.h"
#include "subflow_cc.h"

const char *const subflow_cc_names[] = {
	SUBFLOW_CC_LIA, SUBFLOW_CC_OLIA, SUBFLOW_CC_BALIA, NULL,
};

bool subflow_cc_is_engine_name(const char *name)
{
	for (size_t i = 0; subflow_cc_names[i]; i++)
		if (!strcmp(subflow_cc_names[i], name))
			return true;
	return false;
}

#define AVAILABLE_CC "/proc/sys/net/ipv4/tcp_available_congestion_control"

/* Whether `name` is a word of the one-line sysctl file at `path`. */
static bool sysctl_lists(const char *path, const char *name)
{
	char line[1024], *tok, *save = NULL;
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	if (fgets(line, sizeof(line), f))
		for (tok = strtok_r(line, " \t\n", &save); tok && !found;
		     tok = strtok_r(NULL, " \t\n", &save))
			found = !strcmp(tok, name);
	fclose(f);
	return found;
}

/* The struct_ops map id of a BPF_STRUCT_OPS link (bpf_link_info.struct_ops,
 * Linux 6.4 uapi: the first field of the info union). */
static int link_map_id(int link_fd, uint32_t *link_id, uint32_t *map_id)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info), id;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return -errno;
	*link_id = info.id;
	memcpy(&id, (char *)&info + offsetof(struct bpf_link_info, raw_tracepoint), sizeof(id));
	*map_id = id;
	return 0;
}

/* A live struct_ops map named `name` other than `except` (the name of a
 * struct_ops map is its variable's, which for ours is the control's). */
static uint32_t other_struct_ops_map(const char *name, uint32_t except)
{
	__u32 id = 0;

	while (!bpf_map_get_next_id(id, &id)) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_MAP_TYPE_STRUCT_OPS && id != except &&
		    !strncmp(info.name, name, sizeof(info.name))) {
			close(fd);
			return id;
		}
		close(fd);
	}
	return 0;
}

int subflow_cc_list(struct subflow_cc_state *out, size_t max, size_t *count)
{
	size_t n = 0;

	for (size_t i = 0; subflow_cc_names[i]; i++, n++) {
		struct subflow_cc_state *st;
		char pin[64];
		int fd;

		if (n >= max)
			continue;
		st = &out[n];
		memset(st, 0, sizeof(*st));
		snprintf(st->name, sizeof(st->name), "%s", subflow_cc_names[i]);
		snprintf(pin, sizeof(pin), "link_cc_%s", st->name);
		if ((fd = subflow_pin_get(pin)) >= 0) {
			st->by_this_engine = !link_map_id(fd, &st->link_id, &st->map_id);
			close(fd);
		}
		st->registered = sysctl_lists(AVAILABLE_CC, st->name);
		st->unprivileged = sysctl_lists("/proc/sys/net/ipv4/tcp_allowed_congestion_control",
						st->name);
		if (st->registered && !st->by_this_engine)
			st->other_map_id = other_struct_ops_map(st->name, st->map_id);
	}
	*count = n;
	return 0;
}

bool subflow_cc_is_offered(const char *name)
{
	return subflow_cc_is_engine_name(name) || sysctl_lists(AVAILABLE_CC, name);
}

void subflow_cc_offered(char *buf, size_t size)
{
	char line[1024] = "";
	size_t len;
	FILE *f = fopen(AVAILABLE_CC, "re");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	snprintf(buf, size, "%s", line);
	for (size_t i = 0; subflow_cc_names[i]; i++) {
		if (sysctl_lists(AVAILABLE_CC, subflow_cc_names[i]))
			continue;
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", len ? " " : "", subflow_cc_names[i]);
	}
}
