/* cares_main: the unchanged c-ares library resolving names through a DNS responder of ours on 127.0.0.1, in one guest. */
/*
 * cares_main selftest: a thread of ours answers DNS on 127.0.0.1 (UDP and TCP, port 5300):
 *   a.test     A 192.0.2.1, 192.0.2.2; AAAA 2001:db8::1
 *   big.test   over UDP an empty answer with TC set (truncated), over TCP A 192.0.2.10-13:
 *              c-ares must retry over TCP to get them
 *   other      NXDOMAIN
 * and a UDP socket on 127.0.0.1:5301 that never answers (a silent server). c-ares runs its own
 * event thread (ARES_OPT_EVENT_THREAD); the driver prints what c-ares returned and how many
 * queries the responder saw over each transport, and exits non-zero on the first mismatch.
 * cares_main bench <count>: <count> uncached lookups against the same responder, one after
 *   another; the time of one (docs/benchmarks.md compares it with Linux's).
 * cares_main resolve <server> <name>...: ares_getaddrinfo (AF_UNSPEC) of each name through
 *   <server> (ares_set_servers_csv), one line per name: "<name> <addresses>" or "<name> <error>".
 */
#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { PORT = 5300, SILENT_PORT = 5301 };

static int udp_queries, tcp_queries;

/* The reply to query `q` (`qlen` bytes) into `out`; its length, or 0 if the query is malformed. */
static size_t answer(const unsigned char *q, size_t qlen, int over_tcp, unsigned char *out)
{
	char name[256];
	size_t pos = 12, n = 0;
	if (qlen < 17)
		return 0;
	while (pos < qlen && q[pos] != 0) {
		size_t len = q[pos++];
		if (pos + len > qlen || n + len + 1 >= sizeof(name))
			return 0;
		if (n)
			name[n++] = '.';
		memcpy(name + n, q + pos, len);
		n += len;
		pos += len;
	}
	name[n] = '\0';
	if (pos + 5 > qlen)
		return 0;
	unsigned qtype = (q[pos + 1] << 8) | q[pos + 2];
	size_t qend = pos + 5;
	memcpy(out, q, qend);
	out[2] = 0x80 | (q[2] & 0x01); /* QR, RD copied */
	out[3] = 0x80;                 /* RA, NOERROR */
	out[4] = 0, out[5] = 1;        /* one question */
	memset(out + 6, 0, 6);         /* no answers yet */
	size_t len = qend;
	unsigned count = 0;
	int a = strcasecmp(name, "a.test") == 0, big = strcasecmp(name, "big.test") == 0;
	if (!a && !big) {
		out[3] |= 3; /* NXDOMAIN */
		return len;
	}
	if (big && !over_tcp) {
		out[2] |= 0x02; /* TC: the answer does not fit */
		return len;
	}
	unsigned char addrs[4][16];
	unsigned naddrs = 0, alen = 4;
	if (a && qtype == 1) {
		inet_pton(AF_INET, "192.0.2.1", addrs[naddrs++]);
		inet_pton(AF_INET, "192.0.2.2", addrs[naddrs++]);
	} else if (a && qtype == 28) {
		alen = 16;
		inet_pton(AF_INET6, "2001:db8::1", addrs[naddrs++]);
	} else if (big && qtype == 1) {
		for (unsigned i = 0; i < 4; i++)
			addrs[naddrs][0] = 192, addrs[naddrs][1] = 0, addrs[naddrs][2] = 2, addrs[naddrs++][3] = 10 + i;
	}
	for (count = 0; count < naddrs; count++) {
		unsigned char rr[12] = { 0xc0, 12, 0, (unsigned char)qtype, 0, 1, 0, 0, 0, 60, 0, (unsigned char)alen };
		memcpy(out + len, rr, sizeof(rr));
		memcpy(out + len + sizeof(rr), addrs[count], alen);
		len += sizeof(rr) + alen;
	}
	out[7] = (unsigned char)count;
	return len;
}

/* Reads exactly `len` bytes; 0 on success. */
static int read_all(int fd, unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t r = read(fd, buf, len);
		if (r <= 0)
			return -1;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

/* The responder: UDP datagrams and TCP connections (one at a time, length-prefixed messages). */
static void *responder(void *arg)
{
	int *fds = arg, udp = fds[0], lis = fds[1], conn = -1;
	unsigned char q[512], r[1024];
	for (;;) {
		struct pollfd p[3] = { { udp, POLLIN, 0 }, { lis, POLLIN, 0 }, { conn, POLLIN, 0 } };
		if (poll(p, conn >= 0 ? 3 : 2, -1) < 0)
			return NULL;
		if (p[0].revents & POLLIN) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
			size_t len = n > 0 ? answer(q, (size_t)n, 0, r) : 0;
			__atomic_add_fetch(&udp_queries, 1, __ATOMIC_SEQ_CST);
			if (len)
				sendto(udp, r, len, 0, (struct sockaddr *)&from, fl);
		}
		if ((p[1].revents & POLLIN) && conn < 0)
			conn = accept(lis, NULL, NULL);
		if (conn >= 0 && p[2].revents) {
			unsigned char hdr[2];
			size_t qlen = 0;
			if (read_all(conn, hdr, 2) == 0)
				qlen = (size_t)((hdr[0] << 8) | hdr[1]);
			if (qlen == 0 || qlen > sizeof(q) || read_all(conn, q, qlen) != 0) {
				close(conn);
				conn = -1;
				continue;
			}
			__atomic_add_fetch(&tcp_queries, 1, __ATOMIC_SEQ_CST);
			size_t len = answer(q, qlen, 1, r + 2);
			r[0] = (unsigned char)(len >> 8), r[1] = (unsigned char)len;
			if (write(conn, r, len + 2) != (ssize_t)(len + 2)) {
				close(conn);
				conn = -1;
			}
		}
	}
}

static int bound_socket(int type, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, type, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("socket/bind");
		exit(1);
	}
	if (type == SOCK_STREAM && listen(fd, 4) != 0) {
		perror("listen");
		exit(1);
	}
	return fd;
}

/* One lookup's outcome as text: the addresses in c-ares's order, or the error's name. */
struct result {
	char text[512];
	int done;
};

static void addrinfo_done(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct result *out = arg;
	(void)timeouts;
	if (status != ARES_SUCCESS) {
		snprintf(out->text, sizeof(out->text), "%s", ares_strerror(status));
	} else {
		size_t n = 0;
		for (struct ares_addrinfo_node *node = res->nodes; node; node = node->ai_next) {
			char buf[INET6_ADDRSTRLEN];
			const void *addr = node->ai_family == AF_INET
				? (const void *)&((struct sockaddr_in *)node->ai_addr)->sin_addr
				: (const void *)&((struct sockaddr_in6 *)node->ai_addr)->sin6_addr;
			inet_ntop(node->ai_family, addr, buf, sizeof(buf));
			n += (size_t)snprintf(out->text + n, sizeof(out->text) - n, "%s%s", n ? " " : "", buf);
		}
		ares_freeaddrinfo(res);
	}
	out->done = 1;
}

static void query_done(void *arg, ares_status_t status, size_t timeouts, const ares_dns_record_t *dnsrec)
{
	struct result *out = arg;
	(void)timeouts;
	if (status != ARES_SUCCESS) {
		snprintf(out->text, sizeof(out->text), "%s", ares_strerror((int)status));
	} else if (ares_dns_record_get_rcode(dnsrec) != ARES_RCODE_NOERROR) {
		snprintf(out->text, sizeof(out->text), "rcode %s", ares_dns_rcode_tostr(ares_dns_record_get_rcode(dnsrec)));
	} else {
		size_t n = 0, cnt = ares_dns_record_rr_cnt(dnsrec, ARES_SECTION_ANSWER);
		for (size_t i = 0; i < cnt; i++) {
			const ares_dns_rr_t *rr = ares_dns_record_rr_get_const(dnsrec, ARES_SECTION_ANSWER, i);
			char buf[INET6_ADDRSTRLEN];
			if (ares_dns_rr_get_type(rr) != ARES_REC_TYPE_A)
				continue;
			inet_ntop(AF_INET, ares_dns_rr_get_addr(rr, ARES_RR_A_ADDR), buf, sizeof(buf));
			n += (size_t)snprintf(out->text + n, sizeof(out->text) - n, "%s%s", n ? " " : "", buf);
		}
	}
	out->done = 1;
}

/* A channel with its own event thread, 300 ms per try, two tries, asking `servers` only;
 * without the query cache when `uncached` (every lookup then reaches the server). */
static ares_channel_t *channel_with(const char *servers, int uncached)
{
	struct ares_options opts = { 0 };
	opts.evsys = ARES_EVSYS_DEFAULT;
	opts.timeout = 300;
	opts.tries = 2;
	opts.qcache_max_ttl = 0;
	ares_channel_t *ch = NULL;
	int status = ares_init_options(&ch, &opts, ARES_OPT_EVENT_THREAD | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES
		| (uncached ? ARES_OPT_QUERY_CACHE : 0));
	if (status == ARES_SUCCESS)
		status = ares_set_servers_csv(ch, servers);
	if (status != ARES_SUCCESS) {
		printf("channel for %s: %s\n", servers, ares_strerror(status));
		exit(1);
	}
	return ch;
}

static ares_channel_t *channel(const char *servers)
{
	return channel_with(servers, 0);
}

static const char *getaddrinfo_text(ares_channel_t *ch, const char *name, int family)
{
	static struct result res;
	struct ares_addrinfo_hints hints = { .ai_family = family };
	memset(&res, 0, sizeof(res));
	ares_getaddrinfo(ch, name, NULL, &hints, addrinfo_done, &res);
	ares_queue_wait_empty(ch, -1);
	return res.done ? res.text : "no callback";
}

static const char *query_text(ares_channel_t *ch, const char *name)
{
	static struct result res;
	memset(&res, 0, sizeof(res));
	ares_query_dnsrec(ch, name, ARES_CLASS_IN, ARES_REC_TYPE_A, query_done, &res, NULL);
	ares_queue_wait_empty(ch, -1);
	return res.done ? res.text : "no callback";
}

static int failures;

static void expect(const char *what, const char *got, const char *want)
{
	int ok = strcmp(got, want) == 0;
	printf("%s: %s%s%s\n", what, got, ok ? "" : "  MISMATCH, expected ", ok ? "" : want);
	failures += !ok;
}

static int selftest(void)
{
	static int fds[2];
	fds[0] = bound_socket(SOCK_DGRAM, PORT);
	fds[1] = bound_socket(SOCK_STREAM, PORT);
	int silent = bound_socket(SOCK_DGRAM, SILENT_PORT);
	pthread_t t;
	pthread_create(&t, NULL, responder, fds);

	ares_channel_t *ch = channel("127.0.0.1:5300");
	expect("getaddrinfo a.test AF_INET", getaddrinfo_text(ch, "a.test", AF_INET), "192.0.2.1 192.0.2.2");
	expect("getaddrinfo a.test AF_INET6", getaddrinfo_text(ch, "a.test", AF_INET6), "2001:db8::1");
	int udp_before = udp_queries;
	expect("query big.test A", query_text(ch, "big.test"), "192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.13");
	printf("big.test: %d UDP and %d TCP queries\n", udp_queries - udp_before, tcp_queries);
	if (udp_queries - udp_before != 1 || tcp_queries != 1) {
		printf("  MISMATCH, expected the truncated UDP answer once, then one TCP query\n");
		failures++;
	}
	expect("query nx.test A", query_text(ch, "nx.test"), "Domain name not found");
	expect("getaddrinfo nx.test", getaddrinfo_text(ch, "nx.test", AF_INET), "Domain name not found");
	ares_destroy(ch);

	ch = channel("127.0.0.1:5301");
	expect("query a.test A via a silent server", query_text(ch, "a.test"), "Timeout while contacting DNS servers");
	ares_destroy(ch);
	close(silent);
	printf("c-ares %s selftest: %s\n", ares_version(NULL), failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}

/* The caller (net/cares_test.py) judges the printed answers. */
static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* `count` uncached lookups one after another against the responder thread: the time of one
 * (c-ares's event thread, a UDP round trip over loopback, the waiting thread woken). */
static int bench(int count)
{
	static int fds[2];
	fds[0] = bound_socket(SOCK_DGRAM, PORT);
	fds[1] = bound_socket(SOCK_STREAM, PORT);
	pthread_t t;
	pthread_create(&t, NULL, responder, fds);
	ares_channel_t *ch = channel_with("127.0.0.1:5300", 1);
	getaddrinfo_text(ch, "a.test", AF_INET); /* warm-up */
	int before = udp_queries;
	double start = now_us();
	for (int i = 0; i < count; i++) {
		const char *text = getaddrinfo_text(ch, "a.test", AF_INET);
		if (strcmp(text, "192.0.2.1 192.0.2.2") != 0) {
			printf("lookup %d: %s\n", i, text);
			return 1;
		}
	}
	double us = (now_us() - start) / count;
	printf("bench: %d lookups (%d queries) of %.1f us each\n", count, udp_queries - before, us);
	ares_destroy(ch);
	return 0;
}

static int resolve(const char *server, int n, char **names)
{
	ares_channel_t *ch = channel(server);
	for (int i = 0; i < n; i++)
		printf("%s %s\n", names[i], getaddrinfo_text(ch, names[i], AF_UNSPEC));
	ares_destroy(ch);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS || !ares_threadsafety()) {
		printf("c-ares did not initialise, or was built without threads\n");
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "selftest") == 0)
		return selftest();
	if (argc == 3 && strcmp(argv[1], "bench") == 0)
		return bench(atoi(argv[2]));
	if (argc >= 4 && strcmp(argv[1], "resolve") == 0)
		return resolve(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "usage: cares_main selftest | cares_main bench <count> | cares_main resolve <server> <name>...\n");
	return 2;
}
