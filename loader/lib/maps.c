// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The engine's pinned maps, as this process sees them: opened once and
 * cached (a query costs one syscall), and trusted only after checks.
 *
 * - The pin must be a map (not a program or link someone pinned under a
 *   map's name), of the type, key size and value size that this library's
 *   BPF objects define for it, in a pin directory whose engine record says
 *   it follows our map ABI (SUBFLOW_ABI_VERSION). Anything else is refused
 *   (-EPROTO) with a message naming the pin.
 * - A cached fd is rechecked at most every RECHECK_MS: when the pin now
 *   names another map (unload, then a new load) the new one is dup2()ed
 *   onto the same fd number, so a thread still using the number uses the
 *   new map, never a reused fd; when the pin is gone the fd is kept (no
 *   number reuse) and callers get -ENOENT, "not loaded".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"

#define RECHECK_MS 250

const char *const subflow_map_names[MAP__COUNT] = {
	[MAP_CONNS] = "conns",
	[MAP_SUBFLOW_OVERFLOW] = "subflow_overflow",
	[MAP_ATTACHED_CGROUPS] = "attached_cgroups",
	[MAP_EVENT_RINGS] = "event_rings",
	[MAP_EVENT_READERS] = "event_readers",
	[MAP_EVENT_LOST] = "event_lost",
	[MAP_EVENT_ACTIVE] = "event_active",
	[MAP_PENDING_NOTES] = "pending_notes",
	[MAP_POLICY_COUNT] = "policy_count",
	[MAP_STATS] = "stats",
	[MAP_POLICIES] = "policies",
	[MAP_POLICY_INDEX] = "policy_index",
	[MAP_POLICY_TEXT] = "policy_text",
	[MAP_CGROUP_POLICY] = "cgroup_policy",
	[MAP_CC_CONNS] = "cc_conns",
	[MAP_CC_STATS] = "cc_stats",
};

struct cached_map {
	int fd;			/* -1: never opened */
	bool live;		/* false: the pin went away; fd kept, not used */
	dev_t dev;		/* identity of the pin the fd came from */
	ino_t ino;
	long long checked_ms;
};

static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached_map cache[MAP__COUNT];
static bool cache_ready;
/* The pin directory whose engine record was found to match our ABI. */
static bool abi_ok;
static dev_t abi_dev;
static ino_t abi_ino;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void cache_init_locked(void)
{
	if (cache_ready)
		return;
	for (int i = 0; i < MAP__COUNT; i++)
		cache[i].fd = -1;
	cache_ready = true;
}

void subflow_maps_close(void)
{
	pthread_mutex_lock(&maps_lock);
	cache_init_locked();
	for (int i = 0; i < MAP__COUNT; i++) {
		if (cache[i].fd >= 0)
			close(cache[i].fd);
		cache[i] = (struct cached_map){ .fd = -1 };
	}
	abi_ok = false;
	pthread_mutex_unlock(&maps_lock);
}

enum subflow_bpf_kind subflow_bpf_fd_kind(int fd)
{
	char link[32], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return SUBFLOW_BPF_OTHER;
	target[n] = '\0';
	if (!strcmp(target, "anon_inode:bpf-map"))
		return SUBFLOW_BPF_MAP;
	if (!strcmp(target, "anon_inode:bpf-prog"))
		return SUBFLOW_BPF_PROG;
	/* "bpf_link" before Linux 6.x, "bpf-link" since */
	if (!strcmp(target, "anon_inode:bpf-link") || !strcmp(target, "anon_inode:bpf_link"))
		return SUBFLOW_BPF_LINK;
	return SUBFLOW_BPF_OTHER;
}

const char *subflow_bpf_kind_name(enum subflow_bpf_kind kind)
{
	static const char *const names[] = {
		[SUBFLOW_BPF_OTHER] = "not a BPF object", [SUBFLOW_BPF_MAP] = "a map",
		[SUBFLOW_BPF_PROG] = "a program", [SUBFLOW_BPF_LINK] = "a link",
	};

	return names[kind];
}

static const char *map_type_name(__u32 type)
{
	const char *name = libbpf_bpf_map_type_str(type);

	return name ? name : "unknown";
}

int subflow_map_check(int fd, const char *name)
{
	struct subflow_map_def want;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	enum subflow_bpf_kind kind = subflow_bpf_fd_kind(fd);
	char path[PATH_MAX];

	subflow_pin_path(path, sizeof(path), name);
	if (kind != SUBFLOW_BPF_MAP) {
		pr_err("refusing pin %s: it is %s, not a map\n", path, subflow_bpf_kind_name(kind));
		return -EPROTO;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (subflow_object_map_def(name, &want)) {
		pr_err("refusing pin %s: no BPF object of this engine defines a map %s\n", path,
		       name);
		return -EPROTO;
	}
	if (info.type != want.type || info.key_size != want.key_size ||
	    info.value_size != want.value_size) {
		pr_err("refusing map %s: it is a %s with %u-byte keys and %u-byte values; map ABI "
		       "%d defines a %s with %u-byte keys and %u-byte values (unload the engine "
		       "and load it again)\n", path, map_type_name(info.type), info.key_size,
		       info.value_size, SUBFLOW_ABI_VERSION, map_type_name(want.type),
		       want.key_size, want.value_size);
		return -EPROTO;
	}
	return 0;
}

/* The engine record of the pin directory says our ABI; checked once per
 * pin directory (its identity). */
int subflow_engine_abi_check(void)
{
	struct subflow_engine_record rec;
	struct stat st;
	bool ok;
	int err;

	if (stat(subflow_pin_dir(), &st))
		return -errno;
	pthread_mutex_lock(&maps_lock);
	ok = abi_ok && abi_dev == st.st_dev && abi_ino == st.st_ino;
	pthread_mutex_unlock(&maps_lock);
	if (ok)
		return 0;
	err = subflow_record_read(&rec);
	if (err == -ENOENT) {
		pr_err("the engine in %s has no engine record (loaded by an older subflowctl): "
		       "unload it and load it again\n", subflow_pin_dir());
		return -EPROTO;
	}
	if (err)
		return err;
	if (rec.abi_version != SUBFLOW_ABI_VERSION) {
		pr_err("the engine in %s uses map ABI %u, this program map ABI %d: unload it "
		       "and load it again\n", subflow_pin_dir(), rec.abi_version,
		       SUBFLOW_ABI_VERSION);
		return -EPROTO;
	}
	pthread_mutex_lock(&maps_lock);
	abi_ok = true;
	abi_dev = st.st_dev;
	abi_ino = st.st_ino;
	pthread_mutex_unlock(&maps_lock);
	return 0;
}

/* Open pin `name` as a checked map; its identity in *st. */
static int open_checked(const char *name, struct stat *st)
{
	char path[PATH_MAX];
	int fd, err;

	fd = subflow_pin_get(name);
	if (fd < 0)
		return fd;
	err = subflow_map_check(fd, name);
	if (!err)
		err = subflow_engine_abi_check();
	if (!err && (subflow_pin_path(path, sizeof(path), name) || stat(path, st)))
		err = -ENOENT;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static bool same_pin(const struct cached_map *c, const struct stat *st)
{
	return c->dev == st->st_dev && c->ino == st->st_ino;
}

int subflow_map_fd(enum subflow_map_id map)
{
	const char *name = subflow_map_names[map];
	struct cached_map *c = &cache[map];
	char path[PATH_MAX];
	struct stat st;
	int fd, err;

	pthread_mutex_lock(&maps_lock);
	cache_init_locked();
	fd = c->live && now_ms() - c->checked_ms < RECHECK_MS ? c->fd : -1;
	pthread_mutex_unlock(&maps_lock);
	if (fd >= 0)
		return fd;

	/* Recheck: the same pin is still there? (one stat) */
	if (!subflow_pin_path(path, sizeof(path), name) && !stat(path, &st)) {
		pthread_mutex_lock(&maps_lock);
		if (c->live && same_pin(c, &st)) {
			c->checked_ms = now_ms();
			fd = c->fd;
		}
		pthread_mutex_unlock(&maps_lock);
		if (fd >= 0)
			return fd;
	}

	fd = open_checked(name, &st);
	pthread_mutex_lock(&maps_lock);
	if (fd < 0) {
		err = fd;
		c->live = false;
	} else if (c->live && same_pin(c, &st)) {	/* another thread was first */
		close(fd);
		err = c->fd;
	} else {
		if (c->fd >= 0) {
			/* Same fd number, new map: safe for threads using it. */
			dup3(fd, c->fd, O_CLOEXEC);
			close(fd);
		} else {
			c->fd = fd;
		}
		c->live = true;
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		c->checked_ms = now_ms();
		err = c->fd;
	}
	pthread_mutex_unlock(&maps_lock);
	return err;
}
