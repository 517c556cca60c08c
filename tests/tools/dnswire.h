/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Minimal DNS messages for the tests and the DNS benchmark: a query of one question, an answer
 * of one A or AAAA record to any such query, and the address of that answer. Enough for a
 * resolver (glibc's getaddrinfo included) to accept it; nothing more of DNS.
 */
#ifndef SC_TOOLS_DNSWIRE_H
#define SC_TOOLS_DNSWIRE_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define DNS_QTYPE_A    1
#define DNS_QTYPE_AAAA 28

/* A query for NAME of QTYPE with ID into BUF (512 bytes); its length. */
static inline size_t dns_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype)
{
	size_t n = 12, len;
	const char *p = name, *dot;

	memset(buf, 0, 12);
	buf[0] = id >> 8;
	buf[1] = id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (*p) {
		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		buf[n++] = len;
		memcpy(buf + n, p, len);
		n += len;
		p += len + (dot ? 1 : 0);
	}
	buf[n++] = 0;
	buf[n++] = qtype >> 8;
	buf[n++] = qtype;
	buf[n++] = 0;
	buf[n++] = 1; /* IN */
	return n;
}

/* The answer to query Q (QLEN bytes) into OUT (512 bytes): A4 for an A question, A6 for any
 * other. Its length, or 0 for something that is not a query of one question. */
static inline size_t dns_answer(const uint8_t *q, size_t qlen, uint8_t *out, const char *a4,
				const char *a6)
{
	size_t n = 12;
	uint16_t qtype;
	bool v4;

	if (qlen < 17 || qlen > 300 || (q[2] & 0x80) || q[5] != 1)
		return 0;
	while (n < qlen && q[n])
		n += q[n] + 1;
	if (n + 5 > qlen)
		return 0;
	n += 5; /* the root label, QTYPE, QCLASS */
	qtype = q[n - 4] << 8 | q[n - 3];
	v4 = qtype == DNS_QTYPE_A;
	memcpy(out, q, n);
	out[2] = 0x81;	 /* QR, RD */
	out[3] = 0x80;	 /* RA, NOERROR */
	out[7] = 1;	 /* ANCOUNT */
	out[n++] = 0xc0; /* the name: a pointer to the question's */
	out[n++] = 12;
	out[n++] = 0;
	out[n++] = v4 ? DNS_QTYPE_A : DNS_QTYPE_AAAA;
	out[n++] = 0;
	out[n++] = 1;
	memcpy(out + n, "\0\0\0\x3c", 4); /* TTL 60 */
	n += 4;
	out[n++] = 0;
	out[n++] = v4 ? 4 : 16;
	inet_pton(v4 ? AF_INET : AF_INET6, v4 ? a4 : a6, out + n);
	return n + (v4 ? 4 : 16);
}

/* The address of the first answer of R (LEN bytes) to query ID, in ADDR; -1 if none. */
static inline int dns_parse(const uint8_t *r, size_t len, uint16_t id, char *addr, size_t alen)
{
	size_t n = 12;
	uint16_t type, rdlen;

	if (len < 12 || (r[0] << 8 | r[1]) != id || !(r[2] & 0x80) || !(r[6] << 8 | r[7]))
		return -1;
	while (n < len && r[n])
		n += r[n] + 1;
	n += 5;
	if (n + 12 > len)
		return -1;
	n += 2; /* the name pointer */
	type = r[n] << 8 | r[n + 1];
	n += 8;
	rdlen = r[n] << 8 | r[n + 1];
	n += 2;
	if (n + rdlen > len || rdlen != (type == DNS_QTYPE_A ? 4 : 16))
		return -1;
	inet_ntop(type == DNS_QTYPE_A ? AF_INET : AF_INET6, r + n, addr, alen);
	return 0;
}

/* ADDR (IPv4 or IPv6 text) and PORT as a socket address; 0, or -1 when ADDR does not parse. */
static inline int dns_sockaddr(const char *addr, int port, struct sockaddr_storage *ss,
			       socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, addr, &s4->sin_addr) == 1 ? 0 : -1;
}

#endif /* SC_TOOLS_DNSWIRE_H */
