// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * proxy-stub's life cycle: options, listeners, dropping privileges, the ready signals the tests
 * wait for, and a clean stop on SIGTERM or SIGINT. The relaying itself is in conn.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "proxy.h"

/* The kernel caps it at net.core.somaxconn; a burst of connects from a benchmark fills less. */
#define PS_BACKLOG 4096

static const char *const default_outbound[] = {"127.0.0.1:15001", "[::1]:15001"};

struct ps_opts {
	struct ps_listener *listeners;
	size_t n_listeners;
	bool outbound_given;
	const char *user;
	const char *group;
	const char *ready_file;
	size_t max_conns;
	bool log;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: proxy-stub [options]\n"
		"  --outbound ADDR:PORT  outbound listener; repeatable (default 127.0.0.1:15001 "
		"and\n"
		"                        [::1]:15001): relays to the connection's SO_ORIGINAL_DST\n"
		"  --inbound ADDR:PORT   inbound listener; repeatable (default none): relays to\n"
		"                        127.0.0.1 or [::1], the connection's original port\n"
		"  --user UID|NAME       drop to this user once the listeners are bound\n"
		"  --group GID|NAME      and this group (default: the user's group, else GID = "
		"UID)\n"
		"  --log                 one line per finished connection on stdout\n"
		"  --max-conns N         reset connections beyond N open ones (default %d)\n"
		"  --ready-file PATH     write our pid to PATH once listening\n",
		PS_DEFAULT_MAX_CONNS);
}

static int add_listener(struct ps_opts *opts, const char *text, enum ps_dir dir, bool is_default)
{
	struct ps_listener *v;
	union ps_addr addr;

	if (ps_addr_parse(text, &addr)) {
		fprintf(stderr,
			"proxy-stub: --%s %s: not an address; expected IPv4:PORT or [IPv6]:PORT, "
			"numeric, e.g. 127.0.0.1:15001 or [::1]:15001\n",
			dir == PS_OUTBOUND ? "outbound" : "inbound", text);
		return -EINVAL;
	}
	v = realloc(opts->listeners, (opts->n_listeners + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	opts->listeners = v;
	v = &opts->listeners[opts->n_listeners++];
	memset(v, 0, sizeof(*v));
	v->dir = dir;
	v->is_default = is_default;
	v->addr = addr;
	return 0;
}

static int parse_size(const char *text, size_t *out)
{
	unsigned long long v;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > SIZE_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Returns 0, 1 after --help, or -errno with the problem reported. */
static int parse_args(int argc, char **argv, struct ps_opts *opts)
{
	static const struct option longopts[] = {
		{"outbound", required_argument, NULL, 'o'},
		{"inbound", required_argument, NULL, 'i'},
		{"user", required_argument, NULL, 'u'},
		{"group", required_argument, NULL, 'g'},
		{"log", no_argument, NULL, 'l'},
		{"max-conns", required_argument, NULL, 'm'},
		{"ready-file", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	size_t i;
	int c, err;

	opts->max_conns = PS_DEFAULT_MAX_CONNS;
	while ((c = getopt_long(argc, argv, "o:i:u:g:lm:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			err = add_listener(opts, optarg, PS_OUTBOUND, false);
			if (err)
				return err;
			opts->outbound_given = true;
			break;
		case 'i':
			err = add_listener(opts, optarg, PS_INBOUND, false);
			if (err)
				return err;
			break;
		case 'u':
			opts->user = optarg;
			break;
		case 'g':
			opts->group = optarg;
			break;
		case 'l':
			opts->log = true;
			break;
		case 'm':
			if (parse_size(optarg, &opts->max_conns)) {
				fprintf(stderr,
					"proxy-stub: --max-conns %s: not a count; expected a "
					"non-negative integer\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'r':
			opts->ready_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "proxy-stub: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (opts->group && !opts->user) {
		fprintf(stderr, "proxy-stub: --group needs --user\n");
		return -EINVAL;
	}
	if (!opts->outbound_given) {
		for (i = 0; i < sizeof(default_outbound) / sizeof(default_outbound[0]); i++) {
			err = add_listener(opts, default_outbound[i], PS_OUTBOUND, true);
			if (err)
				return err;
		}
	}
	return 0;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * Resolve --user and --group before anything is bound, so that a typo fails fast. Without
 * --group the user's own group is used, or GID = UID for a uid with no passwd entry (Istio runs
 * its proxy as 1337:1337 without one); staying in root's group would keep its privileges.
 */
static int resolve_ids(const char *user, const char *group, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	struct group *gr;
	size_t v;

	if (is_number(user)) {
		if (parse_size(user, &v) || v >= (uid_t)-1)
			goto bad_user;
		*uid = v;
		pw = getpwuid(*uid);
	} else {
		pw = getpwnam(user);
		if (!pw)
			goto bad_user;
		*uid = pw->pw_uid;
	}

	if (!group) {
		*gid = pw ? pw->pw_gid : (gid_t)*uid;
		return 0;
	}
	if (is_number(group)) {
		if (parse_size(group, &v) || v >= (gid_t)-1)
			goto bad_group;
		*gid = v;
		return 0;
	}
	gr = getgrnam(group);
	if (!gr)
		goto bad_group;
	*gid = gr->gr_gid;
	return 0;

bad_user:
	fprintf(stderr, "proxy-stub: --user %s: no such user; give a name from passwd or a uid\n",
		user);
	return -EINVAL;
bad_group:
	fprintf(stderr, "proxy-stub: --group %s: no such group; give a name from group or a gid\n",
		group);
	return -EINVAL;
}

/*
 * The interceptor tells the proxy's own upstream connections from the application's by uid (and
 * gid), so the drop must be complete: supplementary groups first, then the group while we may
 * still change it, then the user. Each step is checked, including that root cannot be regained.
 */
static int drop_privileges(uid_t uid, gid_t gid)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (setgroups(0, NULL) < 0)
		return -errno;
	if (setgid(gid) < 0)
		return -errno;
	if (setuid(uid) < 0)
		return -errno;

	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return -errno;
	if (ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid ||
	    sgid != gid || getgroups(0, NULL) != 0)
		return -EPERM;
	if (uid != 0 && setuid(0) == 0)
		return -EPERM;
	return 0;
}

/*
 * A v6 wildcard listener also takes IPv4 unless it is v6-only, and then it collides with any
 * IPv4 listener on its port. It is made v6-only exactly when there is such a listener; alone it
 * stays dual-stack and takes both families.
 */
static unsigned int bind_flags(const struct ps_proxy *proxy, const struct ps_listener *l)
{
	size_t i;

	if (l->addr.sa.sa_family != AF_INET6 || ps_addr_port(&l->addr) == 0)
		return 0;
	for (i = 0; i < proxy->n_listeners; i++) {
		const struct ps_listener *o = &proxy->listeners[i];

		if (o->addr.sa.sa_family == AF_INET &&
		    ps_addr_port(&o->addr) == ps_addr_port(&l->addr))
			return UV_TCP_IPV6ONLY;
	}
	return 0;
}

/*
 * Bind and listen on every listener. A default IPv6 listener that this host cannot have (IPv6
 * disabled, no ::1) is skipped with a warning; anything the user asked for must work.
 */
static int ps_listen(struct ps_proxy *proxy)
{
	char addr_str[PS_ADDRSTRLEN];
	struct ps_listener *l;
	const char *what;
	size_t i;
	int len, err;

	for (i = 0; i < proxy->n_listeners; i++) {
		l = &proxy->listeners[i];
		l->proxy = proxy;
		ps_addr_format(&l->addr, addr_str, sizeof(addr_str));

		err = uv_tcp_init(&proxy->loop, &l->tcp);
		if (err) {
			what = "init";
			goto out_err;
		}
		l->tcp.data = l;
		what = "bind";
		err = uv_tcp_bind(&l->tcp, &l->addr.sa, bind_flags(proxy, l));
		/* libuv reports EADDRINUSE from bind() at listen time. */
		if (!err) {
			what = "listen";
			err = uv_listen((uv_stream_t *)&l->tcp, PS_BACKLOG, ps_on_connection);
		}
		if (err && l->is_default && l->addr.sa.sa_family == AF_INET6 &&
		    (err == UV_EAFNOSUPPORT || err == UV_EADDRNOTAVAIL)) {
			fprintf(stderr, "proxy-stub: default listener %s: %s; skipped\n", addr_str,
				uv_strerror(err));
			uv_close((uv_handle_t *)&l->tcp, NULL);
			continue;
		}
		if (err) {
			uv_close((uv_handle_t *)&l->tcp, NULL);
			goto out_err;
		}

		len = sizeof(l->addr.ss);
		what = "getsockname";
		err = uv_tcp_getsockname(&l->tcp, &l->addr.sa, &len);
		if (err)
			goto out_err;
		l->active = true;
	}
	return 0;

out_err:
	fprintf(stderr, "proxy-stub: --%s %s: %s: %s\n",
		l->dir == PS_OUTBOUND ? "outbound" : "inbound", addr_str, what, uv_strerror(err));
	return err;
}

/* Written to a temporary name and renamed, so that a reader never sees it half-written. */
static int write_ready_file(const char *path)
{
	char tmp[4096];
	FILE *f;
	int err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0) {
		err = -errno;
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		err = -errno;
		goto out_unlink;
	}
	return 0;

out_unlink:
	unlink(tmp);
	return err;
}

static void print_listeners(const struct ps_proxy *proxy, enum ps_dir dir)
{
	char addr_str[PS_ADDRSTRLEN];
	bool first = true;
	size_t i;

	for (i = 0; i < proxy->n_listeners; i++) {
		const struct ps_listener *l = &proxy->listeners[i];

		if (!l->active || l->dir != dir)
			continue;
		ps_addr_format(&l->addr, addr_str, sizeof(addr_str));
		printf("%s%s", first ? "" : ",", addr_str);
		first = false;
	}
	if (first)
		printf("none");
}

static void on_walk_close(uv_handle_t *handle, void *arg)
{
	if (!uv_is_closing(handle))
		uv_close(handle, NULL);
}

/*
 * Stop accepting and reset every connection; the loop then ends once the last close callback
 * has run. The walk closes whatever else is still open, so nothing keeps the loop alive.
 */
static void ps_stop(struct ps_proxy *proxy)
{
	size_t i;

	if (proxy->stopping)
		return;
	proxy->stopping = true;
	for (i = 0; i < proxy->n_listeners; i++)
		if (proxy->listeners[i].active &&
		    !uv_is_closing((uv_handle_t *)&proxy->listeners[i].tcp))
			uv_close((uv_handle_t *)&proxy->listeners[i].tcp, NULL);
	ps_conns_abort_all(proxy);
	uv_walk(&proxy->loop, on_walk_close, NULL);
}

static void on_signal(uv_signal_t *handle, int signum)
{
	ps_stop(handle->data);
}

/* Each accepted connection costs two descriptors; ask for all the hard limit allows. */
static void raise_nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static struct ps_proxy proxy;
	struct ps_opts opts = {0};
	uid_t uid = 0;
	gid_t gid = 0;
	int ret = 1;
	int err;

	err = parse_args(argc, argv, &opts);
	if (err == 1) {
		ret = 0;
		goto out_free;
	}
	if (err || (opts.user && resolve_ids(opts.user, opts.group, &uid, &gid))) {
		ret = 2;
		goto out_free;
	}

	/* A write to a peer that has gone must be an EPIPE error, not the end of the process. */
	signal(SIGPIPE, SIG_IGN);
	raise_nofile_limit();

	proxy.listeners = opts.listeners;
	proxy.n_listeners = opts.n_listeners;
	proxy.max_conns = opts.max_conns;
	proxy.log = opts.log;
	err = uv_loop_init(&proxy.loop);
	if (err) {
		fprintf(stderr, "proxy-stub: uv_loop_init: %s\n", uv_strerror(err));
		goto out_free;
	}
	uv_signal_init(&proxy.loop, &proxy.sigterm);
	uv_signal_init(&proxy.loop, &proxy.sigint);
	proxy.sigterm.data = &proxy;
	proxy.sigint.data = &proxy;

	if (ps_listen(&proxy))
		goto out_close;

	/*
	 * The ready file is written while we can still write where root can. The loop has not
	 * run yet, so no upstream connect can be made with root's uid before the drop below.
	 */
	if (opts.ready_file) {
		err = write_ready_file(opts.ready_file);
		if (err) {
			fprintf(stderr, "proxy-stub: --ready-file %s: %s\n", opts.ready_file,
				strerror(-err));
			goto out_close;
		}
	}
	if (opts.user) {
		err = drop_privileges(uid, gid);
		if (err) {
			fprintf(stderr,
				"proxy-stub: --user %s: cannot become uid %u gid %u: %s (run as "
				"root "
				"to use --user)\n",
				opts.user, (unsigned int)uid, (unsigned int)gid, strerror(-err));
			if (opts.ready_file)
				unlink(opts.ready_file);
			goto out_close;
		}
	}

	err = uv_signal_start(&proxy.sigterm, on_signal, SIGTERM);
	if (!err)
		err = uv_signal_start(&proxy.sigint, on_signal, SIGINT);
	if (err) {
		fprintf(stderr, "proxy-stub: uv_signal_start: %s\n", uv_strerror(err));
		goto out_close;
	}

	printf("proxy-stub: listening out=");
	print_listeners(&proxy, PS_OUTBOUND);
	printf(" in=");
	print_listeners(&proxy, PS_INBOUND);
	printf(" user=%u\n", (unsigned int)geteuid());
	fflush(stdout);

	uv_run(&proxy.loop, UV_RUN_DEFAULT);
	fprintf(stderr,
		"proxy-stub: exiting: accepted=%" PRIu64 " ok=%" PRIu64 " reset=%" PRIu64
		" connect_error=%" PRIu64 " no_orig_dst=%" PRIu64 " loop=%" PRIu64
		" over_limit=%" PRIu64 " errors__accept=%" PRIu64 "\n",
		proxy.stats.accepted, proxy.stats.ok, proxy.stats.reset, proxy.stats.connect_error,
		proxy.stats.no_orig_dst, proxy.stats.loop, proxy.stats.over_limit,
		proxy.stats.errors__accept);
	ret = 0;

out_close:
	/* Error paths close what was opened; after a normal run this finds nothing left. */
	proxy.stopping = true;
	uv_walk(&proxy.loop, on_walk_close, NULL);
	uv_run(&proxy.loop, UV_RUN_DEFAULT);
	err = uv_loop_close(&proxy.loop);
	if (err) {
		fprintf(stderr, "proxy-stub: uv_loop_close: %s (a handle was left open)\n",
			uv_strerror(err));
		ret = 1;
	}
out_free:
	free(opts.listeners);
	return ret;
}
