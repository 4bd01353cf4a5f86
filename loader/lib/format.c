// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Small text helpers shared by the library and the CLI. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "internal.h"
#include "units.h"

const char *subflow_tcp_state_name(uint8_t state)
{
	static const char *const names[] = {
		[1] = "ESTABLISHED", [2] = "SYN_SENT",   [3] = "SYN_RECV",
		[4] = "FIN_WAIT1",   [5] = "FIN_WAIT2",  [6] = "TIME_WAIT",
		[7] = "CLOSE",       [8] = "CLOSE_WAIT", [9] = "LAST_ACK",
		[10] = "LISTEN",     [11] = "CLOSING",   [12] = "NEW_SYN_RECV",
	};

	if (state < sizeof(names) / sizeof(names[0]) && names[state])
		return names[state];
	return "UNKNOWN";
}

void subflow_endpoint_addr_str(const struct subflow_endpoint *ep, char *buf, size_t size)
{
	int family = ep->family == SUBFLOW_AF_INET6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(family, ep->addr, buf, size))
		snprintf(buf, size, "?");
}

int subflow_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	int err = subflow_parse_uint(s, UINT32_MAX, &v);

	if (err)
		return err;
	*out = (uint32_t)v;
	return 0;
}
