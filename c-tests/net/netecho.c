/* netecho.c: a TCP echo server, a tiny HTTP server (in the spirit of the original nweb23) and an echo client, for loopback self-tests and tap/user-mode end-to-end tests. */
/*
 * Usage (argv):
 *   echo <port> [connections]      echo server: serves `connections` clients one after another (default 1, 0 = forever)
 *   http <port> [requests]         HTTP/1.0 server: GET / answers a small page, GET /bytes/<n> n bytes of a pattern
 *   client <ipv4> <port> <bytes> [whole]
 *                                  connects, sends <bytes> pseudo-random bytes, reads the echo back, compares
 *                                  checksums; half-closes after sending, or with "whole" reads all <bytes> back
 *                                  before it closes (no half-close: Debian 12's passt loses the host's data
 *                                  and FIN after a guest's FIN, README "User-mode networking")
 *   selftest                        echo server and client over 127.0.0.1 (and the HTTP server once), in one image
 * Prints "netecho: ..." lines; exits 0 on success.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netstream.h"

static int listen_on(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 8) != 0) {
		perror("netecho: listen");
		exit(1);
	}
	printf("netecho: listening on port %d\n", port);
	fflush(stdout);
	return s;
}

static int serve_echo(int port, int connections)
{
	int l = listen_on(port);
	static char buf[65536];
	for (int i = 0; connections == 0 || i < connections; i++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int c = accept(l, (struct sockaddr *)&peer, &len);
		if (c < 0) {
			perror("netecho: accept");
			return 1;
		}
		size_t total = echo_back(c, buf, sizeof(buf));
		printf("netecho: echoed %zu bytes to %s:%d\n", total, inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
		fflush(stdout);
		close(c);
	}
	close(l);
	return 0;
}

static int serve_http(int port, int requests)
{
	int l = listen_on(port);
	for (int i = 0; requests == 0 || i < requests; i++) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			return 1;
		char req[2048];
		size_t got = 0;
		ssize_t n;
		while (got < sizeof(req) - 1 && (n = recv(c, req + got, sizeof(req) - 1 - got, 0)) > 0) {
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
				break;
		}
		req[got] = '\0';
		char path[256] = "";
		if (sscanf(req, "GET %255s", path) != 1) {
			const char *bad = "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
			write_all(c, bad, strlen(bad));
		} else if (strncmp(path, "/bytes/", 7) == 0) {
			long count = atol(path + 7);
			char head[128];
			int h = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %ld\r\n\r\n", count);
			write_all(c, head, (size_t)h);
			static char chunk[16384];
			for (size_t k = 0; k < sizeof(chunk); k++)
				chunk[k] = (char)('a' + k % 26);
			for (long sent = 0; sent < count;) {
				size_t part = (size_t)(count - sent) < sizeof(chunk) ? (size_t)(count - sent) : sizeof(chunk);
				if (write_all(c, chunk, part) != 0)
					break;
				sent += (long)part;
			}
		} else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
			const char *body = "<html><body><h1>HermitCore</h1><p>Hello from the unikernel.</p></body></html>\n";
			char head[128];
			int h = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n\r\n", strlen(body));
			write_all(c, head, (size_t)h);
			write_all(c, body, strlen(body));
		} else {
			const char *nf = "HTTP/1.0 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n";
			write_all(c, nf, strlen(nf));
		}
		printf("netecho: http GET %s\n", path);
		fflush(stdout);
		shutdown(c, SHUT_WR);
		char drain[256];
		while (recv(c, drain, sizeof(drain), 0) > 0)
			;
		close(c);
	}
	close(l);
	return 0;
}

static int run_client(const char *host, int port, size_t bytes, int half_close)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "netecho: bad address %s\n", host);
		return 1;
	}
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("netecho: connect");
		return 1;
	}
	size_t got;
	uint32_t h;
	int ok = echo_stream(s, bytes, half_close, &got, &h);
	close(s);
	printf("netecho: client sent %zu bytes, got %zu back, checksum %08x %s\n", bytes, got, h, ok ? "ok" : "MISMATCH");
	return ok ? 0 : 1;
}

static void *selftest_server(void *p)
{
	(void)p;
	serve_echo(7777, 1);
	return NULL;
}

static void *selftest_http(void *p)
{
	(void)p;
	serve_http(8080, 1);
	return NULL;
}

static int selftest(void)
{
	pthread_t t;
	pthread_create(&t, NULL, selftest_server, NULL);
	usleep(20000);
	int rc = run_client("127.0.0.1", 7777, 1 << 20, 1);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, selftest_http, NULL);
	usleep(20000);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(8080);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return 1;
	const char *req = "GET /bytes/100000 HTTP/1.0\r\n\r\n";
	write_all(s, req, strlen(req));
	shutdown(s, SHUT_WR);
	static char resp[200000];
	size_t got = 0;
	ssize_t n;
	while ((n = recv(s, resp + got, sizeof(resp) - 1 - got, 0)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(s);
	pthread_join(t, NULL);
	char *body = strstr(resp, "\r\n\r\n");
	int http_ok = strncmp(resp, "HTTP/1.0 200 OK", 15) == 0 && body && strlen(body + 4) == 100000;
	printf("netecho: http selftest %s\n", http_ok ? "ok" : "FAILED");
	return rc || !http_ok;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "echo") == 0)
		return serve_echo(atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 1);
	if (argc >= 3 && strcmp(argv[1], "http") == 0)
		return serve_http(atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 0);
	if (argc >= 5 && strcmp(argv[1], "client") == 0)
		return run_client(argv[2], atoi(argv[3]), (size_t)atoll(argv[4]), !(argc > 5 && strcmp(argv[5], "whole") == 0));
	if (argc >= 2 && strcmp(argv[1], "selftest") == 0)
		return selftest();
	fprintf(stderr, "usage: netecho echo <port> [n] | http <port> [n] | client <ipv4> <port> <bytes> | selftest\n");
	return 2;
}
