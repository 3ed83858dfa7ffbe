/* netstream.h: what the network test programs share: the clock, IPv4 addresses, FNV-1a checksums, whole sends, a pseudo-random stream echoed back, one short echo exchange. */
#ifndef NETSTREAM_H
#define NETSTREAM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC. */
static inline long net_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The IPv4 socket address ip:port (`ip` NULL: any address), with lwIP's sin_len. */
static inline struct sockaddr_in net_ipv4(const char *ip, int port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_len = sizeof(sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (ip)
		inet_pton(AF_INET, ip, &sa.sin_addr);
	else
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
	return sa;
}

/* The FNV-1a hash state `h` (start: 2166136261) after the bytes `p[0..n)`. */
static inline uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Sends all `len` bytes of `buf` on socket `s`: 0, or -1 when a send fails or sends nothing. */
static inline int write_all(int s, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(s, p, len, 0);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends back on `c` what it receives until the peer ends its side (or a send fails), through
   `buf` of `cap` bytes: the number of bytes echoed. */
static inline size_t echo_back(int c, void *buf, size_t cap)
{
	size_t total = 0;
	ssize_t n;
	while ((n = recv(c, buf, cap, 0)) > 0) {
		if (write_all(c, buf, (size_t)n) != 0)
			break;
		total += (size_t)n;
	}
	return total;
}

/* The argument of stream_writer: the socket, how many bytes to send, whether to shut the
   sending side down after them, and (set by the thread) the FNV-1a hash of what it sent. */
struct stream_writer {
	int s;
	size_t bytes;
	int half_close;
	uint32_t hash;
};

/* A thread (pthread_create's start routine, `p` a struct stream_writer) that sends a
   pseudo-random stream on `s` while the caller reads the echo back. */
static inline void *stream_writer(void *p)
{
	struct stream_writer *w = p;
	static unsigned char buf[65536];
	uint32_t seed = 12345, h = 2166136261u;
	for (size_t sent = 0; sent < w->bytes;) {
		size_t chunk = w->bytes - sent < sizeof(buf) ? w->bytes - sent : sizeof(buf);
		for (size_t i = 0; i < chunk; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (unsigned char)(seed >> 16);
		}
		h = fnv(h, buf, chunk);
		if (write_all(w->s, buf, chunk) != 0)
			break;
		sent += chunk;
	}
	if (w->half_close)
		shutdown(w->s, SHUT_WR);
	w->hash = h;
	return NULL;
}

/* Sends `bytes` of stream_writer's stream on the connected socket `s` from a thread while it
   reads the echo back (to the end of the stream if `half_close`, else `bytes`): whether all
   came back unchanged; `*got` and `*hash` tell what came back. */
static inline int echo_stream(int s, size_t bytes, int half_close, size_t *got, uint32_t *hash)
{
	struct stream_writer w = {.s = s, .bytes = bytes, .half_close = half_close};
	pthread_t t;
	pthread_create(&t, NULL, stream_writer, &w);
	static unsigned char buf[65536];
	uint32_t h = 2166136261u;
	size_t total = 0;
	ssize_t n;
	while ((half_close || total < bytes) && (n = recv(s, buf, sizeof(buf), 0)) > 0) {
		h = fnv(h, buf, (size_t)n);
		total += (size_t)n;
	}
	pthread_join(t, NULL);
	*got = total;
	*hash = h;
	return total == bytes && h == w.hash;
}

/* Connects socket `s` to `sa` and sends 64 bytes of one letter (chosen by `tag`) to an echo
   server: whether they all came back. */
static inline int echo_once(int s, const struct sockaddr *sa, socklen_t len, int tag)
{
	char out[64], in[64];
	memset(out, 'a' + tag % 26, sizeof(out));
	int ok = connect(s, sa, len) == 0 && send(s, out, sizeof(out), 0) == (ssize_t)sizeof(out);
	size_t got = 0;
	while (ok && got < sizeof(in)) {
		ssize_t n = recv(s, in + got, sizeof(in) - got, 0);
		ok = n > 0;
		got += n > 0 ? (size_t)n : 0;
	}
	return ok && memcmp(in, out, sizeof(in)) == 0;
}

#endif
