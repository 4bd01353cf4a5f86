// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libsubflow_preload.so: the LD_PRELOAD approach (mptcpd's mptcpize), built
 * only to measure the launcher against it (tests/bench) and to show what it
 * misses. It wraps libc's socket(): socket(AF_INET{,6}, SOCK_STREAM[|flags],
 * 0|IPPROTO_TCP) asks for IPPROTO_MPTCP, and falls back to the original call
 * when MPTCP cannot be created. It cannot see statically linked programs
 * nor raw syscall(SYS_socket) calls (Go), which never go through the
 * dynamic symbol.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include "mptcp_compat.h"
#include <sys/socket.h>


static int (*real_socket)(int, int, int);

__attribute__((constructor)) static void resolve(void)
{
	real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
}

int socket(int family, int type, int protocol)
{
	int fd;

	if (!real_socket) {
		errno = ENOSYS;
		return -1;
	}
	if ((family == AF_INET || family == AF_INET6) &&
	    (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM &&
	    (protocol == 0 || protocol == IPPROTO_TCP)) {
		fd = real_socket(family, type, IPPROTO_MPTCP);
		if (fd >= 0)
			return fd;
	}
	return real_socket(family, type, protocol);
}
