// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * subflowctl daemon: setup, the event loop, policies, decisions' output.
 *
 * Start: the namespace's lock (one daemon per namespace), a refusal when
 * another process already manages MPTCP paths here, the mptcp_pm events
 * subscription, then the switch of net.mptcp.path_manager to "userspace"
 * (new connections only: those opened before keep their path manager), the
 * host's view, the policies of the attached cgroups, and the connections
 * that exist already. Then one loop over epoll: mptcp_pm events, rtnetlink
 * changes, probe answers, RTO reports, signals and timers.
 *
 * SIGHUP (or a `policy load`, seen within a second) reloads the policies,
 * all at once: each connection is decided again under the new set. SIGTERM
 * and SIGINT end the daemon and leave every connection as it is, flowing;
 * the previous path-manager setting comes back. Bad events (malformed, or
 * about what we do not know) are counted and skipped; netlink errors are
 * reported and the loop goes on.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli_json_writer.h"
#include "daemon.h"
#include "policy.h"
#include "subflow_pm_abi.h"

static int tag_pm, tag_rtnl, tag_signal, tag_rto;

uint64_t daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- policies -------------------------------------------------------------------- */

struct cgroup_cache_entry {
	uint64_t cgroup_id;
	int policy;	/* index in d->policies, -1: none */
};

#define CGROUP_CACHE 256
static struct cgroup_cache_entry cgroup_cache[CGROUP_CACHE];
static size_t cgroup_cache_used;

static int policy_index(struct daemon *d, uint64_t cgroup_id)
{
	for (size_t i = 0; i < d->nr_policies; i++)
		if (d->policies[i].cgroup_id == cgroup_id)
			return i;
	return -1;
}

/* The nearest ancestor's policy, as the BPF programs find it. */
static int policy_of_cgroup(struct daemon *d, uint64_t cgroup_id)
{
	char path[PATH_MAX], root[PATH_MAX];
	struct stat st;
	int index = policy_index(d, cgroup_id);
	char *slash;

	if (index >= 0 || !cgroup_id)
		return index;
	if (subflow_cgroup_path_of(cgroup_id, path, sizeof(path)) ||
	    subflow_cgroup2_root(root, sizeof(root)))
		return -1;
	while ((slash = strrchr(path, '/')) && strlen(path) > strlen(root)) {
		*slash = '\0';
		if (stat(path, &st))
			break;
		index = policy_index(d, st.st_ino);
		if (index >= 0)
			return index;
	}
	return -1;
}

const struct daemon_policy *daemon_policy_for(struct daemon *d, uint64_t cgroup_id)
{
	size_t i;
	int index;

	for (i = 0; i < cgroup_cache_used; i++)
		if (cgroup_cache[i].cgroup_id == cgroup_id)
			break;
	if (i < cgroup_cache_used) {
		index = cgroup_cache[i].policy;
	} else {
		index = policy_of_cgroup(d, cgroup_id);
		if (cgroup_cache_used < CGROUP_CACHE) {
			cgroup_cache[cgroup_cache_used].cgroup_id = cgroup_id;
			cgroup_cache[cgroup_cache_used++].policy = index;
		}
	}
	return index >= 0 ? &d->policies[index] : NULL;
}

/* Read every cgroup's policy; the whole set replaces the old one, or
 * nothing changes. Returns 1 when the set changed, 0 when not, -errno. */
static int load_policies(struct daemon *d)
{
	uint64_t ids[DAEMON_MAX_POLICIES];
	struct subflow_policy_state *st;
	struct daemon_policy *set;
	size_t count = 0, n = 0;
	bool changed;
	int err;

	err = subflow_policy_list(ids, DAEMON_MAX_POLICIES, &count);
	if (err)
		return err;
	if (count > DAEMON_MAX_POLICIES)
		count = DAEMON_MAX_POLICIES;
	set = calloc(count ? count : 1, sizeof(*set));
	st = malloc(sizeof(*st));
	if (!set || !st) {
		free(set);
		free(st);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		err = subflow_policy_read(ids[i], st);
		if (err == -ENOENT)
			continue;	/* removed meanwhile */
		if (err)
			goto fail;
		st->text[sizeof(st->text) - 1] = '\0';
		/* The canonical text the loader wrote: it parses, or the
		 * maps are not ours to trust. */
		err = subflow_policy_parse(st->text, strlen(st->text), "policy", &set[n].policy, NULL);
		if (err) {
			pr_warn("the policy of cgroup %" PRIu64 " does not parse; keeping the previous set\n",
				ids[i]);
			goto fail;
		}
		set[n].cgroup_id = ids[i];
		set[n].generation = st->meta.generation;
		n++;
	}
	free(st);
	changed = n != d->nr_policies;
	for (size_t i = 0; i < n && !changed; i++)
		changed = set[i].cgroup_id != d->policies[i].cgroup_id ||
			  set[i].generation != d->policies[i].generation;
	if (!changed) {
		free(set);
		return 0;
	}
	free(d->policies);
	d->policies = set;
	d->nr_policies = n;
	cgroup_cache_used = 0;
	return 1;
fail:
	free(st);
	free(set);
	return err;
}

/* ---- decisions ------------------------------------------------------------------- */

static void addr_text(int family, const uint8_t *addr, uint16_t port, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, addr, a, sizeof(a));
	if (family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a, port);
	else
		snprintf(buf, size, "%s:%u", a, port);
}

static void publish(struct daemon *d, const struct decision *dec);
static int epoll_add(int epfd, int fd, void *tag);

static void json_endpoint(json_writer_t *w, const char *name, const char *addr, unsigned int port)
{
	jsonw_name(w, name);
	jsonw_start_object(w);
	jsonw_string_field(w, "addr", addr);
	jsonw_uint_field(w, "port", port);
	jsonw_end_object(w);
}

void daemon_decision(struct daemon *d, const struct decision *dec)
{
	char local[64], remote[64], when[32], la[INET6_ADDRSTRLEN] = "?", ra[INET6_ADDRSTRLEN] = "?";
	int family = dec->local.family ? dec->local.family : AF_INET;
	struct timespec now;
	struct tm tm;

	d->decisions++;
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	addr_text(family, dec->local.addr, dec->lport, local, sizeof(local));
	addr_text(family, dec->remote, dec->rport, remote, sizeof(remote));
	if (d->opt.json) {
		json_writer_t *w = jsonw_new(stdout, false);

		inet_ntop(family, dec->local.addr, la, sizeof(la));
		inet_ntop(family, dec->remote, ra, sizeof(ra));
		if (!w)
			goto out;
		jsonw_start_object(w);
		jsonw_uint_field(w, "time_ns", (uint64_t)now.tv_sec * 1000000000 + now.tv_nsec);
		jsonw_string_field(w, "event", "decision");
		jsonw_string_field(w, "action", dec->action);
		jsonw_uint_field(w, "token", dec->token);
		jsonw_uint_field(w, "id", dec->id);
		jsonw_name(w, "path");
		if (dec->path)
			jsonw_string(w, dec->path);
		else
			jsonw_null(w);
		json_endpoint(w, "local", la, dec->lport);
		json_endpoint(w, "remote", ra, dec->rport);
		jsonw_string_field(w, "reason", dec->reason);
		jsonw_name(w, "error");
		if (dec->result)
			jsonw_string(w, strerror(-dec->result));
		else
			jsonw_null(w);
		jsonw_end_object(w);
		jsonw_destroy(&w);
	} else {
		printf("%s.%03ld token 0x%08x", when, now.tv_nsec / 1000000, dec->token);
		if (dec->id)
			printf(" id %u", dec->id);
		printf(" %s", dec->action);
		if (dec->path)
			printf(" %s", dec->path);
		printf(" %s -> %s: %s", local, remote, dec->reason);
		if (dec->result)
			printf(" (failed: %s)", strerror(-dec->result));
		printf("\n");
	}
out:
	fflush(stdout);
	publish(d, dec);
}

/* ---- the engine's event ring: decisions beside the subflow events ------------------- */

static void copy_endpoint(struct subflow_endpoint *ep, int family, const uint8_t *addr,
			  uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = family == AF_INET6 ? SUBFLOW_AF_INET6 : SUBFLOW_AF_INET;
	memcpy(ep->addr, addr, family == AF_INET6 ? 16 : 4);
	ep->port = port;
}

/* Through the pinned syscall program: user space cannot write a ring. */
static void publish(struct daemon *d, const struct decision *dec)
{
	struct subflow_pm_decision rec = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &rec, .ctx_size_in = sizeof(rec));
	int family = dec->local.family ? dec->local.family : AF_INET;
	struct timespec now;

	if (d->pmlog_fd < 0)
		return;
	clock_gettime(CLOCK_BOOTTIME, &now);
	rec.ev.type = SUBFLOW_EVENT_PM_DECISION;
	rec.ev.size = sizeof(rec);
	rec.ev.time_ns = (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
	rec.ev.netns_cookie = d->netns_cookie;
	rec.ev.cgroup_id = dec->cgroup_id;
	rec.ev.token = dec->token;
	rec.ev.info.id = dec->id;
	rec.ev.value[0] = (uint64_t)(int64_t)dec->result;
	copy_endpoint(&rec.ev.info.local, family, dec->local.addr, dec->lport);
	copy_endpoint(&rec.ev.info.remote, family, dec->remote, dec->rport);
	snprintf(rec.action, sizeof(rec.action), "%s", dec->action);
	snprintf(rec.path, sizeof(rec.path), "%s", dec->path ? dec->path : "");
	snprintf(rec.reason, sizeof(rec.reason), "%s", dec->reason);
	if (bpf_prog_test_run_opts(d->pmlog_fd, &opts) && !d->publish_failed) {
		d->publish_failed = true;
		pr_warn("cannot put decisions on the event rings: %s (subflow monitor will not show them)\n",
			strerror(errno));
	}
}

/* ---- RTO reports: the engine's events, as one of their readers ----------------------- */

static int on_engine_event(const struct subflow_event *ev, void *ctx)
{
	struct daemon *d = ctx;

	control_on_engine_event(d, ev);
	/* Ours only: this namespace's retransmission timeouts. */
	if (ev->type != SUBFLOW_EVENT_RTO || ev->netns_cookie != d->netns_cookie)
		return 0;
	d->rtos_seen++;
	conns_on_rto(d, ev->token, ev->info.id, ev->value[0], 0);
	return 0;
}

static int rto_reader_open(struct daemon *d, int epfd)
{
	int err;

	d->events = subflow_events_open(on_engine_event, d);
	if (!d->events)
		return -errno;
	err = epoll_add(epfd, subflow_events_fd(d->events), &tag_rto);
	if (err) {
		subflow_events_close(d->events);
		d->events = NULL;
	}
	return err;
}

/* ---- setup ------------------------------------------------------------------------- */

static int block_signals(int *sfd)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	*sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return *sfd < 0 ? -errno : 0;
}

static int epoll_add(int epfd, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int on_pm_event(const struct nlmsghdr *nlh, void *ctx)
{
	struct daemon *d = ctx;
	struct subflow_pm_event ev;
	int err;

	err = subflow_pm_parse_event(d->pm_events, nlh, &ev);
	if (err) {
		if (err != -ENOMSG)
			d->events_bad++;
		return 0;	/* skipped, counted */
	}
	d->events_seen++;
	conns_on_event(d, &ev);
	return 0;
}

static void reload(struct daemon *d, const char *why)
{
	int err = load_policies(d);

	d->policies_checked_ms = daemon_now_ms();
	if (err < 0) {
		pr_warn("cannot read the policies (%s); keeping the previous set\n", strerror(-err));
		return;
	}
	if (!err && strcmp(why, "SIGHUP"))
		return;
	pr_info("policies %s: %zu cgroup%s with a policy\n", !strcmp(why, "SIGHUP") ? "reloaded (SIGHUP)" : "changed",
		d->nr_policies, d->nr_policies == 1 ? "" : "s");
	/* Connections now covered (or no longer) are found again. */
	conns_adopt(d);
	conns_reconcile_all(d, "policy reloaded");
}

static int handle_signals(struct daemon *d, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(d, "SIGHUP");
		else
			d->stop = si.ssi_signo;
	}
	return 0;
}

static int refuse_other_pm(struct daemon *d)
{
	char comm[64] = "";
	pid_t holder = 0, other;
	int err;

	err = guard_lock(d->netns_cookie, &holder);
	if (err == -EBUSY) {
		pr_err("another subflowctl daemon (pid %d) already manages this network namespace\n",
		       holder);
		return err;
	}
	if (err) {
		pr_err("cannot take the daemon lock in %s: %s\n", SUBFLOW_RUN_DIR, strerror(-err));
		return err;
	}
	other = guard_find_other_pm(subflow_pm_events_group(d->pm), comm, sizeof(comm));
	if (other) {
		pr_err("another userspace path manager runs in this network namespace: %s (pid %d) listens to the mptcp_pm events; stop it first (two path managers would undo each other's decisions)\n",
		       comm, other);
		guard_unlock();
		return -EBUSY;
	}
	return 0;
}

int daemon_run(const struct daemon_options *opt)
{
	struct daemon d = { .opt = *opt, .pmlog_fd = -1 };
	struct epoll_event events[32];
	char previous[32] = "";
	int epfd = -1, sfd = -1, err, n;
	uint64_t next, now;

	err = subflow_current_netns(&d.netns_cookie);
	if (err)
		return err;
	if (!subflow_engine_loaded()) {
		pr_err("the engine is not loaded: attach the cgroups to manage first (subflowctl cgroup attach CGROUP policy FILE)\n");
		return -ENOENT;
	}
	d.pm = subflow_pm_open(false);
	if (!d.pm) {
		err = -errno;
		pr_err("cannot open the mptcp_pm Generic Netlink family: %s\n", strerror(-err));
		return err;
	}
	err = refuse_other_pm(&d);
	if (err)
		goto out_pm;
	/* Subscribed before the switch: no connection is missed. */
	d.pm_events = subflow_pm_open(true);
	d.diag = subflow_nl_open(NETLINK_SOCK_DIAG);
	if (!d.pm_events || !d.diag) {
		err = -errno;
		pr_err("cannot open the daemon's netlink sockets: %s\n", strerror(-err));
		goto out_lock;
	}
	err = guard_switch_pm(d.netns_cookie, previous, sizeof(previous));
	if (err)
		goto out_lock;
	pr_info("net.mptcp.path_manager: userspace (was %s; connections opened before keep theirs)\n",
		previous);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	host_epoll_fd = epfd;
	err = epfd < 0 ? -errno : host_open(&d.host);
	if (!err)
		err = conns_init(&d);
	if (!err)
		err = block_signals(&sfd);
	if (!err)
		err = epoll_add(epfd, subflow_pm_fd(d.pm_events), &tag_pm);
	if (!err)
		err = epoll_add(epfd, subflow_nl_fd(d.host.rtnl_events), &tag_rtnl);
	if (!err)
		err = epoll_add(epfd, sfd, &tag_signal);
	if (err) {
		pr_err("daemon setup: %s\n", strerror(-err));
		goto out;
	}
	d.pmlog_fd = subflow_pin_get("prog_pmlog");
	if (d.pmlog_fd < 0)
		pr_warn("the engine has no decision logger (prog_pmlog): subflow monitor will not show decisions\n");
	err = rto_reader_open(&d, epfd);
	if (err)
		pr_warn("no RTO reports from the kernel (%s): stalled paths are found by probes only\n",
			strerror(-err));
	err = control_open(&d, epfd);
	if (err)
		goto out;
	err = load_policies(&d);
	if (err < 0)
		pr_warn("cannot read the policies: %s\n", strerror(-err));
	d.policies_checked_ms = daemon_now_ms();
	err = conns_adopt(&d);
	if (err)
		pr_warn("cannot list the existing connections: %s\n", strerror(-err));
	conns_reconcile_all(&d, "daemon started");
	pr_info("managing MPTCP paths of network namespace cookie %" PRIu64 " (%zu cgroup%s with a policy)\n",
		d.netns_cookie, d.nr_policies, d.nr_policies == 1 ? "" : "s");

	err = 0;
	while (!d.stop) {
		int timeout = -1;

		now = daemon_now_ms();
		next = conns_tick(&d, now);
		{
			uint64_t p = host_probe_tick(&d.host, now);

			if (p && (!next || p < next))
				next = p;
		}
		if (d.host.probes_changed) {
			d.host.probes_changed = false;
			conns_reconcile_all(&d, "probe answered or went silent");
		}
		if (now - d.policies_checked_ms >= DAEMON_POLICY_POLL_MS) {
			reload(&d, "poll");
			/* Also renews our lease as an event reader (needed once a second). */
			if (d.events)
				subflow_events_poll(d.events, 0);
		}
		if (!next || next > d.policies_checked_ms + DAEMON_POLICY_POLL_MS)
			next = d.policies_checked_ms + DAEMON_POLICY_POLL_MS;
		now = daemon_now_ms();
		timeout = next > now ? (int)(next - now) : 0;
		n = epoll_wait(epfd, events, 32, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			pr_err("epoll_wait: %s\n", strerror(-err));
			break;
		}
		for (int i = 0; i < n; i++) {
			void *tag = events[i].data.ptr;

			if (tag == &tag_pm) {
				int r = subflow_nl_receive(subflow_pm_nl(d.pm_events), on_pm_event, &d);

				if (r == -ENOBUFS) {
					/* Events were dropped: resynchronise. */
					pr_warn("mptcp_pm events were lost; re-reading the connections\n");
					conns_adopt(&d);
					conns_reconcile_all(&d, "events lost");
				} else if (r < 0) {
					pr_warn("mptcp_pm events: %s\n", strerror(-r));
				}
			} else if (tag == &tag_rtnl) {
				if (host_on_rtnl(&d.host) < 0)
					d.host.dirty = true;
			} else if (tag == &tag_signal) {
				handle_signals(&d, sfd);
			} else if (tag == &tag_rto) {
				subflow_events_poll(d.events, 0);
			} else if (control_on_epoll(&d, tag, events[i].events)) {
				;
			} else {
				host_probe_on_reply(&d.host, tag);
			}
		}
		if (d.host.dirty) {
			if (host_refresh(&d.host))
				pr_warn("cannot re-read links and addresses; deciding on the last view\n");
			conns_reconcile_all(&d, "link, address or route change");
		}
	}
	if (d.stop)
		pr_info("%s: leaving every connection as it is (%lu events, %lu malformed, %lu RTO reports, %lu decisions)\n",
			strsignal(d.stop), d.events_seen, d.events_bad, d.rtos_seen, d.decisions);
out:
	control_close(&d);
	subflow_events_close(d.events);
	if (d.pmlog_fd >= 0)
		close(d.pmlog_fd);
	conns_fini(&d);
	host_close(&d.host);
	host_epoll_fd = -1;
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	if (guard_restore_pm(d.netns_cookie) == 0 && previous[0])
		pr_info("net.mptcp.path_manager: %s again\n", previous);
out_lock:
	guard_unlock();
	subflow_nl_close(d.diag);
	subflow_pm_close(d.pm_events);
out_pm:
	subflow_pm_close(d.pm);
	free(d.policies);
	return err;
}
