// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Queries: GET_SUB_IDS / GET_SUB_TUPLE by the application's socket or by
 * (namespace, token), and walks over every tracked connection. Each answer
 * is a lookup in the pinned maps: one syscall for the connection (its ids
 * are inline), one per subflow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/mptcp.h>
#include <bpf/bpf.h>
#include "internal.h"

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

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

int subflow_conn_of_fd(int fd, uint64_t *netns_cookie, uint32_t *token)
{
	struct subflow_conn_key key;
	struct mptcp_info info;
	socklen_t len = sizeof(info);
	int map_fd;

	/* Fast path: the tracker noted the key on the MPTCP socket itself;
	 * one lookup with the socket's own fd. Connections found by the
	 * attach-time snapshot have no note: ask the kernel. */
	map_fd = subflow_map_fd(MAP_CONN_SK_KEYS);
	if (map_fd >= 0 && !bpf_map_lookup_elem(map_fd, &fd, &key) && key.token) {
		*netns_cookie = key.netns_cookie;
		*token = key.token;
		return 0;
	}

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

static int resolve_netns(uint64_t *netns_cookie)
{
	if (*netns_cookie)
		return 0;
	return subflow_current_netns(netns_cookie);
}

int subflow_get_conn_info(uint64_t netns_cookie, uint32_t token, struct subflow_conn_info *conn)
{
	struct subflow_conn_key key = { .token = token };
	int fd, err;

	err = resolve_netns(&netns_cookie);
	if (err)
		return err;
	fd = subflow_map_fd(MAP_CONNS);
	if (fd < 0)
		return fd;
	key.netns_cookie = netns_cookie;
	if (bpf_map_lookup_elem(fd, &key, conn))
		return errno == ENOENT ? -ESRCH : -errno;
	return 0;
}

int subflow_get_info(uint64_t netns_cookie, uint32_t token, uint32_t id, struct subflow_info *info)
{
	struct subflow_key key = { .token = token, .id = id };
	int fd, err;

	err = resolve_netns(&netns_cookie);
	if (err)
		return err;
	fd = subflow_map_fd(MAP_SUBFLOWS);
	if (fd < 0)
		return fd;
	key.netns_cookie = netns_cookie;
	if (bpf_map_lookup_elem(fd, &key, info))
		return errno == ENOENT ? -ESRCH : -errno;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Slow path, only for connections with more subflows than the inline list
 * holds: scan the subflows map for this connection's keys. */
static int scan_ids(uint64_t netns_cookie, uint32_t token, uint32_t *ids, size_t max, size_t *count)
{
	struct subflow_key key, next;
	void *prev = NULL;
	size_t n = 0;
	int fd = subflow_map_fd(MAP_SUBFLOWS);

	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (next.netns_cookie == netns_cookie && next.token == token) {
			if (n < max)
				ids[n] = next.id;
			n++;
		}
		key = next;
		prev = &key;
	}
	*count = n;
	return 0;
}

/* The live ids of `conn`, sorted. Returns how many, or -errno. */
static int conn_ids(const struct subflow_conn_info *conn, uint32_t *ids, size_t max, size_t *count)
{
	uint32_t inline_ids[SUBFLOW_IDS_PER_CONN];
	size_t n = 0;
	int err;

	if (conn->ids_overflow) {
		err = scan_ids(conn->netns_cookie, conn->token, ids, max, count);
		if (!err)
			qsort(ids, *count < max ? *count : max, sizeof(*ids), cmp_u32);
		return err;
	}
	for (int i = 0; i < SUBFLOW_IDS_PER_CONN; i++)
		if (conn->subflow_ids[i])
			inline_ids[n++] = conn->subflow_ids[i];
	qsort(inline_ids, n, sizeof(*inline_ids), cmp_u32);
	memcpy(ids, inline_ids, (n < max ? n : max) * sizeof(*ids));
	*count = n;
	return 0;
}

int subflow_get_ids_by_token(uint64_t netns_cookie, uint32_t token, uint32_t *ids, size_t max,
			     size_t *count)
{
	struct subflow_conn_info conn;
	int err;

	if (!count || (max && !ids))
		return -EINVAL;
	err = subflow_get_conn_info(netns_cookie, token, &conn);
	if (err)
		return err;
	return conn_ids(&conn, ids, max, count);
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

int subflow_get_ids(int fd, uint32_t *ids, size_t max, size_t *count)
{
	uint64_t netns_cookie;
	uint32_t token;
	int err;

	err = subflow_conn_of_fd(fd, &netns_cookie, &token);
	if (err)
		return err;
	return subflow_get_ids_by_token(netns_cookie, token, ids, max, count);
}

int subflow_get_tuple(int fd, uint32_t id, struct sockaddr_storage *local,
		      struct sockaddr_storage *remote)
{
	uint64_t netns_cookie;
	uint32_t token;
	int err;

	err = subflow_conn_of_fd(fd, &netns_cookie, &token);
	if (err)
		return err;
	return subflow_get_tuple_by_token(netns_cookie, token, id, local, remote);
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
	qsort(keys, n, sizeof(*keys), cmp_conn_key);
	*out = keys;
	*count = n;
	return 0;
}

int subflow_foreach_conn(uint64_t netns_cookie, subflow_conn_cb cb, void *ctx)
{
	struct subflow_info *subflows = NULL;
	struct subflow_conn_key *keys = NULL;
	uint32_t *ids = NULL;
	size_t nr_keys, cap = 0;
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
		struct subflow_conn_info conn;
		size_t nr_ids, n = 0;

		if (netns_cookie != SUBFLOW_ALL_NETNS && keys[i].netns_cookie != netns_cookie)
			continue;
		if (subflow_get_conn_info(keys[i].netns_cookie, keys[i].token, &conn))
			continue;	/* closed while we walked */
		err = conn_ids(&conn, ids, cap, &nr_ids);
		if (!err && nr_ids > cap) {
			void *grown_ids = realloc(ids, nr_ids * sizeof(*ids));
			void *grown_sf = realloc(subflows, nr_ids * sizeof(*subflows));

			if (grown_ids)
				ids = grown_ids;
			if (grown_sf)
				subflows = grown_sf;
			if (!grown_ids || !grown_sf) {
				err = -ENOMEM;
				break;
			}
			cap = nr_ids;
			err = conn_ids(&conn, ids, cap, &nr_ids);
		}
		if (err)
			break;
		for (size_t j = 0; j < nr_ids && j < cap; j++)
			if (!subflow_get_info(conn.netns_cookie, conn.token, ids[j], &subflows[n]))
				n++;
		err = cb(&conn, subflows, n, ctx);
		if (err)
			break;
	}
	free(subflows);
	free(ids);
	free(keys);
	return err;
}

/* Keys of `map` whose entry belongs to one of the cgroups in ids[]. */
static int purge_map(enum subflow_map_id map, size_t key_size, size_t cgroup_offset,
		     const uint64_t *ids, size_t n)
{
	unsigned char key[32], next[32], value[256];
	void *prev = NULL;
	unsigned char *doomed = NULL;
	size_t nr_doomed = 0, cap = 0;
	int fd = subflow_map_fd(map), err = 0;

	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		uint64_t cgroup_id;

		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, next, value))
			continue;
		memcpy(&cgroup_id, value + cgroup_offset, sizeof(cgroup_id));
		for (size_t i = 0; i < n; i++) {
			if (ids[i] != cgroup_id)
				continue;
			if (nr_doomed == cap) {
				unsigned char *grown;

				cap = cap ? 2 * cap : 64;
				grown = realloc(doomed, cap * key_size);
				if (!grown) {
					err = -ENOMEM;
					goto out;
				}
				doomed = grown;
			}
			memcpy(doomed + nr_doomed++ * key_size, next, key_size);
			break;
		}
	}
	/* Delete after the walk: deleting during get_next_key restarts it. */
	for (size_t i = 0; i < nr_doomed; i++)
		bpf_map_delete_elem(fd, doomed + i * key_size);
out:
	free(doomed);
	return err;
}

int subflow_purge_cgroups(const uint64_t *ids, size_t n)
{
	int err;

	if (!n)
		return 0;
	err = purge_map(MAP_SUBFLOWS, sizeof(struct subflow_key),
			offsetof(struct subflow_info, cgroup_id), ids, n);
	if (err)
		return err;
	return purge_map(MAP_CONNS, sizeof(struct subflow_conn_key),
			 offsetof(struct subflow_conn_info, cgroup_id), ids, n);
}
