/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mptcp_settle.h: let an MPTCP connection's MP_JOIN subflows be set up before
 * a bulk transfer, for the test tools (libc only: the static tcp_app and the
 * kernel bug reproducer include it).
 *
 * Why: on Linux 6.18 an MP_JOIN subflow that carries data while the peer's
 * MPTCP socket is busy (owned by its user, so the join waits in its join
 * list) can have its data delivered at the wrong stream offset (README,
 * "Limits"; tests/kernel/mptcp_join_race.sh). So: exchange byte 0 (the
 * connection becomes fully established and the path manager starts its
 * joins), wait until the wanted number of subflows is established and
 * acknowledged by the peer (it has seen their handshakes, maybe while busy,
 * the joins then waiting in its join list), then exchange byte 1: to echo
 * it, the peer has released its socket, which takes the waiting joins in.
 * Only then does data flow on the joins.
 */
#ifndef SUBFLOW_TESTS_MPTCP_SETTLE_H
#define SUBFLOW_TESTS_MPTCP_SETTLE_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>	/* struct tcp_info with tcpi_segs_in */

#include "mptcp_compat.h"

#define SETTLE_TCP_ESTABLISHED 1	/* tcpi_state */
#define SETTLE_MAX_SUBFLOWS 8

/* Subflows of fd established and past their handshake (a segment after the
 * SYN-ACK: the peer's ACK of an MP_JOIN), per MPTCP_FULL_INFO; -errno. */
static inline int mptcp_acked_subflows(int fd)
{
	struct tcp_info ti[SETTLE_MAX_SUBFLOWS];
	struct mptcp_full_info fi = {
		.size_tcpinfo_user = sizeof(ti[0]),
		.size_arrays_user = SETTLE_MAX_SUBFLOWS,
		.tcp_info = (uintptr_t)ti,
	};
	socklen_t len = sizeof(fi);
	int n = 0;

	memset(ti, 0, sizeof(ti));
	if (getsockopt(fd, SOL_MPTCP, MPTCP_FULL_INFO, &fi, &len))
		return -errno;
	for (unsigned int i = 0; i < fi.num_subflows && i < SETTLE_MAX_SUBFLOWS; i++)
		n += ti[i].tcpi_state == SETTLE_TCP_ESTABLISHED && ti[i].tcpi_segs_in >= 2;
	return n;
}

/* Send *byte and read its echo: 0, -EPROTO (wrong or none), -errno. */
static inline int mptcp_settle_echo(int fd, const unsigned char *byte, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char echo;

	if (send(fd, byte, 1, MSG_NOSIGNAL) != 1)
		return -errno;
	if (poll(&pfd, 1, timeout_ms) != 1 || recv(fd, &echo, 1, 0) != 1 || echo != *byte)
		return -EPROTO;
	return 0;
}

/* Exchange stream[0], wait up to timeout_ms for `want` acknowledged
 * subflows, exchange stream[1] (the peer echoes every byte). 0: two bytes
 * exchanged; -ENOPROTOOPT: fd is not an MPTCP connection (plain TCP, or
 * fallen back: nothing to wait for), one byte exchanged; -EPROTO: a wrong or
 * missing echo; -ETIMEDOUT; -errno. */
static inline int mptcp_settle(int fd, const unsigned char *stream, unsigned int want,
			       int timeout_ms)
{
	struct timespec tick = { 0, 1000000 };
	struct mptcp_info info;
	socklen_t len = sizeof(info);
	int n, err;

	err = mptcp_settle_echo(fd, stream, timeout_ms);
	if (err)
		return err;
	if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len) || !len)
		return -ENOPROTOOPT;
	for (int waited = 0; (n = mptcp_acked_subflows(fd)) < (int)want; waited++) {
		if (n < 0)
			return n;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
	return mptcp_settle_echo(fd, stream + 1, timeout_ms);
}

#endif
