/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* libsubflow internals shared by the library's files and subflowctl. Not installed. */
#ifndef SUBFLOW_INTERNAL_H
#define SUBFLOW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "subflow.h"

/* ---- log.c: one logging path, with levels -------------------------------- */
enum subflow_log_level {
	SUBFLOW_LOG_ERROR,
	SUBFLOW_LOG_WARN,
	SUBFLOW_LOG_INFO,
	SUBFLOW_LOG_DEBUG,	/* includes libbpf's own messages */
};
void subflow_log(enum subflow_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define pr_err(...)   subflow_log(SUBFLOW_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  subflow_log(SUBFLOW_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  subflow_log(SUBFLOW_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) subflow_log(SUBFLOW_LOG_DEBUG, __VA_ARGS__)
/* Where they go: subflow_set_print() (include/subflow.h). */

/* ---- pins.c: the pin directory and the maps in it -------------------------- */
/* Names of the pinned objects, relative to the pin directory. Programs are
 * pinned as "prog_" + their name without "subflow_" (engine_objects.c lists
 * every one). */
#define PIN_PROG_PREFIX    "prog_"
#define PIN_PROG_TRACK     "prog_track"		/* its pin marks the engine as loaded */
#define PIN_PROG_SNAPSHOT  "prog_iter"
/* One attachment = the tracker's link "link_cgroup_<id>" (its pin marks the
 * cgroup as attached) plus "link_cgroup_<id>_<hook>" for the other hooks. */
#define PIN_LINK_PREFIX    "link_cgroup_"

/* True when "<pin dir>/<name>" exists. */
bool subflow_pin_exists(const char *name);

enum subflow_map_id {
	MAP_CONNS,
	MAP_SUBFLOW_OVERFLOW,
	MAP_ATTACHED_CGROUPS,
	MAP_EVENT_RINGS,
	MAP_EVENT_READERS,
	MAP_EVENT_LOST,
	MAP_EVENT_ACTIVE,
	MAP_PENDING_NOTES,
	MAP_POLICY_COUNT,
	MAP_STATS,
	MAP_POLICIES,
	MAP_POLICY_INDEX,
	MAP_POLICY_TEXT,
	MAP_CGROUP_POLICY,
	MAP_CC_CONNS,		/* coupled congestion control (cc_coupled.bpf.c) */
	MAP_CC_STATS,
	MAP__COUNT,
};
extern const char *const subflow_map_names[MAP__COUNT];

/* ---- maps.c: the pinned maps, checked and cached ------------------------- */
/* fd of a pinned map, opened once per process, cached and rechecked (maps.c
 * says how). -ENOENT when the engine is not loaded; -EPROTO (with a message)
 * when the pin is not the map our ABI defines. Do not close it. */
int subflow_map_fd(enum subflow_map_id map);
/* Forget cached fds (after unload, or a pin dir change). */
void subflow_maps_close(void);
/* The engine record says the pin directory follows our map ABI: 0, or
 * -EPROTO with a message (another ABI, no record). Cached per directory. */
int subflow_engine_abi_check(void);
/* Check that fd (pinned as `name`) is the map our ABI defines there. */
int subflow_map_check(int fd, const char *name);
enum subflow_bpf_kind {
	SUBFLOW_BPF_OTHER,
	SUBFLOW_BPF_MAP,
	SUBFLOW_BPF_PROG,
	SUBFLOW_BPF_LINK,
};
/* What a BPF fd is (from /proc/self/fd): map, program, link or other. */
enum subflow_bpf_kind subflow_bpf_fd_kind(int fd);
const char *subflow_bpf_kind_name(enum subflow_bpf_kind kind);
/* Pin fd as "<pin dir>/<name>"; errors logged at `level`. */
int subflow_pin_fd(int fd, const char *name, enum subflow_log_level level);
/* Build "<pin dir>/<name>" into buf. */
int subflow_pin_path(char *buf, size_t size, const char *name);
/* True when the engine is loaded (its programs are pinned). */
bool subflow_engine_loaded(void);
/* Exclusive lock for changes (load, attach, detach, policy, unload) so that
 * two processes cannot interleave: a file in SUBFLOW_RUN_DIR named after the
 * pin directory (lock.c says why not the directory itself). Waits at most
 * $SUBFLOW_LOCK_TIMEOUT_MS (default 30 s), then -EBUSY naming the holder.
 * Also refuses (-EPERM) a pin directory that exists and is not ours. Returns
 * an fd to pass to subflow_unlock(), or -errno. */
#define SUBFLOW_RUN_DIR "/run/subflow"
int subflow_lock(void);
/* The same, waiting at most timeout_ms (0: not at all; < 0: the default). */
int subflow_lock_timeout(long timeout_ms);
void subflow_unlock(int lock_fd);
/* The lock file's name in SUBFLOW_RUN_DIR for a pin directory. */
int subflow_lock_file_name(const char *pin_dir, char *buf, size_t size);
/* Longest pin directory: leaves room for every pin name under it. */
#define SUBFLOW_PIN_DIR_MAX 3968
/* Check that the pin directory is ours (bpffs, owned by root, mode 0700,
 * reached without symbolic links through ancestors nobody else can change):
 * 0, -ENOENT if it does not exist, -EPERM with a message if it is not ours. */
int subflow_pin_dir_check(void);
/* Create it if needed (mkdir 0700, then the same checks on what we open). */
int subflow_pin_dir_create(void);
/* The checked pin directory, for readdir; NULL with errno (ENOENT, EPERM). */
#include <dirent.h>
DIR *subflow_pin_dir_opendir(void);
/* Open pin `name` (bpf_obj_get) in the checked pin directory; -errno. */
int subflow_pin_get(const char *name);
/* Open directory `path`, creating it (mode 0700) if asked, and check it and
 * its ancestors as above; fs_magic 0 accepts any filesystem. Returns an
 * O_DIRECTORY fd or -errno (with a message naming `what`, at `level`). */
int subflow_open_private_dir(const char *path, bool create, long fs_magic, const char *fs_name,
			     const char *what, enum subflow_log_level level);
/* The same for SUBFLOW_RUN_DIR, which may also be mode 0711 (the daemon's
 * control sockets are in it: reachable by name, not listable). */
int subflow_open_run_dir(bool create, const char *what, enum subflow_log_level level);
/* Explain why the engine's pins are not visible: not loaded, or bpffs not
 * mounted in this mount namespace (as under `ip netns exec`). */
void subflow_explain_not_loaded(char *buf, size_t size);
/* Make sure bpffs is mounted where the pin directory lives. */
int subflow_ensure_bpffs(void);

/* ---- control.c: the daemon's control socket, client side ----------------- */
#include "subflow_control.h"
/* Whether a call that changes a connection (by fd, or by token with
 * netns_cookie) goes through the daemon of its namespace: the caller cannot
 * reach the pins (not root, or `ip netns exec`) and cannot act itself, or
 * is root without the pins while that namespace's daemon runs. */
bool subflow_control_wanted(int fd, uint64_t netns_cookie);
/* Never (the daemon itself). */
void subflow_control_disable(void);
/* The caller is in the host's network namespace (PID 1's), whose daemon's
 * socket is SUBFLOW_CONTROL_HOST_SOCK (false when /proc/1 is not readable). */
bool subflow_control_host_netns(void);
/* The path of the control socket of a namespace's daemon (host: PID 1's namespace). */
int subflow_control_socket_path(uint64_t netns_cookie, bool host, char *buf, size_t size);
void subflow_control_request_init(struct subflow_control_request *req, enum subflow_control_op op);
/* One request to the daemon of fd's namespace (fd < 0: netns_cookie's, 0 the
 * caller's), with fd passed when >= 0; the daemon's -errno, its message
 * printed. -EHOSTDOWN: no daemon; -EACCES: not allowed on the socket. */
int subflow_control_call(int fd, uint64_t netns_cookie, struct subflow_control_request *req,
			 struct subflow_control_response *resp);
/* One response (checked: magic, version, size); -ETIMEDOUT, -ECONNRESET (EOF). */
int subflow_control_recv(int s, struct subflow_control_response *resp, int timeout_ms);
/* A subscription to the events of fd's connection (fd < 0: by token): the
 * connection to the daemon that carries them, or -errno. */
int subflow_control_subscribe(int fd, uint64_t netns_cookie, uint32_t token);
/* The calls of ops.c and sockopt.c through the daemon: by fd when fd >= 0,
 * else by (netns_cookie, token). */
int subflow_control_open(int fd, uint64_t netns_cookie, uint32_t token, const struct sockaddr *local,
			 const struct sockaddr *remote, unsigned int flags, unsigned int timeout_ms,
			 uint32_t *id);
int subflow_control_close(int fd, uint64_t netns_cookie, uint32_t token, uint32_t id);
int subflow_control_set_backup(int fd, uint64_t netns_cookie, uint32_t token, uint32_t id,
			       bool backup);
int subflow_control_sockopt(int fd, uint64_t netns_cookie, uint32_t token, uint32_t id,
			    enum subflow_sockopt opt, bool set, struct subflow_sockopt_value *v);
void subflow_control_sockopt_to_wire(const struct subflow_sockopt_value *v,
				     struct subflow_control_sockopt *w);
void subflow_control_sockopt_from_wire(const struct subflow_control_sockopt *w,
				       struct subflow_sockopt_value *v);

/* ---- events.c: one connection's events ------------------------------------- */
/* The events of connection (netns_cookie, token) while it lives: after the
 * DOWN of its last subflow the token may name another connection, so
 * nothing passes any more (ended). */
struct subflow_conn_filter {
	uint64_t netns_cookie;
	uint32_t token;
	bool ended;
};
bool subflow_conn_filter_pass(struct subflow_conn_filter *f, const struct subflow_event *ev);

/* ---- engine_objects.c: the engine's BPF objects ------------------------------ */
struct bpf_object;
struct bpf_object_open_opts;

enum subflow_object_kind {
	SUBFLOW_OBJ_CGROUP,	/* programs attached to every attached cgroup, a link each */
	SUBFLOW_OBJ_PINNED,	/* programs pinned only, run on demand (iterators) */
	SUBFLOW_OBJ_GLOBAL,	/* programs attached once at load; their links pinned */
	SUBFLOW_OBJ_STRUCT_OPS,	/* struct_ops maps registered at load through pinned links */
};

/* What one program (or struct_ops map) of an object pins. */
struct subflow_object_pin {
	const char *prog;	/* program name in the object (not STRUCT_OPS) */
	const char *map;	/* STRUCT_OPS: the struct_ops map's name */
	const char *pin;	/* the program's pin, "prog_..." (not STRUCT_OPS) */
	int attach;		/* CGROUP: the hook, an enum bpf_attach_type */
	/* CGROUP: suffix of the link pin "link_cgroup_<id>" ("" for the
	 * marker); GLOBAL and STRUCT_OPS: the link's pin, "link_..." */
	const char *link;
};

struct subflow_object {
	const char *name;	/* in messages and `status` */
	enum subflow_object_kind kind;
	/* An optional object that fails to load (or attach) is a warning, and
	 * `status` says it is absent and what it needs from the kernel. */
	bool optional;
	const char *needs;
	/* Optional: the kernel's reason for refusing it (err, at step "load"
	 * or "attach"), for the warning; NULL: strerror. */
	void (*explain)(int err, const char *step, char *buf, size_t size);
	void *(*open)(const struct bpf_object_open_opts *opts);
	/* Between open and load (rodata, map sizes); NULL if nothing. */
	int (*prepare)(void *skel);
	int (*load)(void *skel);
	void (*destroy)(void *skel);
	struct bpf_object *(*object)(void *skel);
	const struct subflow_object_pin *pins;	/* ends with an entry of NULL prog and map */
};
extern const struct subflow_object subflow_objects[];
extern const size_t subflow_nr_objects;

#define subflow_for_each_pin(o, p) for ((p) = (o)->pins; (p)->prog || (p)->map; (p)++)

/* The definition of map `name` in the engine's objects; -ENOENT if none. */
struct subflow_map_def {
	char name[32];
	uint32_t type;		/* enum bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;
};
int subflow_object_map_def(const char *name, struct subflow_map_def *def);

/* ---- engine_record.c: the "engine" pin (struct subflow_engine_record) ----- */
/* Create, fill and pin the record listing pins[0..nr_pins). */
int subflow_record_write(char (*pins)[SUBFLOW_PIN_NAME_LEN], size_t nr_pins);
/* Read it: -ENOENT if there is none, -EPROTO (with a message) if the pin
 * is not an engine record. */
int subflow_record_read(struct subflow_engine_record *rec);

/* ---- engine.c ----------------------------------------------------------- */
/* True when every pin of object o is present (it loaded). */
bool subflow_object_present(const struct subflow_object *o);
/* True when the cgroup with this id is attached (its marker link is pinned). */
bool subflow_cgroup_is_attached(uint64_t cgroup_id);
/* Detach and unpin every hook link of one attachment (lock held). */
void subflow_detach_hooks_locked(uint64_t cgroup_id);
/* A list call of the library's form: at most `max` items written to `out`,
 * *count set to the total, which exceeds max when items were added since
 * the caller counted them. ctx: what to list (a path), or NULL. */
typedef int (*subflow_list_fn)(void *ctx, void *out, size_t max, size_t *count);
/* Every item of `list`, in an array the caller frees (NULL when there is
 * none): listed again, with more room, until the room sufficed, so *count
 * never exceeds what the array holds. Returns the array in *out, or NULL
 * with an error: the list's own, -ENOMEM, or -EAGAIN when it never
 * stopped growing (8 tries). */
int subflow_list_all(subflow_list_fn list, void *ctx, size_t item_size, void **out,
		     size_t *count);
/* subflow_list_all of subflow_cgroup_list (cgroup.c: of
 * subflow_cgroup_subtree_ids). */
int subflow_cgroup_list_all(struct subflow_attachment **out, size_t *count);

/* ---- attachments.c: what the engine covers, as cgroups come and go --------- */
/* The attached cgroup covering cgroup `id`: itself or its nearest attached
 * ancestor; 0 if none. */
uint64_t subflow_cgroup_covering(uint64_t id);
/* -EEXIST (with a message) if an ancestor or descendant of cgroup id (at
 * path) is attached. */
int subflow_cgroup_check_nesting(uint64_t id, const char *path);
/* subflow_cgroup_prune() if the lock is free right now; else nothing. */
int subflow_cgroup_prune_if_free(void);
/* After detaching `detached`: remove the policies of the cgroups below it. */
void subflow_remove_uncovered_policies_locked(uint64_t detached);
/* sums[key] = the sum over CPUs of a per-CPU array's __u64 counters 0..n-1. */
int subflow_percpu_sums(enum subflow_map_id map, uint32_t n, uint64_t *sums);

/* ---- cc.c: the coupled congestion controls -------------------------------- */
/* The names of the congestion controls the engine registers, NULL-terminated:
 * a policy's `cc NAME` may name one of these besides the kernel's own. */
extern const char *const subflow_cc_names[];
bool subflow_cc_is_engine_name(const char *name);
/* The one place that says which congestion controls a subflow may be given:
 * the kernel's (tcp_available_congestion_control) and the engine's own, even
 * before the engine registers them. */
bool subflow_cc_is_offered(const char *name);
/* Their names, space-separated (the kernel's first). */
void subflow_cc_offered(char *buf, size_t size);

struct subflow_cc_state {
	char name[16];
	bool registered;	/* in tcp_available_congestion_control */
	bool by_this_engine;	/* through the link pinned in this pin directory */
	bool unprivileged;	/* in tcp_allowed_congestion_control */
	uint32_t link_id;	/* ours */
	uint32_t map_id;	/* ours: the struct_ops map */
	uint32_t other_map_id;	/* registered, not by us: a struct_ops map of that name, 0 if none seen */
};
/* One entry per name of subflow_cc_names (at most max written). */
int subflow_cc_list(struct subflow_cc_state *out, size_t max, size_t *count);
/* ---- capacity.c ---------------------------------------------------------- */
#define SUBFLOW_MAX_CONNS_ENV "SUBFLOW_MAX_CONNS"
/* Size the connection table's maps of `obj` (between open and load). */
int subflow_size_maps(struct bpf_object *obj);

/* ---- features.c: what the kernel offers, from its BTF ----------------------- */
enum subflow_feature_kind {
	SUBFLOW_FEATURE_MEMBER,		/* btf_name is a struct with a member `member` */
	SUBFLOW_FEATURE_STRUCT,
	SUBFLOW_FEATURE_FUNC,		/* a kernel function or kfunc */
	SUBFLOW_FEATURE_ENUMERATOR,	/* btf_name is a value of some enum */
};
struct subflow_feature {
	const char *name;		/* in messages and status */
	const char *btf_name;
	const char *member;
	enum subflow_feature_kind kind;
	bool required;			/* the engine does not load without it */
	const char *since;		/* "Linux 6.5", NULL if not stated */
	bool found;
};
struct btf;
/* Probe every feature in btf (NULL: none found); returns how many there
 * are, at most max written. */
size_t subflow_features_probe_btf(const struct btf *btf, struct subflow_feature *out,
				  size_t max);
/* The same in the running kernel's BTF. */
int subflow_features_probe(struct subflow_feature *out, size_t max, size_t *count);
/* -EOPNOTSUPP, with a message naming each missing required feature and since
 * when Linux has it. */
int subflow_features_check(const struct subflow_feature *f, size_t n);
/* Probe the running kernel and check. */
int subflow_features_require(void);

/* ---- cgroup.c ----------------------------------------------------------- */
/* The cgroup v2 mount point, from /proc/self/mounts. */
int subflow_cgroup2_root(char *buf, size_t size);
/* The cgroup id (inode of the directory) of a cgroup v2 path; -ENOTDIR or
 * -EINVAL (with a message) when the path is not a cgroup v2 directory. */
int subflow_cgroup_id_of(const char *path, uint64_t *id);
/* The path of cgroup `id` under the cgroup2 root; -ENOENT if it is gone. */
int subflow_cgroup_path_of(uint64_t id, char *buf, size_t size);
/* Open cgroup `id`'s directory (open_by_handle_at, needs root): an fd, or
 * -ENOENT once the cgroup is removed. */
int subflow_cgroup_open_by_id(uint64_t id);
/* False once cgroup `id` is removed (true when that cannot be told). */
bool subflow_cgroup_exists(uint64_t id);
/* The ids of cgroup `id`'s ancestors, parent first, up to (not including)
 * the cgroup2 root; at most max written, the number in *count. */
int subflow_cgroup_ancestors(uint64_t id, uint64_t *ids, size_t max, size_t *count);
/* Collect the ids of `path` and all its descendants (at most max). */
int subflow_cgroup_subtree_ids(const char *path, uint64_t *ids, size_t max, size_t *count);
int subflow_cgroup_subtree_ids_all(const char *path, uint64_t **ids, size_t *count);

/* ---- netns.c: the one network-namespace executor ---------------------------- */
/* Run fn(arg) in a short-lived thread that entered the network namespace
 * (setns); the caller's thread never changes namespace. Returns fn's value,
 * or -errno if the namespace cannot be entered. ns_fd -1: our own. */
#include <sys/types.h>
int subflow_netns_run_fd(int ns_fd, int (*fn)(void *), void *arg);
/* The namespace named NAME (/run/netns/NAME) or at a path (with a '/'):
 * an fd, or -errno (-ENOTNAM: the file is not a network namespace); no
 * message: subflow_netns_path() gives the path to name in one. */
int subflow_netns_open(const char *name);
void subflow_netns_path(const char *name, char *buf, size_t size);
int subflow_netns_run_name(const char *name, int (*fn)(void *), void *arg);
/* The namespace of process pid (-ENOENT once it has exited). */
int subflow_netns_run_pid(pid_t pid, int (*fn)(void *), void *arg);
/* The namespace with inode ino (as `ls -l /proc/PID/ns/net` shows it and
 * the conns map records it), found under /run/netns or /proc; -ENOENT if no
 * file names it any more. */
int subflow_netns_run_ino(ino_t ino, int (*fn)(void *), void *arg);

/* ---- snapshot.c --------------------------------------------------------- */
/* Record the subflows that exist now in the network namespaces used by the
 * processes of `cgroup_path` (and the caller's). Returns how many were found. */
int subflow_snapshot_cgroup(const char *cgroup_path);

/* ---- query.c ------------------------------------------------------------ */
/* Remove every subflow/connection entry whose cgroup is in ids[]. */
int subflow_purge_cgroups(const uint64_t *ids, size_t n);

/* ---- format.c: shared text helpers ---------------------------------------- */
const char *subflow_tcp_state_name(uint8_t state);
/* "10.0.0.1" / "fd00::1" */
void subflow_endpoint_addr_str(const struct subflow_endpoint *ep, char *buf, size_t size);
/* A number that fits 32 bits (subflow_parse_uint(): decimal or 0x-hex,
 * nothing else); -EINVAL or -ERANGE. */
int subflow_parse_u32(const char *s, uint32_t *out);

/* ---- mechanism.c: how plain TCP becomes MPTCP for unmodified programs ---- */
struct subflow_fmod_ret_probe {
	int err;		/* 0: fmod_ret on update_socket_protocol loads and attaches */
	const char *step;	/* what failed: "btf" (no hook), "load", "attach" */
};
/* Load and attach (then drop) a do-nothing fmod_ret program on
 * update_socket_protocol. 0 or -errno, with the step in p. */
int subflow_probe_fmod_ret(struct subflow_fmod_ret_probe *p);
/* The kernel lockdown mode ("none", "integrity", "confidentiality"), read
 * from securityfs (mounted privately for the read when it is not). */
int subflow_lockdown_mode(char *buf, size_t size);
/* One line: why fmod_ret is unavailable, with errno name and lockdown mode. */
void subflow_fmod_ret_reason(const struct subflow_fmod_ret_probe *p, char *buf, size_t size);
/* The same for the engine's mptcpify object, pointing to `subflowctl run`. */
void subflow_fmod_ret_explain(int err, const char *step, char *buf, size_t size);

/* ---- launch.c: run a program with its TCP sockets created as MPTCP ------- */
/* Seccomp user notification: socket(AF_INET{,6}, SOCK_STREAM, 0|IPPROTO_TCP)
 * of the program and all its descendants becomes socket(..., IPPROTO_MPTCP),
 * created by the supervisor (the caller) in the caller's network namespace;
 * plain TCP (the kernel's own call) when MPTCP cannot be created. */
struct subflow_launch_opts {
	/* Move the caller into this cgroup v2 directory first: sockets are
	 * charged to the cgroup of the process that creates them. */
	const char *cgroup;
	/* Run in the child after fork, before the filter and execvp():
	 * restore signal masks and dispositions there. 0 or -errno. */
	int (*child_setup)(void *ctx);
	void *child_setup_ctx;
};

struct subflow_launch_stats {
	uint64_t mptcp;		/* sockets created as MPTCP */
	uint64_t tcp;		/* left to the kernel: plain TCP (or its own error) */
	uint64_t interrupted;	/* caller interrupted or gone before the answer */
	uint64_t other_netns;	/* created in a namespace the program moved to */
};

struct subflow_launch {
	pid_t pid;		/* the program; -1 when not running */
	int listener;		/* POLLIN: a call to serve; POLLHUP: no task left */
	bool no_new_privs;	/* set on the program (the caller lacked CAP_SYS_ADMIN) */
	bool exec_failed;	/* start failed in execvp() (ENOENT: not found) */
	const char *failed_step;	/* what failed in start */
	int fallback_errno;	/* last reason a socket stayed TCP */
	struct subflow_launch_stats stats;
	/* private */
	void *req, *resp;
	size_t req_size, resp_size;
	int own_netns_fd;
	char own_netns[32];	/* readlink of /proc/self/ns/net: "net:[INODE]" */
};

void subflow_launch_init(struct subflow_launch *l);
/* Fork, filter and execvp(argv[0]) (PATH search). 0 when the program runs;
 * -errno otherwise, with failed_step and exec_failed set and the child
 * reaped. The caller reaps l->pid itself later. */
int subflow_launch_start(struct subflow_launch *l, char *const argv[],
			 const struct subflow_launch_opts *opts);
/* Serve one pending notification (call on POLLIN). 0, or -errno when the
 * listener itself failed. */
int subflow_launch_serve(struct subflow_launch *l);
void subflow_launch_close(struct subflow_launch *l);

#endif /* SUBFLOW_INTERNAL_H */
