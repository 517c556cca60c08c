/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A pod's pins: maps under <pinPath>/maps/<name>, links under <pinPath>/links/<name>, and the
 * node's shared maps and sk_msg link under <dirname(pinPath)>/SC_NODE_DIR (pins.c).
 */
#ifndef SC_PINS_H
#define SC_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum sc_link {
	SC_LINK_CONNECT4,
	SC_LINK_CONNECT6,
	SC_LINK_GETPEERNAME4,
	SC_LINK_GETPEERNAME6,
	SC_LINK_SOCKOPS,
	SC_LINK_GETSOCKOPT,
	SC_LINK_SK_MSG,
	SC_LINK_SK_LOOKUP, /* in the pod's network namespace; only when inbound steering is on */
	SC_LINK_SENDMSG4,  /* DNS capture (bpf/dns.bpf.c) */
	SC_LINK_SENDMSG6,
	SC_LINK_RECVMSG4,
	SC_LINK_RECVMSG6,
	SC_LINK__MAX,
};

extern const char *const sc_link_names[SC_LINK__MAX];

/* Path helpers: <pin>/maps/<name>, <pin>/links/<name>; the node directory of a pod, where the
 * maps shared by the pods of the node are pinned: <dirname(pin)>/SC_NODE_DIR. */
int sc_node_path(char *buf, size_t len, const char *pin_path);
int sc_pin_map_path(char *buf, size_t len, const char *pin_path, const char *name);
int sc_pin_link_path(char *buf, size_t len, const char *pin_path, const char *name);
/* <pin>/progs/<name>: an sk_msg program attached without a link (kernels before 6.10). */
int sc_pin_prog_path(char *buf, size_t len, const char *pin_path, const char *name);

/* mkdir -p PATH with MODE for what it creates. 0 or -errno. */
int sc_mkdir_p(const char *path, mode_t mode);

/* Create <node>/maps, <node>/links and <node>/progs (CREATE), then lock <node> against other pods' daemons
 * setting up or removing the node objects at the same time. Returns the locked directory's fd. */
int sc_node_lock(const char *node, bool create);

/* Detach the link L pinned under PIN_PATH, whoever holds it, and unpin it. 0 or -errno. */
int sc_unpin_link(const char *pin_path, enum sc_link l);

/*
 * Detach the sk_msg program pinned at DIR/progs/sk_msg (attached with bpf_prog_attach to the
 * sockhash pinned as DIR/maps/MAP_NAME, where the kernel has no sockmap links), unpin it, and
 * remove DIR/progs. 0 (also when nothing is pinned there) or -errno.
 */
int sc_detach_msg(const char *dir, const char *map_name);

/*
 * Remove everything pinned under PIN_PATH, whether or not a daemon holds it: detach every link,
 * then unpin the maps; the node's shared objects too when no other pod's pins are left beside
 * PIN_PATH. Open accelerated connections keep their path until they close. 0 or -errno.
 */
int sc_pins_remove(const char *pin_path);

/*
 * Remove the pins of every pod under PARENT (the directory holding the pods' pin paths) whose
 * cgroup is gone: a pod deleted while its interceptor was down. The pins of a live pod, or of a
 * pod whose links are not pinned yet (a daemon starting), are never touched. Returns the number of
 * pods removed, or -errno.
 */
int sc_pins_remove_stale(const char *parent);

#endif /* SC_PINS_H */
