// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Name resolution for mbus-attach --tcp. Built twice: with getaddrinfo()
 * for the installed tool, and with NMBUS_STATIC_RESOLVE for the static
 * copy in the test guest, where glibc's getaddrinfo() would need the
 * shared NSS libraries: that one takes numeric addresses only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "attach-tcp.h"

#ifdef NMBUS_STATIC_RESOLVE
int tcp_resolve(const char *host, uint16_t port, unsigned int pick,
		struct sockaddr_storage *ss, socklen_t *len, char *err,
		size_t err_size)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	(void)pick;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	snprintf(err, err_size,
		 "this mbus-attach is linked statically and takes numeric addresses only");
	return -1;
}
#else
int tcp_resolve(const char *host, uint16_t port, unsigned int pick,
		struct sockaddr_storage *ss, socklen_t *len, char *err,
		size_t err_size)
{
	const struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG,
	};
	struct addrinfo *res, *ai;
	unsigned int n = 0;
	char service[8];
	int ret;

	snprintf(service, sizeof(service), "%u", port);
	ret = getaddrinfo(host, service, &hints, &res);
	if (ret) {
		snprintf(err, err_size, "%s",
			 ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
		return -1;
	}
	/* Each attempt takes the next address: one that is down is no trap. */
	for (ai = res; ai; ai = ai->ai_next)
		n++;
	for (ai = res, pick %= n; pick; pick--)
		ai = ai->ai_next;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
#endif
