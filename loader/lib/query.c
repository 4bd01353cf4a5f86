// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Queries. By the application's own socket (GET_SUB_IDS / GET_SUB_TUPLE):
 * the kernel's answer, getsockopt(SOL_MPTCP, MPTCP_FULL_INFO), one system
 * call, no privilege, no engine; the engine's maps only on kernels without
 * it (probed once per process). By (namespace, token), for tools: the
 * connection's entry in `conns` holds its first subflows inline, so most
 * answers are one lookup; a connection with more subflows also has entries
 * in `subflow_overflow`. Every read takes the entry's lock (BPF_F_LOCK), so
 * a record is never seen half-written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/mptcp.h>
#include <bpf/bpf.h>
#include "internal.h"
#include "mptcp_compat.h"

/* Inode of the calling thread's network namespace, from its /proc link. */
static ino_t current_netns_ino(void)
{
	char buf[64], *open_bracket;
	ssize_t n = readlink("/proc/thread-self/ns/net", buf, sizeof(buf) - 1);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	open_bracket = strchr(buf, '[');
	return open_bracket ? strtoull(open_bracket + 1, NULL, 10) : 0;
}

int subflow_current_netns(uint64_t *netns_cookie)
{
	/* A thread changes namespace only through setns()/unshare(): the
	 * cookie is cached for as long as the namespace inode stays the same. */
	static __thread uint64_t cached_cookie;
	static __thread ino_t cached_ino;
	socklen_t len = sizeof(*netns_cookie);
	ino_t ino = current_netns_ino();
	int fd, err = 0;

	if (cached_cookie && ino && ino == cached_ino) {
		*netns_cookie = cached_cookie;
		return 0;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, netns_cookie, &len))
		err = -errno;
	close(fd);
	if (!err) {
		cached_cookie = *netns_cookie;
		cached_ino = ino;
	}
	return err;
}

static int resolve_netns(uint64_t *netns_cookie)
{
	if (*netns_cookie)
		return 0;
	return subflow_current_netns(netns_cookie);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- By the application's socket: the kernel's answer -------------------- */

int subflow_conn_of_fd(int fd, uint64_t *netns_cookie, uint32_t *token)
{
	struct mptcp_info info;
	socklen_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len))
		return errno == ENOPROTOOPT || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
	if (!info.mptcpi_token || (info.mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK))
		return -EOPNOTSUPP;	/* not (or no longer) multipath */
	len = sizeof(*netns_cookie);
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, netns_cookie, &len))
		return -errno;
	*token = info.mptcpi_token;
	return 0;
}

/* Whether this kernel answers MPTCP_FULL_INFO: 0 not known yet, 1 yes,
 * -1 no (Linux < 6.5). Written once per process; a race only repeats the
 * probe. */
static int full_info_state;

#define FULL_INFO_STACK 16	/* subflows fetched without a heap buffer */

/* The kernel's subflows of `fd`: ids and addresses, into sf[0..max), and
 * their number in *count. -EOPNOTSUPP: not an MPTCP socket (or fallen back);
 * -ENOSYS: the kernel has no MPTCP_FULL_INFO. */
static int full_info(int fd, struct mptcp_subflow_info *sf, size_t max, size_t *count)
{
	struct mptcp_full_info fi;
	/* Only the header: the kernel then copies no mptcp_info. */
	socklen_t len = offsetof(struct mptcp_full_info, mptcp_info);

	memset(&fi, 0, len);
	fi.size_sfinfo_user = sizeof(*sf);
	fi.size_arrays_user = max;
	fi.subflow_info = (uintptr_t)sf;
	if (getsockopt(fd, SOL_MPTCP, MPTCP_FULL_INFO, &fi, &len)) {
		int err = errno;

		/* EOPNOTSUPP: an MPTCP socket whose kernel lacks the option;
		 * ENOPROTOOPT: not MPTCP at all, or fallen back to TCP. */
		if (err == EOPNOTSUPP) {
			struct mptcp_info info;
			socklen_t ilen = sizeof(info);

			if (!getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &ilen)) {
				full_info_state = -1;
				return -ENOSYS;
			}
		}
		return err == ENOPROTOOPT || err == EOPNOTSUPP ? -EOPNOTSUPP : -err;
	}
	full_info_state = 1;
	*count = fi.num_subflows;
	return 0;
}

/* A first subflow that closed stays on the connection's list, reset: id 0,
 * no peer port. It is not a subflow of the connection any more. */
static bool listed_subflow_gone(const struct mptcp_subflow_info *sf)
{
	const struct mptcp_subflow_addrs *a = &sf->addrs;

	if (a->sa_family == AF_INET6)
		return !a->sin6_remote.sin6_port;
	return !a->sin_remote.sin_port;
}

static void addrs_to_sockaddr(const struct mptcp_subflow_addrs *a, struct sockaddr_storage *local,
			      struct sockaddr_storage *remote)
{
	if (local) {
		memset(local, 0, sizeof(*local));
		if (a->sa_family == AF_INET6)
			memcpy(local, &a->sin6_local, sizeof(a->sin6_local));
		else
			memcpy(local, &a->sin_local, sizeof(a->sin_local));
	}
	if (remote) {
		memset(remote, 0, sizeof(*remote));
		if (a->sa_family == AF_INET6)
			memcpy(remote, &a->sin6_remote, sizeof(a->sin6_remote));
		else
			memcpy(remote, &a->sin_remote, sizeof(a->sin_remote));
	}
}

/* The kernel's list of `fd`'s subflows, those gone left out, in *sfp (the
 * caller's stack buffer, or a heap one the caller frees when it is not
 * `stack`). */
static int kernel_subflows(int fd, struct mptcp_subflow_info *stack,
			   struct mptcp_subflow_info **sfp, size_t *count)
{
	struct mptcp_subflow_info *sf = stack;
	size_t n = 0, kept = 0, cap = FULL_INFO_STACK;
	int err;

	for (;;) {
		err = full_info(fd, sf, cap, &n);
		if (err)
			goto fail;
		if (n <= cap)
			break;
		/* More than the buffer held (subflows came meanwhile): grow. */
		if (sf != stack)
			free(sf);
		cap = n + 8;
		sf = calloc(cap, sizeof(*sf));
		if (!sf)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (!listed_subflow_gone(&sf[i]))
			sf[kept++] = sf[i];
	*sfp = sf;
	*count = kept;
	return 0;
fail:
	if (sf != stack)
		free(sf);
	return err;
}

/* Ascending by id. The kernel lists subflows in the order they came, which
 * is nearly always by id already: an insertion sort is one pass then, and
 * cheaper than qsort's call overhead for the few subflows a connection has. */
static void sort_by_id(struct mptcp_subflow_info *sf, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct mptcp_subflow_info x;
		size_t j = i;

		if (sf[i - 1].id <= sf[i].id)
			continue;
		x = sf[i];
		while (j > 0 && sf[j - 1].id > x.id) {
			sf[j] = sf[j - 1];
			j--;
		}
		sf[j] = x;
	}
}

static int ids_from_maps(int fd, uint32_t *ids, size_t max, size_t *count)
{
	uint64_t netns_cookie;
	uint32_t token;
	int err;

	err = subflow_conn_of_fd(fd, &netns_cookie, &token);
	if (err)
		return err;
	return subflow_get_ids_by_token(netns_cookie, token, ids, max, count);
}

int subflow_get_ids(int fd, uint32_t *ids, size_t max, size_t *count)
{
	struct mptcp_subflow_info stack[FULL_INFO_STACK], *sf;
	size_t n;
	int err;

	if (!count || (max && !ids))
		return -EINVAL;
	if (full_info_state < 0)
		return ids_from_maps(fd, ids, max, count);
	err = kernel_subflows(fd, stack, &sf, &n);
	if (err == -ENOSYS)
		return ids_from_maps(fd, ids, max, count);
	if (err)
		return err;
	sort_by_id(sf, n);
	for (size_t i = 0; i < n && i < max; i++)
		ids[i] = sf[i].id;
	*count = n;
	if (sf != stack)
		free(sf);
	return 0;
}

int subflow_get_tuples(int fd, struct subflow_tuple *tuples, size_t max, size_t *count)
{
	struct mptcp_subflow_info stack[FULL_INFO_STACK], *sf;
	uint32_t ids[FULL_INFO_STACK];
	size_t n;
	int err;

	if (!count || (max && !tuples))
		return -EINVAL;
	if (full_info_state >= 0) {
		err = kernel_subflows(fd, stack, &sf, &n);
		if (err != -ENOSYS) {
			if (err)
				return err;
			sort_by_id(sf, n);
			for (size_t i = 0; i < n && i < max; i++) {
				tuples[i].id = sf[i].id;
				tuples[i].pad = 0;
				addrs_to_sockaddr(&sf[i].addrs, &tuples[i].local, &tuples[i].remote);
			}
			*count = n;
			if (sf != stack)
				free(sf);
			return 0;
		}
	}
	/* No MPTCP_FULL_INFO: the engine's record, subflow by subflow. */
	err = ids_from_maps(fd, ids, FULL_INFO_STACK, &n);
	for (size_t i = 0; !err && i < n && i < max && i < FULL_INFO_STACK; i++) {
		memset(&tuples[i], 0, sizeof(tuples[i]));
		tuples[i].id = ids[i];
		err = subflow_get_tuple(fd, ids[i], &tuples[i].local, &tuples[i].remote);
	}
	if (!err)
		*count = n;
	return err;
}

int subflow_get_tuple(int fd, uint32_t id, struct sockaddr_storage *local,
		      struct sockaddr_storage *remote)
{
	struct mptcp_subflow_info stack[FULL_INFO_STACK], *sf = stack;
	uint64_t netns_cookie;
	uint32_t token;
	size_t n;
	int err = -ENOSYS;

	if (full_info_state >= 0)
		err = kernel_subflows(fd, stack, &sf, &n);
	if (!err) {
		err = -ESRCH;
		for (size_t i = 0; i < n; i++) {
			if (sf[i].id == id) {
				addrs_to_sockaddr(&sf[i].addrs, local, remote);
				err = 0;
				break;
			}
		}
		if (sf != stack)
			free(sf);
		return err;
	}
	if (err != -ENOSYS)
		return err;
	err = subflow_conn_of_fd(fd, &netns_cookie, &token);
	if (err)
		return err;
	return subflow_get_tuple_by_token(netns_cookie, token, id, local, remote);
}

/* ---- By (namespace, token): the engine's connection table ----------------- */

static void conn_info_of(uint64_t netns_cookie, const struct subflow_conn *c,
			 struct subflow_conn_info *out)
{
	memset(out, 0, sizeof(*out));
	out->netns_cookie = netns_cookie;
	out->created_ns = c->created_ns;
	out->cgroup_id = c->cgroup_id;
	out->token = c->token;
	out->netns_ino = c->netns_ino;
	out->flags = c->flags & ~SUBFLOW_CONN_F_CLOSED;
	out->nr_subflows = c->nr_subflows;
}

static unsigned int nr_inline(const struct subflow_conn *c)
{
	return __builtin_popcount(c->inline_used & ((1U << SUBFLOW_CONN_INLINE) - 1));
}

/* The entry of (netns_cookie, token), untorn. -ESRCH when there is none, or
 * only one being made or removed. */
static int read_conn(uint64_t netns_cookie, uint32_t token, struct subflow_conn *c)
{
	struct subflow_conn_key key = { .netns_cookie = netns_cookie, .token = token };
	int fd = subflow_map_fd(MAP_CONNS);

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem_flags(fd, &key, c, BPF_F_LOCK))
		return errno == ENOENT ? -ESRCH : -errno;
	if (c->token != token || !c->nr_subflows || (c->flags & SUBFLOW_CONN_F_CLOSED))
		return -ESRCH;
	return 0;
}

static int read_overflow(uint64_t netns_cookie, uint32_t token, uint32_t id,
			 struct subflow_info *info)
{
	struct subflow_key key = { .netns_cookie = netns_cookie, .token = token, .id = id };
	struct subflow_overflow ov;
	int fd = subflow_map_fd(MAP_SUBFLOW_OVERFLOW);

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem_flags(fd, &key, &ov, BPF_F_LOCK))
		return errno == ENOENT ? -ESRCH : -errno;
	if (!ov.info.local.family)
		return -ESRCH;	/* being made */
	*info = ov.info;
	return 0;
}

int subflow_get_conn_info(uint64_t netns_cookie, uint32_t token, struct subflow_conn_info *conn)
{
	struct subflow_conn c;
	int err;

	err = resolve_netns(&netns_cookie);
	if (!err)
		err = read_conn(netns_cookie, token, &c);
	if (!err)
		conn_info_of(netns_cookie, &c, conn);
	return err;
}

int subflow_get_info(uint64_t netns_cookie, uint32_t token, uint32_t id, struct subflow_info *info)
{
	struct subflow_conn c;
	int err;

	err = resolve_netns(&netns_cookie);
	if (!err)
		err = read_conn(netns_cookie, token, &c);
	if (err)
		return err;
	for (int i = 0; i < SUBFLOW_CONN_INLINE; i++) {
		if ((c.inline_used & (1U << i)) && c.subflows[i].id == id) {
			*info = c.subflows[i];
			return 0;
		}
	}
	if (c.nr_subflows == nr_inline(&c))
		return -ESRCH;
	return read_overflow(netns_cookie, token, id, info);
}

/* The overflow subflows of one connection, by a walk of subflow_overflow
 * (only connections with more than SUBFLOW_CONN_INLINE subflows have any).
 * Appends to *subflows / *n, growing the array (capacity *cap). */
static int collect_overflow(uint64_t netns_cookie, uint32_t token, struct subflow_info **subflows,
			    size_t *n, size_t *cap)
{
	struct subflow_key key, next;
	struct subflow_overflow ov;
	void *prev = NULL;
	int fd = subflow_map_fd(MAP_SUBFLOW_OVERFLOW);

	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (next.netns_cookie != netns_cookie || next.token != token)
			continue;
		if (bpf_map_lookup_elem_flags(fd, &next, &ov, BPF_F_LOCK) || !ov.info.local.family)
			continue;	/* closed while we walked, or being made */
		if (*n == *cap) {
			size_t grown_cap = *cap ? 2 * *cap : 16;
			struct subflow_info *grown = realloc(*subflows, grown_cap * sizeof(**subflows));

			if (!grown)
				return -ENOMEM;
			*subflows = grown;
			*cap = grown_cap;
		}
		(*subflows)[(*n)++] = ov.info;
	}
	return 0;
}

static int cmp_info_id(const void *a, const void *b)
{
	const struct subflow_info *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Every live subflow of entry `c`, sorted by id, into a new array. */
static int conn_subflows(uint64_t netns_cookie, const struct subflow_conn *c,
			 struct subflow_info **out, size_t *count)
{
	struct subflow_info *subflows = NULL;
	size_t n = 0, cap = SUBFLOW_CONN_INLINE;
	int err = 0;

	subflows = calloc(cap, sizeof(*subflows));
	if (!subflows)
		return -ENOMEM;
	for (int i = 0; i < SUBFLOW_CONN_INLINE; i++)
		if (c->inline_used & (1U << i))
			subflows[n++] = c->subflows[i];
	if (c->nr_subflows > n)
		err = collect_overflow(netns_cookie, c->token, &subflows, &n, &cap);
	if (err) {
		free(subflows);
		return err;
	}
	qsort(subflows, n, sizeof(*subflows), cmp_info_id);
	*out = subflows;
	*count = n;
	return 0;
}

int subflow_get_ids_by_token(uint64_t netns_cookie, uint32_t token, uint32_t *ids, size_t max,
			     size_t *count)
{
	uint32_t inline_ids[SUBFLOW_CONN_INLINE];
	struct subflow_info *subflows;
	struct subflow_conn c;
	size_t n = 0;
	int err;

	if (!count || (max && !ids))
		return -EINVAL;
	err = resolve_netns(&netns_cookie);
	if (!err)
		err = read_conn(netns_cookie, token, &c);
	if (err)
		return err;
	if (c.nr_subflows == nr_inline(&c)) {
		/* The usual case: one lookup. */
		for (int i = 0; i < SUBFLOW_CONN_INLINE; i++)
			if (c.inline_used & (1U << i))
				inline_ids[n++] = c.subflows[i].id;
		qsort(inline_ids, n, sizeof(*inline_ids), cmp_u32);
		memcpy(ids, inline_ids, (n < max ? n : max) * sizeof(*ids));
		*count = n;
		return 0;
	}
	err = conn_subflows(netns_cookie, &c, &subflows, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && i < max; i++)
		ids[i] = subflows[i].id;
	*count = n;
	free(subflows);
	return 0;
}

void subflow_endpoint_to_sockaddr(const struct subflow_endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->family == SUBFLOW_AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ep->port);
		memcpy(&sin6->sin6_addr, ep->addr, sizeof(sin6->sin6_addr));
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(ep->port);
		memcpy(&sin->sin_addr, ep->addr, sizeof(sin->sin_addr));
	}
}

int subflow_get_tuple_by_token(uint64_t netns_cookie, uint32_t token, uint32_t id,
			       struct sockaddr_storage *local, struct sockaddr_storage *remote)
{
	struct subflow_info info;
	int err;

	err = subflow_get_info(netns_cookie, token, id, &info);
	if (err)
		return err;
	if (local)
		subflow_endpoint_to_sockaddr(&info.local, local);
	if (remote)
		subflow_endpoint_to_sockaddr(&info.remote, remote);
	return 0;
}

int subflow_get_tuples_by_token(uint64_t netns_cookie, uint32_t token,
				struct subflow_tuple *tuples, size_t max, size_t *count)
{
	struct subflow_info stack[SUBFLOW_CONN_INLINE], *subflows = stack;
	struct subflow_conn c;
	size_t n = 0;
	int err;

	if (!count || (max && !tuples))
		return -EINVAL;
	err = resolve_netns(&netns_cookie);
	if (!err)
		err = read_conn(netns_cookie, token, &c);
	if (err)
		return err;
	if (c.nr_subflows == nr_inline(&c)) {
		/* The usual case: one lookup. */
		for (int i = 0; i < SUBFLOW_CONN_INLINE; i++)
			if (c.inline_used & (1U << i))
				stack[n++] = c.subflows[i];
		if (n == 2 && stack[0].id > stack[1].id) {
			stack[0] = c.subflows[1];
			stack[1] = c.subflows[0];
		}
	} else {
		err = conn_subflows(netns_cookie, &c, &subflows, &n);
		if (err)
			return err;
	}
	for (size_t i = 0; i < n && i < max; i++) {
		tuples[i].id = subflows[i].id;
		tuples[i].pad = 0;
		subflow_endpoint_to_sockaddr(&subflows[i].local, &tuples[i].local);
		subflow_endpoint_to_sockaddr(&subflows[i].remote, &tuples[i].remote);
	}
	*count = n;
	if (subflows != stack)
		free(subflows);
	return 0;
}

static int cmp_conn_key(const void *a, const void *b)
{
	const struct subflow_conn_key *x = a, *y = b;

	if (x->netns_cookie != y->netns_cookie)
		return x->netns_cookie < y->netns_cookie ? -1 : 1;
	return x->token < y->token ? -1 : x->token > y->token;
}

/* All keys of the conns map, sorted for stable output. */
static int collect_conn_keys(struct subflow_conn_key **out, size_t *count)
{
	struct subflow_conn_key *keys = NULL, *grown, key, next;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int fd = subflow_map_fd(MAP_CONNS);

	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			grown = realloc(keys, cap * sizeof(*keys));
			if (!grown) {
				free(keys);
				return -ENOMEM;
			}
			keys = grown;
		}
		keys[n++] = next;
		key = next;
		prev = &key;
	}
	if (n)
		qsort(keys, n, sizeof(*keys), cmp_conn_key);
	*out = keys;
	*count = n;
	return 0;
}

int subflow_foreach_conn(uint64_t netns_cookie, subflow_conn_cb cb, void *ctx)
{
	struct subflow_conn_key *keys = NULL;
	size_t nr_keys;
	int err;

	if (!cb)
		return -EINVAL;
	if (netns_cookie != SUBFLOW_ALL_NETNS) {
		err = resolve_netns(&netns_cookie);
		if (err)
			return err;
	}
	err = collect_conn_keys(&keys, &nr_keys);
	if (err)
		return err;
	for (size_t i = 0; i < nr_keys; i++) {
		struct subflow_info *subflows;
		struct subflow_conn_info conn;
		struct subflow_conn c;
		size_t n;

		if (netns_cookie != SUBFLOW_ALL_NETNS && keys[i].netns_cookie != netns_cookie)
			continue;
		if (read_conn(keys[i].netns_cookie, keys[i].token, &c))
			continue;	/* closed while we walked */
		err = conn_subflows(keys[i].netns_cookie, &c, &subflows, &n);
		if (err)
			break;
		conn_info_of(keys[i].netns_cookie, &c, &conn);
		err = cb(&conn, subflows, n, ctx);
		free(subflows);
		if (err)
			break;
	}
	free(keys);
	return err;
}

/* ---- Forgetting a detached cgroup's connections --------------------------- */

static bool id_in(uint64_t id, const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

int subflow_purge_cgroups(const uint64_t *ids, size_t n)
{
	struct subflow_conn_key *keys = NULL;
	struct subflow_key key, next;
	size_t nr_keys, nr_doomed = 0;
	int conns_fd, ov_fd, err;
	void *prev = NULL;

	if (!n)
		return 0;
	conns_fd = subflow_map_fd(MAP_CONNS);
	ov_fd = subflow_map_fd(MAP_SUBFLOW_OVERFLOW);
	if (conns_fd < 0 || ov_fd < 0)
		return conns_fd < 0 ? conns_fd : ov_fd;
	err = collect_conn_keys(&keys, &nr_keys);
	if (err)
		return err;
	/* Keep the doomed keys at the front (sorted: searched below). */
	for (size_t i = 0; i < nr_keys; i++) {
		struct subflow_conn c;

		if (bpf_map_lookup_elem_flags(conns_fd, &keys[i], &c, BPF_F_LOCK) ||
		    !id_in(c.cgroup_id, ids, n))
			continue;
		keys[nr_doomed++] = keys[i];
	}
	for (size_t i = 0; i < nr_doomed; i++)
		bpf_map_delete_elem(conns_fd, &keys[i]);
	/* Then their overflow subflows (deleting during the walk restarts it). */
	while (nr_doomed && !bpf_map_get_next_key(ov_fd, prev, &next)) {
		struct subflow_conn_key ck = { .netns_cookie = next.netns_cookie, .token = next.token };

		key = next;
		prev = &key;
		if (bsearch(&ck, keys, nr_doomed, sizeof(*keys), cmp_conn_key)) {
			bpf_map_delete_elem(ov_fd, &next);
			prev = NULL;	/* the walk restarts after a delete */
		}
	}
	free(keys);
	return 0;
}
