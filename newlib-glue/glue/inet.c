/* inet.c: inet_addr, inet_aton, inet_ntoa, inet_pton, inet_ntop (IPv4 dotted quads, IPv6 with :: and embedded IPv4). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

const struct in6_addr in6addr_any = IN6ADDR_ANY_INIT;
const struct in6_addr in6addr_loopback = IN6ADDR_LOOPBACK_INIT;

/* Strict dotted quad for inet_pton: four decimal parts 0..255, no leading zeros. */
static int pton4(const char *s, unsigned char out[4])
{
	int parts = 0;
	while (parts < 4) {
		if (*s < '0' || *s > '9')
			return 0;
		unsigned v = 0;
		const char *start = s;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned)(*s++ - '0');
			if (v > 255 || s - start > 3)
				return 0;
		}
		if (s - start > 1 && *start == '0')
			return 0;
		out[parts++] = (unsigned char)v;
		if (parts < 4 && *s++ != '.')
			return 0;
	}
	return *s == '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int pton6(const char *s, unsigned char out[16])
{
	unsigned char buf[16] = {0};
	int n = 0, gap = -1;
	if (s[0] == ':' && s[1] == ':') {
		gap = 0;
		s += 2;
		if (*s == '\0')
			goto done;
	} else if (*s == ':') {
		return 0;
	}
	for (;;) {
		const char *start = s;
		unsigned v = 0;
		int digits = 0, h;
		while ((h = hexval(*s)) >= 0 && digits < 5) {
			v = v * 16 + (unsigned)h;
			s++;
			digits++;
		}
		if (*s == '.' && n <= 12) {
			if (!pton4(start, buf + n))
				return 0;
			n += 4;
			break;
		}
		if (digits == 0 || digits > 4 || n > 14)
			return 0;
		buf[n++] = (unsigned char)(v >> 8);
		buf[n++] = (unsigned char)v;
		if (*s == '\0')
			break;
		if (*s++ != ':')
			return 0;
		if (*s == ':') {
			if (gap >= 0)
				return 0;
			gap = n;
			s++;
			if (*s == '\0')
				break;
		}
	}
done:
	if (gap >= 0) {
		if (n == 16)
			return 0;
		memmove(buf + 16 - (n - gap), buf + gap, (size_t)(n - gap));
		memset(buf + gap, 0, (size_t)(16 - n));
	} else if (n != 16) {
		return 0;
	}
	memcpy(out, buf, 16);
	return 1;
}

int inet_pton(int af, const char *src, void *dst)
{
	if (af == AF_INET)
		return pton4(src, dst);
	if (af == AF_INET6)
		return pton6(src, dst);
	errno = EAFNOSUPPORT;
	return -1;
}

const char *inet_ntop(int af, const void *src, char *dst, socklen_t size)
{
	char buf[INET6_ADDRSTRLEN];
	const unsigned char *a = src;
	if (af == AF_INET) {
		snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	} else if (af == AF_INET6) {
		/* The longest run of two or more zero groups becomes "::" (RFC 5952). */
		int best = -1, best_len = 0;
		for (int i = 0; i < 8;) {
			int j = i;
			while (j < 8 && a[2 * j] == 0 && a[2 * j + 1] == 0)
				j++;
			if (j - i > best_len && j - i >= 2) {
				best = i;
				best_len = j - i;
			}
			i = j > i ? j : i + 1;
		}
		char *p = buf;
		for (int i = 0; i < 8; i++) {
			if (i == best) {
				*p++ = ':';
				if (i == 0)
					*p++ = ':';
				i += best_len - 1;
				continue;
			}
			if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && a[10] == 0xff && a[11] == 0xff))) {
				p += sprintf(p, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
				break;
			}
			p += sprintf(p, "%x", (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
			if (i < 7)
				*p++ = ':';
		}
		*p = '\0';
	} else {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	if (strlen(buf) >= size) {
		errno = ENOSPC;
		return NULL;
	}
	strcpy(dst, buf);
	return dst;
}

/* inet_aton: the classic forms a, a.b, a.b.c, a.b.c.d with decimal, octal or hex parts. */
int inet_aton(const char *cp, struct in_addr *addr)
{
	unsigned long parts[4];
	int n = 0;
	for (;;) {
		unsigned long v = 0;
		int base = 10, digits = 0;
		if (*cp == '0') {
			base = 8;
			cp++;
			digits = 1;
			if (*cp == 'x' || *cp == 'X') {
				base = 16;
				cp++;
				digits = 0;
			}
		}
		for (;; cp++) {
			int d = hexval(*cp);
			if (d < 0 || d >= base)
				break;
			v = v * (unsigned long)base + (unsigned long)d;
			digits++;
			if (v > 0xffffffffUL)
				return 0;
		}
		if (!digits)
			return 0;
		parts[n++] = v;
		if (*cp == '.' && n < 4) {
			cp++;
			continue;
		}
		break;
	}
	if (*cp != '\0' && *cp != ' ')
		return 0;
	unsigned long v = parts[n - 1];
	static const unsigned long max[] = {0xffffffffUL, 0xffffffUL, 0xffffUL, 0xffUL};
	if (v > max[n - 1])
		return 0;
	for (int i = 0; i < n - 1; i++) {
		if (parts[i] > 0xff)
			return 0;
		v |= parts[i] << (24 - 8 * i);
	}
	if (addr)
		addr->s_addr = htonl((uint32_t)v);
	return 1;
}

in_addr_t inet_addr(const char *cp)
{
	struct in_addr a;
	return inet_aton(cp, &a) ? a.s_addr : INADDR_NONE;
}

char *inet_ntoa(struct in_addr addr)
{
	static char buf[INET_ADDRSTRLEN];
	return (char *)inet_ntop(AF_INET, &addr, buf, sizeof(buf));
}
