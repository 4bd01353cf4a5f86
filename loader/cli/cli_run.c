// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * subflowctl run [--cgroup CGROUP] [--] PROGRAM [ARGS...]: run an unmodified
 * program with its TCP sockets created as MPTCP (loader/lib/launch.c does
 * the seccomp part). This file is the supervisor's life: signals in, exit
 * status out.
 *
 * - SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to subflowctl
 *   are forwarded to the program. The ones the terminal sends (si_code
 *   SI_KERNEL: Ctrl-C, Ctrl-\, hangup) reach the program directly, as it is
 *   in the same process group: they are not sent a second time.
 * - The supervisor serves until no task uses the filter any more (the
 *   listener reports POLLHUP): descendants that outlive the program stay
 *   covered. It is their subreaper (PR_SET_CHILD_SUBREAPER): orphans are
 *   reparented to it and reaped by it, so that POLLHUP does come whatever
 *   PID 1 does. Once the program has exited, forwarded signals go to those
 *   orphans; with none to take it, SIGINT, SIGTERM or SIGHUP end the
 *   supervisor (descendants it could not see then get ENOSYS from the TCP
 *   socket() calls they make later).
 * - Exit status: the program's. Killed by a signal, the supervisor kills
 *   itself with the same signal (no core dump of its own), so a shell sees
 *   what it would have seen without the launcher.
 * - 64: bad usage; 125: the launcher failed before the program ran; 126: the
 *   program cannot be executed; 127: not found (as env(1) and timeout(1)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

#define EXIT_LAUNCH_FAILED 125
#define EXIT_CANNOT_EXEC   126
#define EXIT_NOT_FOUND     127

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
#define NR_FORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

struct signal_state {
	sigset_t old_mask;
	struct sigaction old_actions[NR_FORWARDED];
};

static int run_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: %s [OPTIONS] run [--cgroup CGROUP] [--] PROGRAM [ARGS...]\n"
		"       %s run help\n"
		"\n"
		"  Run PROGRAM with its TCP sockets created as MPTCP: socket(AF_INET or\n"
		"  AF_INET6, SOCK_STREAM, 0 or IPPROTO_TCP) of PROGRAM and of every process\n"
		"  it starts becomes socket(..., IPPROTO_MPTCP), through seccomp user\n"
		"  notification (statically linked programs and raw syscalls included).\n"
		"  Where MPTCP cannot be created, the socket stays plain TCP.\n"
		"\n"
		"  --cgroup CGROUP  run in this cgroup v2 directory (subflowctl moves\n"
		"                   itself there first: it creates the sockets)\n"
		"\n"
		"  Exit status: PROGRAM's (killed by a signal: the same signal);\n"
		"  64 bad usage, 125 launcher failure, 126 cannot execute, 127 not found.\n"
		"  -j prints {\"exit_code\", \"signal\", \"sockets\": {...}} when it ends.\n",
		bin_name, bin_name);
	return 0;
}

static void fill_forwarded(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < NR_FORWARDED; i++)
		sigaddset(set, forwarded[i]);
}

/* Block what we forward (and SIGCHLD), to read it from a signalfd. A signal
 * the invoker left ignored (a background job's SIGINT) is discarded at
 * generation while ignored: make it default here (it stays blocked), and
 * give the program the disposition it would have had without us. */
static int take_signals(struct signal_state *st)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t set;

	fill_forwarded(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &st->old_mask))
		return -errno;
	for (size_t i = 0; i < NR_FORWARDED; i++) {
		sigaction(forwarded[i], NULL, &st->old_actions[i]);
		if (st->old_actions[i].sa_handler == SIG_IGN)
			sigaction(forwarded[i], &dfl, NULL);
	}
	fill_forwarded(&set);
	sigaddset(&set, SIGCHLD);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int restore_signals(void *ctx)
{
	struct signal_state *st = ctx;

	for (size_t i = 0; i < NR_FORWARDED; i++)
		if (st->old_actions[i].sa_handler == SIG_IGN)
			sigaction(forwarded[i], &st->old_actions[i], NULL);
	if (sigprocmask(SIG_SETMASK, &st->old_mask, NULL))
		return -errno;
	return 0;
}

static void jsonw_null_named(json_writer_t *w, const char *name)
{
	jsonw_name(w, name);
	jsonw_null(w);
}

static const char *signal_name(int sig)
{
	static char buf[32];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	else
		snprintf(buf, sizeof(buf), "%d", sig);
	return buf;
}

static void print_summary(const struct subflow_launch *l, int wstatus, bool reaped)
{
	if (!json_output)
		return;
	jsonw_start_object(json_wtr);
	jsonw_uint_field(json_wtr, "pid", l->pid);
	if (reaped && WIFEXITED(wstatus))
		jsonw_uint_field(json_wtr, "exit_code", WEXITSTATUS(wstatus));
	else
		jsonw_null_named(json_wtr, "exit_code");
	if (reaped && WIFSIGNALED(wstatus))
		jsonw_string_field(json_wtr, "signal", signal_name(WTERMSIG(wstatus)));
	else
		jsonw_null_named(json_wtr, "signal");
	jsonw_bool_field(json_wtr, "no_new_privs", l->no_new_privs);
	jsonw_name(json_wtr, "sockets");
	jsonw_start_object(json_wtr);
	jsonw_uint_field(json_wtr, "mptcp", l->stats.mptcp);
	jsonw_uint_field(json_wtr, "tcp", l->stats.tcp);
	jsonw_uint_field(json_wtr, "interrupted", l->stats.interrupted);
	jsonw_uint_field(json_wtr, "other_netns", l->stats.other_netns);
	jsonw_end_object(json_wtr);
	jsonw_end_object(json_wtr);
}

/* The program's end, passed on: its exit code, or its signal. */
static int __attribute__((noreturn)) pass_status(int wstatus)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t set;
	int sig;

	json_flush();
	fflush(NULL);
	if (WIFEXITED(wstatus))
		exit(WEXITSTATUS(wstatus));
	sig = WTERMSIG(wstatus);
	setrlimit(RLIMIT_CORE, &no_core);	/* the program dumped its own core */
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	exit(128 + sig);	/* a signal whose default is not to terminate */
}

/* Reap every child that ended: the program (its status kept) and orphans. */
static void reap(pid_t program, int *wstatus, bool *reaped)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == program) {
			*wstatus = status;
			*reaped = true;
		}
	}
}

/* Send sig to the orphans reparented to us (unreaped: their pids are
 * ours). Returns how many got it. */
static int signal_orphans(int sig)
{
	char path[64], pids[4096];
	char *p, *end;
	ssize_t n;
	int fd, sent = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, pids, sizeof(pids) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	pids[n] = '\0';
	for (p = pids;; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0 && !kill(pid, sig))
			sent++;
	}
	return sent;
}

static int launch_error(const struct subflow_launch *l, const char *program, int err)
{
	if (l->exec_failed) {
		fail("run: cannot execute '%s': %s", program, strerror(-err));
		return err == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}
	if (err == -EBUSY && l->failed_step && strstr(l->failed_step, "seccomp"))
		fail("run: cannot %s: %s (another seccomp listener covers this process already, "
		     "as under a second 'subflowctl run')", l->failed_step, strerror(-err));
	else
		fail("run: cannot %s: %s", l->failed_step ? l->failed_step : "start", strerror(-err));
	return EXIT_LAUNCH_FAILED;
}

int do_run(int argc, char **argv)
{
	struct signal_state sigs;
	struct subflow_launch_opts opts = {
		.child_setup = restore_signals,
		.child_setup_ctx = &sigs,
	};
	struct subflow_launch l;
	struct signalfd_siginfo si;
	bool reaped = false, serving = true;
	int sfd, err, wstatus = 0;
	uint64_t cgroup_id;

	cli_object = "run";
	if (argc > 0 && !strcmp(argv[0], "help"))
		return run_help(argc, argv);
	while (argc > 0 && argv[0][0] == '-') {
		if (!strcmp(argv[0], "--")) {
			NEXT_ARG();
			break;
		}
		if (!strcmp(argv[0], "--cgroup")) {
			if (argc < 2)
				return usage_error("run: --cgroup needs a cgroup v2 directory");
			opts.cgroup = argv[1];
			NEXT_ARG();
			NEXT_ARG();
			continue;
		}
		return usage_error("run: unknown option '%s'; see '%s run help'", argv[0], bin_name);
	}
	if (argc < 1)
		return usage_error("run: missing PROGRAM; see '%s run help'", bin_name);
	if (opts.cgroup) {
		err = subflow_cgroup_id_of(opts.cgroup, &cgroup_id);
		if (err) {
			fail_errno(err, "run: --cgroup");	/* says which and why */
			return EX_USAGE;
		}
	}

	subflow_launch_init(&l);
	/* Orphaned descendants come to us, to be reaped (not inherited by
	 * the program: fork clears it). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		fail("run: cannot become a subreaper: %s", strerror(errno));
		return EXIT_LAUNCH_FAILED;
	}
	sfd = take_signals(&sigs);
	if (sfd < 0) {
		fail("run: cannot take signals: %s", strerror(-sfd));
		return EXIT_LAUNCH_FAILED;
	}
	err = subflow_launch_start(&l, argv, &opts);
	if (err) {
		subflow_launch_close(&l);
		return launch_error(&l, argv[0], err);
	}
	pr_debug("run: pid %d %s%s\n", l.pid, argv[0],
		 l.no_new_privs ? " (no_new_privs: setuid and file capabilities are ignored)" : "");

	while (serving && (l.listener >= 0 || !reaped)) {
		struct pollfd pfd[2] = {
			{ .fd = l.listener, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("run: poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			err = subflow_launch_serve(&l);
			if (err) {
				/* Pending and later calls fail with ENOSYS
				 * once the listener is closed. */
				pr_err("run: the seccomp listener failed: %s\n", strerror(-err));
				close(l.listener);
				l.listener = -1;
			}
		} else if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			serving = false;	/* no task uses the filter any more */
		}
		if (!(pfd[1].revents & POLLIN))
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGCHLD) {
			reap(l.pid, &wstatus, &reaped);
			continue;
		}
		if (si.ssi_code == SI_KERNEL)
			continue;	/* the terminal sent it to all of us */
		if (!reaped) {
			kill(l.pid, si.ssi_signo);	/* not reaped: the pid is still ours */
		} else if (!signal_orphans(si.ssi_signo) &&
			   (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM ||
			    si.ssi_signo == SIGHUP)) {
			pr_warn("run: %s after the program ended: descendants still running lose MPTCP (socket() fails with ENOSYS)\n",
				signal_name(si.ssi_signo));
			serving = false;
		}
	}
	while (!reaped) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid == l.pid) {
			wstatus = status;
			reaped = true;
		} else if (pid < 0 && errno != EINTR) {
			break;
		}
	}
	pr_debug("run: sockets: %" PRIu64 " MPTCP, %" PRIu64 " TCP, %" PRIu64 " interrupted\n",
		 l.stats.mptcp, l.stats.tcp, l.stats.interrupted);
	print_summary(&l, wstatus, reaped);
	subflow_launch_close(&l);
	close(sfd);
	if (!reaped)
		return EXIT_LAUNCH_FAILED;
	pass_status(wstatus);
}
