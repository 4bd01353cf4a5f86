// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * engine_probe: a long-running libsubflow user for the tests. It reads one
 * command per line on stdin and answers one line on stdout:
 *
 *   stats       "RC ADDED": subflow_get_stats()'s return and the
 *               subflows_added counter (0 when RC is not 0)
 *   stats-id    "RC ID": the id of the stats map this process uses
 *   hold PATH   "RC": bpf_obj_get(PATH), kept open until exit (so that
 *               the object has another holder than its pin)
 *   tcpinfo COOKIE TOKEN ID
 *               "RC STATE": subflow_get_tcp_info_by_token() from this
 *               process's namespace, whichever the connection's is
 *   netns       "RC LINK": readlink of /proc/thread-self/ns/net
 *
 * The pin directory is $SUBFLOW_PIN_DIR, as for subflowctl.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "internal.h"

int main(void)
{
	char line[4096];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "stats")) {
			uint64_t stats[SUBFLOW_STAT_MAX] = {};
			int rc = subflow_get_stats(stats);

			printf("%d %llu\n", rc, rc ? 0ULL :
			       (unsigned long long)stats[SUBFLOW_STAT_SUBFLOWS_ADDED]);
		} else if (!strcmp(line, "stats-id")) {
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);
			int fd = subflow_map_fd(MAP_STATS);

			if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len))
				fd = -errno;
			printf("%d %u\n", fd < 0 ? fd : 0, fd < 0 ? 0 : info.id);
		} else if (!strncmp(line, "hold ", 5)) {
			int fd = bpf_obj_get(line + 5);

			printf("%d\n", fd < 0 ? -errno : 0);
		} else if (!strcmp(line, "netns")) {
			char link[64] = "";
			ssize_t n = readlink("/proc/thread-self/ns/net", link, sizeof(link) - 1);

			link[n > 0 ? n : 0] = '\0';
			printf("%d %s\n", n < 0 ? -errno : 0, link);
		} else if (!strncmp(line, "tcpinfo ", 8)) {
			struct subflow_tcp_info ti = {};
			unsigned long long cookie;
			unsigned int token, id;
			int rc = -EINVAL;

			if (sscanf(line + 8, "%llu %u %u", &cookie, &token, &id) == 3)
				rc = subflow_get_tcp_info_by_token(cookie, token, id, &ti);
			printf("%d %u\n", rc, rc ? 0 : ti.state);
		} else {
			printf("%d\n", -EINVAL);
		}
	}
	return 0;
}
