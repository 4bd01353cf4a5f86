// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Running the one-shot operations iterator (bpf/oneshot.bpf.c). The program
 * is loaded once per process, on first use, and kept: a run then costs one
 * bpf_iter_create() and the reads of its output, not a verification. Runs are
 * serialised (the parameters are the program's globals), and each walks the
 * TCP sockets of the calling thread's network namespace. The engine's pinned
 * maps are not involved: this works whether or not the engine is loaded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "oneshot.h"
#include "oneshot.skel.h"

static pthread_mutex_t oneshot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct oneshot_bpf *oneshot_skel;
static struct bpf_link *oneshot_link;

static int oneshot_load(void)
{
	int err;

	oneshot_skel = oneshot_bpf__open();
	if (!oneshot_skel) {
		err = -errno;
		pr_err("cannot open the subflow operations BPF object: %s\n", strerror(-err));
		return err;
	}
	err = oneshot_bpf__load(oneshot_skel);
	if (err) {
		pr_err("cannot load the subflow operations iterator: %s (run with -d for the verifier log)\n",
		       strerror(-err));
		goto fail;
	}
	oneshot_link = bpf_program__attach_iter(oneshot_skel->progs.subflow_oneshot, NULL);
	if (!oneshot_link) {
		err = -errno;
		pr_err("cannot create the subflow operations iterator link: %s\n", strerror(-err));
		goto fail;
	}
	return 0;
fail:
	oneshot_bpf__destroy(oneshot_skel);
	oneshot_skel = NULL;
	return err;
}

/* Read the whole output (so that the walk finishes), record by record; a
 * read may end inside a record, whose rest comes with the next one. */
static int read_records(int iter_fd, subflow_oneshot_cb cb, void *ctx)
{
	union {
		struct subflow_oneshot_record rec[16];
		char bytes[16 * sizeof(struct subflow_oneshot_record)];
	} buf;
	size_t have = 0, used;
	int count = 0, err = 0, r;
	bool stop = false;
	ssize_t n;

	for (;;) {
		n = read(iter_fd, buf.bytes + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		have += n;
		for (used = 0; have - used >= sizeof(buf.rec[0]); used += sizeof(buf.rec[0])) {
			struct subflow_oneshot_record rec;

			memcpy(&rec, buf.bytes + used, sizeof(rec));
			count++;
			if (!cb || stop)
				continue;
			r = cb(&rec, ctx);
			if (r < 0)
				err = r;
			stop = r != 0;
		}
		memmove(buf.bytes, buf.bytes + used, have - used);
		have -= used;
	}
	return err ? err : count;
}

int subflow_oneshot_run(const struct subflow_oneshot_params *p, subflow_oneshot_cb cb, void *ctx)
{
	struct oneshot_bpf__bss *bss;
	int iter_fd, ret;

	pthread_mutex_lock(&oneshot_lock);
	if (!oneshot_skel && (ret = oneshot_load()))
		goto out;
	bss = oneshot_skel->bss;
	bss->op = p->op;
	bss->target_token = p->token;
	bss->target_id = p->id;
	bss->option = p->option;
	bss->do_set = p->do_set;
	bss->set_value = p->set_value;
	memcpy(bss->set_cc, p->cc, sizeof(bss->set_cc));
	bss->set_cc[sizeof(bss->set_cc) - 1] = '\0';
	bss->add_cb_flags = p->cb_flags;

	iter_fd = bpf_iter_create(bpf_link__fd(oneshot_link));
	if (iter_fd < 0) {
		ret = -errno;
		pr_err("cannot start the subflow operations iterator: %s\n", strerror(-ret));
		goto out;
	}
	ret = read_records(iter_fd, cb, ctx);
	close(iter_fd);
out:
	pthread_mutex_unlock(&oneshot_lock);
	return ret;
}

int subflow_oneshot_keep_first(const struct subflow_oneshot_record *rec, void *ctx)
{
	*(struct subflow_oneshot_record *)ctx = *rec;
	return 1;
}
