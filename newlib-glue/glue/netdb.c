/* netdb.c: getaddrinfo, freeaddrinfo, getnameinfo, gai_strerror, gethostbyname(_r): numeric hosts, "localhost", else the kernel's DNS client (sys_dns_lookup); services by number or by name (services.c's table). No /etc/hosts, no reverse DNS. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include "glue.h"

int sys_dns_lookup(const char *name, int v6, unsigned char *out, int max);

int h_errno;

enum { MAX_ADDRS = 8 };

/* Addresses of `name` for `family` (AF_INET or AF_INET6), 16 bytes each; count or an EAI_ code (negative). */
static int resolve_family(const char *name, int family, int flags, unsigned char out[MAX_ADDRS][16])
{
	memset(out, 0, MAX_ADDRS * 16);
	if (name == NULL) {
		if (family == AF_INET6) {
			if (!(flags & AI_PASSIVE))
				out[0][15] = 1;
		} else if (!(flags & AI_PASSIVE)) {
			out[0][0] = 127;
			out[0][3] = 1;
		}
		return 1;
	}
	if (inet_pton(family, name, out[0]) == 1)
		return 1;
	if (family == AF_INET) {
		struct in_addr a;
		if (inet_aton(name, &a)) {
			memcpy(out[0], &a, 4);
			return 1;
		}
	}
	if (flags & AI_NUMERICHOST)
		return -EAI_NONAME;
	if (strcasecmp(name, "localhost") == 0) {
		if (family == AF_INET6)
			out[0][15] = 1;
		else {
			out[0][0] = 127;
			out[0][3] = 1;
		}
		return 1;
	}
	int n = sys_dns_lookup(name, family == AF_INET6, &out[0][0], MAX_ADDRS);
	if (n > 0)
		return n;
	if (n == -ETIMEDOUT || n == -EAGAIN || n == -EINTR)
		return -EAI_AGAIN;
	if (n == -EHOSTUNREACH)
		return -EAI_FAIL;
	return -EAI_NONAME;
}

/* resolve_family, and for AF_INET6 with AI_V4MAPPED, as glibc: the IPv4 addresses as
 * IPv4-mapped IPv6 ones (::ffff:a.b.c.d) when there is no IPv6 address, or after them with
 * AI_ALL. */
static int resolve(const char *name, int family, int flags, unsigned char out[MAX_ADDRS][16])
{
	int n = resolve_family(name, family, flags, out);
	if (family != AF_INET6 || !(flags & AI_V4MAPPED) || name == NULL || (n > 0 && !(flags & AI_ALL)))
		return n;
	unsigned char v4[MAX_ADDRS][16];
	int m = resolve_family(name, AF_INET, flags, v4);
	if (m <= 0)
		return n;
	int count = n > 0 ? n : 0;
	for (int i = 0; i < m && count < MAX_ADDRS; i++, count++) {
		memset(out[count], 0, 16);
		out[count][10] = 0xff;
		out[count][11] = 0xff;
		memcpy(&out[count][12], v4[i], 4);
	}
	return count;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	int family = hints ? hints->ai_family : AF_UNSPEC;
	int socktype = hints ? hints->ai_socktype : 0;
	int protocol = hints ? hints->ai_protocol : 0;
	int flags = hints ? hints->ai_flags : 0;
	if (node == NULL && service == NULL)
		return EAI_NONAME;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return EAI_FAMILY;
	if (socktype != 0 && socktype != SOCK_STREAM && socktype != SOCK_DGRAM)
		return EAI_SOCKTYPE;
	unsigned long port = 0;
	if (service) {
		char *end;
		port = strtoul(service, &end, 10);
		if (*service == '\0' || *end != '\0') {
			/* A service name, as glibc takes it (the original's lwIP took numbers only and
			   said EAI_SERVICE): the built-in table's port for the socket type asked. */
			if (flags & AI_NUMERICSERV)
				return EAI_NONAME;
			const char *proto = socktype == SOCK_DGRAM ? "udp" : socktype == SOCK_STREAM ? "tcp" : NULL;
			struct servent *se = getservbyname(service, proto);
			if (se == NULL)
				return EAI_SERVICE;
			port = ntohs((uint16_t)se->s_port);
		} else if (port > 65535)
			return EAI_SERVICE;
	}
	unsigned char addrs[MAX_ADDRS][16];
	int families[MAX_ADDRS];
	int n;
	if (node == NULL && family == AF_UNSPEC) {
		/* Both wildcard addresses (AI_PASSIVE, IPv4 first) or both loopback ones (IPv6
		   first), in glibc's order. Before, IPv4 alone. */
		unsigned char one[MAX_ADDRS][16];
		families[0] = (flags & AI_PASSIVE) ? AF_INET : AF_INET6;
		families[1] = families[0] == AF_INET ? AF_INET6 : AF_INET;
		for (int i = 0; i < 2; i++) {
			resolve(NULL, families[i], flags, one);
			memcpy(addrs[i], one[0], 16);
		}
		n = 2;
	} else {
		int af = family == AF_UNSPEC ? AF_INET : family;
		n = resolve(node, af, flags, addrs);
		/* AF_UNSPEC: IPv6 when the name has no IPv4 address (a numeric IPv6 one, or a name
		   with only AAAA records), as glibc also returns IPv6 addresses. */
		if (n < 0 && family == AF_UNSPEC && node && (strchr(node, ':') || n == -EAI_NONAME)) {
			af = AF_INET6;
			n = resolve(node, af, flags, addrs);
		}
		if (n < 0)
			return -n;
		for (int i = 0; i < n; i++)
			families[i] = af;
	}
	/* The socket types of the answers, as glibc gives them: the one asked for, else the one
	   ai_protocol implies (UDP: datagrams), else one entry of each per address, stream first
	   (glibc also adds SOCK_RAW; there are no raw sockets here). Before, every answer was
	   SOCK_STREAM, also with IPPROTO_UDP (libevent's regression tests). */
	int types[2] = { socktype, 0 };
	if (socktype == 0 && protocol == IPPROTO_UDP)
		types[0] = SOCK_DGRAM;
	else if (socktype == 0 && protocol == IPPROTO_TCP)
		types[0] = SOCK_STREAM;
	else if (socktype == 0) {
		types[0] = SOCK_STREAM;
		types[1] = SOCK_DGRAM;
	}
	struct addrinfo *head = NULL, **tail = &head;
	for (int i = 0; i < n * 2; i++) {
		int type = types[i % 2], af = families[i / 2];
		if (type == 0)
			continue;
		size_t salen = af == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_storage));
		if (!ai) {
			freeaddrinfo(head);
			return EAI_MEMORY;
		}
		ai->ai_family = af;
		ai->ai_socktype = type;
		ai->ai_protocol = protocol ? protocol : (type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP);
		ai->ai_addrlen = (socklen_t)salen;
		ai->ai_addr = (struct sockaddr *)(ai + 1);
		if (af == AF_INET6) {
			struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ai->ai_addr;
			sa->sin6_len = (uint8_t)salen;
			sa->sin6_family = AF_INET6;
			sa->sin6_port = htons((uint16_t)port);
			memcpy(&sa->sin6_addr, addrs[i / 2], 16);
		} else {
			struct sockaddr_in *sa = (struct sockaddr_in *)ai->ai_addr;
			sa->sin_len = (uint8_t)salen;
			sa->sin_family = AF_INET;
			sa->sin_port = htons((uint16_t)port);
			memcpy(&sa->sin_addr, addrs[i / 2], 4);
		}
		if (head == NULL && (flags & AI_CANONNAME) && node)
			ai->ai_canonname = strdup(node);
		*tail = ai;
		tail = &ai->ai_next;
	}
	*res = head;
	return 0;
}

void freeaddrinfo(struct addrinfo *ai)
{
	while (ai) {
		struct addrinfo *next = ai->ai_next;
		free(ai->ai_canonname);
		free(ai);
		ai = next;
	}
}

/* Writes `n` in decimal to `out` (room for 11 bytes). */
static void decimal(unsigned n, char *out)
{
	char digits[10];
	int i = 0;
	do
		digits[i++] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	while (i > 0)
		*out++ = digits[--i];
	*out = '\0';
}

/* Copies `text` to `out` (room for `len` bytes with the NUL), or EAI_OVERFLOW. */
static int put_name(char *out, socklen_t len, const char *text)
{
	size_t n = strlen(text);
	if (n >= len)
		return EAI_OVERFLOW;
	memcpy(out, text, n + 1);
	return 0;
}

/* Numeric only, as there is no reverse DNS: the address as inet_ntop writes it (an IPv6
 * link-local one with "%scope"), except that without NI_NUMERICHOST the loopback addresses
 * are "localhost", the name getaddrinfo knows them by; NI_NAMEREQD fails (EAI_NONAME) for
 * every other. The service is always the port number (no services database, so NI_DGRAM
 * changes nothing). */
int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	if (flags & ~(NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM))
		return EAI_BADFLAGS;
	if (sa == NULL)
		return EAI_FAMILY;
	if ((host == NULL || hostlen == 0) && (serv == NULL || servlen == 0))
		return EAI_NONAME;
	const void *addr;
	in_port_t port;
	int loopback;
	uint32_t scope = 0;
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		addr = &in->sin_addr;
		port = in->sin_port;
		loopback = ((const unsigned char *)addr)[0] == 127;
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		static const unsigned char one[16] = { [15] = 1 };
		const unsigned char *b = (const unsigned char *)&in6->sin6_addr;
		addr = &in6->sin6_addr;
		port = in6->sin6_port;
		loopback = memcmp(b, one, 16) == 0;
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			scope = in6->sin6_scope_id;
	} else {
		return EAI_FAMILY;
	}
	if (host != NULL && hostlen > 0) {
		char text[INET6_ADDRSTRLEN + 11];
		if (loopback && !(flags & NI_NUMERICHOST)) {
			strcpy(text, "localhost");
		} else if (flags & NI_NAMEREQD) {
			return EAI_NONAME;
		} else {
			inet_ntop(sa->sa_family, addr, text, sizeof(text));
			if (scope != 0) {
				size_t n = strlen(text);
				text[n++] = '%';
				decimal(scope, text + n);
			}
		}
		int rc = put_name(host, hostlen, text);
		if (rc != 0)
			return rc;
	}
	if (serv != NULL && servlen > 0) {
		char text[8];
		decimal(ntohs(port), text);
		return put_name(serv, servlen, text);
	}
	return 0;
}

const char *gai_strerror(int code)
{
	switch (code) {
	case 0: return "Success";
	case EAI_NONAME: return "Name or service not known";
	case EAI_NODATA: return "No address associated with hostname";
	case EAI_ADDRFAMILY: return "Address family for hostname not supported";
	case EAI_SYSTEM: return "System error";
	case EAI_SERVICE: return "Service not supported";
	case EAI_FAIL: return "Non-recoverable failure in name resolution";
	case EAI_MEMORY: return "Memory allocation failure";
	case EAI_FAMILY: return "Address family not supported";
	case EAI_AGAIN: return "Temporary failure in name resolution";
	case EAI_SOCKTYPE: return "Socket type not supported";
	case EAI_BADFLAGS: return "Bad value for ai_flags";
	case EAI_OVERFLOW: return "Result too large for supplied buffer";
	default: return "Unknown error";
	}
}

struct hostent_buf {
	char name[256];
	char *aliases[1];
	char *addrs[MAX_ADDRS + 1];
	unsigned char data[MAX_ADDRS][4];
};

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	*result = NULL;
	if (buflen < sizeof(struct hostent_buf)) {
		if (h_errnop)
			*h_errnop = NO_RECOVERY;
		return ERANGE;
	}
	struct hostent_buf *b = (struct hostent_buf *)buf;
	unsigned char addrs[MAX_ADDRS][16];
	int n = resolve(name, AF_INET, 0, addrs);
	if (n <= 0) {
		if (h_errnop)
			*h_errnop = n == -EAI_AGAIN ? TRY_AGAIN : HOST_NOT_FOUND;
		return 0;
	}
	strncpy(b->name, name, sizeof(b->name) - 1);
	b->name[sizeof(b->name) - 1] = '\0';
	b->aliases[0] = NULL;
	for (int i = 0; i < n; i++) {
		memcpy(b->data[i], addrs[i], 4);
		b->addrs[i] = (char *)b->data[i];
	}
	b->addrs[n] = NULL;
	ret->h_name = b->name;
	ret->h_aliases = b->aliases;
	ret->h_addrtype = AF_INET;
	ret->h_length = 4;
	ret->h_addr_list = b->addrs;
	*result = ret;
	return 0;
}

struct hostent *gethostbyname(const char *name)
{
	static struct hostent host;
	static struct hostent_buf buf;
	struct hostent *result;
	gethostbyname_r(name, &host, (char *)&buf, sizeof(buf), &result, &h_errno);
	return result;
}
