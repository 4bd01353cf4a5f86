// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which mechanism turns plain TCP sockets of unmodified programs into MPTCP
 * on this kernel: fmod_ret on update_socket_protocol (bpf/mptcpify.bpf.c,
 * `mptcpify on` in a policy) when the kernel lets a tracing trampoline load
 * and attach, else the launcher (`subflowctl run`, launch.c). And, when
 * fmod_ret is refused, the kernel's own reason: the errno of the step that
 * failed, and the kernel lockdown mode.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "internal.h"

#define LOCKDOWN_FILE "/sys/kernel/security/lockdown"
#define SECURITYFS_DIR "/sys/kernel/security"

/* "none [integrity] confidentiality" -> "integrity" */
static int parse_lockdown(const char *text, char *buf, size_t size)
{
	const char *open = strchr(text, '['), *close = open ? strchr(open, ']') : NULL;

	if (!open || !close || close - open - 1 <= 0 || (size_t)(close - open - 1) >= size)
		return -EINVAL;
	memcpy(buf, open + 1, close - open - 1);
	buf[close - open - 1] = '\0';
	return 0;
}

static ssize_t read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* securityfs is often not mounted (it is not here): read the file from a
 * child in a private mount namespace, so that nothing changes for anyone. */
static ssize_t read_lockdown_privately(char *buf, size_t size)
{
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		char text[128];

		close(pipefd[0]);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("securityfs", SECURITYFS_DIR, "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL))
			_exit(1);
		n = read_text(LOCKDOWN_FILE, text, sizeof(text));
		if (n <= 0 || write(pipefd[1], text, n) != n)
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return n > 0 ? n : -ENOENT;
}

int subflow_lockdown_mode(char *buf, size_t size)
{
	char text[128];
	ssize_t n;

	n = read_text(LOCKDOWN_FILE, text, sizeof(text));
	if (n <= 0)
		n = read_lockdown_privately(text, sizeof(text));
	if (n <= 0)
		return n ? (int)n : -ENOENT;
	return parse_lockdown(text, buf, size);
}

int subflow_probe_fmod_ret(struct subflow_fmod_ret_probe *p)
{
	/* r0 = 0; exit: returning 0 from fmod_ret leaves the function alone. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_MODIFY_RETURN);
	struct btf *btf;
	int id, fd, link;

	memset(p, 0, sizeof(*p));
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		p->step = "btf";
		return p->err = -errno;
	}
	id = btf__find_by_name_kind(btf, "update_socket_protocol", BTF_KIND_FUNC);
	btf__free(btf);
	if (id <= 0) {
		p->step = "btf";	/* before Linux 6.6 */
		return p->err = -ENOENT;
	}
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "subflow_probe", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &opts);
	if (fd < 0) {
		p->step = "load";
		return p->err = -errno;
	}
	link = bpf_raw_tracepoint_open(NULL, fd);
	if (link < 0) {
		p->err = -errno;
		p->step = "attach";
		close(fd);
		return p->err;
	}
	close(link);
	close(fd);
	return 0;
}

void subflow_fmod_ret_reason(const struct subflow_fmod_ret_probe *p, char *buf, size_t size)
{
	char lockdown[32];
	const char *name = strerrorname_np(-p->err);
	int n;

	if (!p->err) {
		snprintf(buf, size, "fmod_ret on update_socket_protocol loads and attaches");
		return;
	}
	if (p->step && !strcmp(p->step, "btf") && p->err == -ENOENT) {
		snprintf(buf, size, "the kernel has no update_socket_protocol hook (Linux 6.6+)");
		return;
	}
	n = snprintf(buf, size, "the kernel refuses fmod_ret on update_socket_protocol at %s: %s (%s)",
		     p->step ? p->step : "load", name ? name : "?", strerror(-p->err));
	if (n < 0 || (size_t)n >= size)
		return;
	if (!subflow_lockdown_mode(lockdown, sizeof(lockdown)))
		snprintf(buf + n, size - n, "; kernel lockdown: %s", lockdown);
}

void subflow_fmod_ret_explain(int err, const char *step, char *buf, size_t size)
{
	struct subflow_fmod_ret_probe probe = { .err = err, .step = step };
	size_t n;

	subflow_fmod_ret_reason(&probe, buf, size);
	n = strlen(buf);
	snprintf(buf + n, size - n, "; `subflowctl run -- PROGRAM` gives a program MPTCP instead");
}
