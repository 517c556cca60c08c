// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Socket addresses: parsing ADDR:PORT, printing, comparing, and the original destination. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

/* "1.2.3.4:80" or "[::1]:80"; the address must be numeric. Port 0 asks the kernel for one. */
int ps_addr_parse(const char *text, union ps_addr *addr)
{
	char host[INET6_ADDRSTRLEN];
	const char *port_str;
	unsigned long port;
	size_t host_len;
	char *end;

	memset(addr, 0, sizeof(*addr));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		host_len = close - text - 1;
		if (host_len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, host_len);
		host[host_len] = '\0';
		port_str = close + 2;
	} else {
		const char *colon = strrchr(text, ':');

		if (!colon)
			return -EINVAL;
		host_len = colon - text;
		if (host_len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, host_len);
		host[host_len] = '\0';
		port_str = colon + 1;
	}

	if (port_str[0] < '0' || port_str[0] > '9')
		return -EINVAL;
	errno = 0;
	port = strtoul(port_str, &end, 10);
	if (errno || *end || port > 65535)
		return -EINVAL;

	if (text[0] == '[') {
		if (inet_pton(AF_INET6, host, &addr->in6.sin6_addr) != 1)
			return -EINVAL;
		addr->in6.sin6_family = AF_INET6;
		addr->in6.sin6_port = htons(port);
	} else {
		if (inet_pton(AF_INET, host, &addr->in.sin_addr) != 1)
			return -EINVAL;
		addr->in.sin_family = AF_INET;
		addr->in.sin_port = htons(port);
	}
	return 0;
}

void ps_addr_format(const union ps_addr *addr, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	switch (addr->sa.sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &addr->in.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(addr->in.sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &addr->in6.sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(addr->in6.sin6_port));
		break;
	default:
		snprintf(buf, len, "-");
		break;
	}
}

uint16_t ps_addr_port(const union ps_addr *addr)
{
	if (addr->sa.sa_family == AF_INET)
		return ntohs(addr->in.sin_port);
	if (addr->sa.sa_family == AF_INET6)
		return ntohs(addr->in6.sin6_port);
	return 0;
}

/*
 * A dual-stack IPv6 socket reports IPv4 peers as ::ffff:a.b.c.d. Turning those back into IPv4
 * makes comparisons family-blind and makes an upstream connect to such an address go out as the
 * IPv4 connect the application made, which is the one the interceptor's connect4 hook expects.
 */
void ps_addr_unmap(union ps_addr *addr)
{
	struct sockaddr_in in = {.sin_family = AF_INET};

	if (addr->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&addr->in6.sin6_addr))
		return;
	in.sin_port = addr->in6.sin6_port;
	memcpy(&in.sin_addr, &addr->in6.sin6_addr.s6_addr[12], 4);
	memset(addr, 0, sizeof(*addr));
	addr->in = in;
}

bool ps_addr_equal(const union ps_addr *a, const union ps_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       IN6_ARE_ADDR_EQUAL(&a->in6.sin6_addr, &b->in6.sin6_addr);
	return false;
}

bool ps_addr_is_any(const union ps_addr *addr)
{
	if (addr->sa.sa_family == AF_INET)
		return addr->in.sin_addr.s_addr == htonl(INADDR_ANY);
	if (addr->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&addr->in6.sin6_addr);
	return false;
}

bool ps_addr_is_loopback(const union ps_addr *addr)
{
	if (addr->sa.sa_family == AF_INET)
		return (ntohl(addr->in.sin_addr.s_addr) >> 24) == IN_LOOPBACKNET;
	if (addr->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&addr->in6.sin6_addr);
	return false;
}

/*
 * Ask one level for the original destination, offering the size of that level's address (a
 * struct sockaddr_in for SOL_IP, sockaddr_in6 for SOL_IPV6) as conntrack and the interceptor's
 * getsockopt program expect. The answer is still read by the family it carries.
 */
static int orig_dst_at(int fd, int level, union ps_addr *dst)
{
	int optname = level == SOL_IP ? PS_SO_ORIGINAL_DST : PS_IP6T_SO_ORIGINAL_DST;
	socklen_t len = level == SOL_IP ? sizeof(dst->in) : sizeof(dst->in6);

	memset(dst, 0, sizeof(*dst));
	if (getsockopt(fd, level, optname, &dst->ss, &len) < 0)
		return -errno;
	if (dst->sa.sa_family == AF_INET && len >= sizeof(dst->in))
		return 0;
	if (dst->sa.sa_family == AF_INET6 && len >= sizeof(dst->in6))
		return 0;
	return -EAFNOSUPPORT;
}

/*
 * Where a redirected connection was going before it was sent to us, IPv4-mapped addresses turned
 * into IPv4. iptables REDIRECT answers from conntrack, the eBPF interceptor from its
 * cgroup/getsockopt program. Returns 0 or -errno: ENOENT when conntrack knows no such connection,
 * ENOPROTOOPT when nothing answers at all.
 */
int ps_orig_dst(int fd, union ps_addr *dst)
{
	union ps_addr local, peer;
	socklen_t len = sizeof(local.ss);
	int first, second, err;

	if (getsockname(fd, &local.sa, &len) < 0)
		return -errno;
	if (local.sa.sa_family == AF_INET)
		return orig_dst_at(fd, SOL_IP, dst);
	if (local.sa.sa_family != AF_INET6)
		return -EAFNOSUPPORT;

	/*
	 * An IPv4 client of a dual-stack listener is an IPv4 connection to conntrack and to the
	 * interceptor alike, so SOL_IP is asked first. The other level is asked too when the first
	 * has no answer: an application's v6 socket connecting to an IPv4-mapped address is
	 * recorded as IPv4 by the interceptor, whatever family its redirected connection has.
	 */
	len = sizeof(peer.ss);
	if (getpeername(fd, &peer.sa, &len) < 0)
		return -errno;
	first = IN6_IS_ADDR_V4MAPPED(&peer.in6.sin6_addr) ? SOL_IP : SOL_IPV6;
	second = first == SOL_IP ? SOL_IPV6 : SOL_IP;
	err = orig_dst_at(fd, first, dst);
	if (err && orig_dst_at(fd, second, dst))
		return err;
	ps_addr_unmap(dst);
	return 0;
}
