/* services.c: getservbyname, getservbyport over a built-in table of well-known services (no /etc/services). */
#include <arpa/inet.h>
#include <netdb.h>
#include <stddef.h>
#include <string.h>

/* Each service for both "tcp" and "udp", as IANA registers most of these. The entries are
 * constant and never written, so handing them out is safe from any thread (glibc's
 * getservbyname returns a static buffer instead). s_port is filled in network byte order by
 * the macro: htons is not a constant expression for every compiler, so the bytes are swapped
 * by hand (x86 is little-endian). */
#define NBO(p) ((int)((((p) & 0xff) << 8) | (((p) >> 8) & 0xff)))
#define SERVICE(name, port, proto) { (char *)(name), no_aliases, NBO(port), (char *)(proto) }
#define BOTH(name, port) SERVICE(name, port, "tcp"), SERVICE(name, port, "udp")

static char *no_aliases[] = { NULL };

static struct servent services[] = {
	BOTH("echo", 7),      BOTH("discard", 9),     BOTH("daytime", 13),  BOTH("ftp-data", 20),
	BOTH("ftp", 21),      BOTH("ssh", 22),        BOTH("telnet", 23),   BOTH("smtp", 25),
	BOTH("time", 37),     BOTH("domain", 53),     BOTH("tftp", 69),     BOTH("gopher", 70),
	BOTH("finger", 79),   BOTH("http", 80),       BOTH("kerberos", 88), BOTH("pop3", 110),
	BOTH("sunrpc", 111),  BOTH("auth", 113),      BOTH("nntp", 119),    BOTH("ntp", 123),
	BOTH("imap", 143),    BOTH("snmp", 161),      BOTH("ldap", 389),    BOTH("https", 443),
	BOTH("submission", 587), BOTH("ldaps", 636),  BOTH("imaps", 993),   BOTH("pop3s", 995),
	BOTH("mysql", 3306),  BOTH("postgresql", 5432), BOTH("http-alt", 8080),
};

/* NULL proto matches any, as in glibc. */
static int proto_matches(const struct servent *s, const char *proto)
{
	return proto == NULL || strcmp(s->s_proto, proto) == 0;
}

struct servent *getservbyname(const char *name, const char *proto)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (strcmp(services[i].s_name, name) == 0 && proto_matches(&services[i], proto))
			return &services[i];
	return NULL;
}

/* `port` in network byte order, as the caller passes it (htons(80)). */
struct servent *getservbyport(int port, const char *proto)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (services[i].s_port == port && proto_matches(&services[i], proto))
			return &services[i];
	return NULL;
}
