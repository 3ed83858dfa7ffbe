/* cmark: a CoreMark-style integer kernel (list processing, matrix, state machine, CRC) on 1, 2 and nproc pthreads, iterations per second. */
/*
 * usage: cmark [runs (default 10)] [iterations per thread (default 4000)]
 * Our own kernel in the spirit of EEMBC CoreMark (not its code): each iteration walks,
 * reverses and sorts a 64-node linked list, multiplies two 24x24 int16 matrices, runs a
 * number-parsing state machine over 512 bytes and folds everything into a CRC-16. Every
 * thread works on its own data and must reach the same CRC as a single-threaded reference
 * run; a mismatch fails the program. For each thread count (1, 2 and the online CPUs) it
 * runs `runs` times and prints the median and the worst throughput (iterations/s of all
 * threads together) as cmark_<threads>t_median and cmark_<threads>t_min.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

enum { NODES = 64, DIM = 24, TEXT = 512, MAX_THREADS = 64, MAX_RUNS = 50 };

struct node {
	struct node *next;
	int16_t key, value;
};

struct work {
	struct node pool[NODES];
	int16_t a[DIM * DIM], b[DIM * DIM];
	int32_t c[DIM * DIM];
	char text[TEXT];
	long iterations;
	uint16_t crc;
} __attribute__((aligned(64)));

static uint16_t crc16(uint16_t crc, uint32_t data, int bits)
{
	for (int i = 0; i < bits; i++) {
		int x = (crc ^ data) & 1;
		data >>= 1;
		crc = x ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

static void setup(struct work *w, uint16_t seed)
{
	uint32_t s = seed;
	for (int i = 0; i < NODES; i++) {
		s = s * 1103515245u + 12345u;
		w->pool[i].key = (int16_t)(s >> 16);
		w->pool[i].value = (int16_t)i;
	}
	for (int i = 0; i < DIM * DIM; i++) {
		s = s * 1103515245u + 12345u;
		w->a[i] = (int16_t)((s >> 16) & 0xff) - 128;
		w->b[i] = (int16_t)((s >> 8) & 0xff) - 128;
	}
	static const char *const tokens[] = { "5012", "1234", "-874", "+122", "3.14", "-.9e2", "0x1f", "12e", "x9", ",", " " };
	int pos = 0;
	while (pos < TEXT - 8) {
		s = s * 1103515245u + 12345u;
		const char *t = tokens[(s >> 16) % (sizeof tokens / sizeof tokens[0])];
		while (*t && pos < TEXT - 2)
			w->text[pos++] = *t++;
		w->text[pos++] = ',';
	}
	w->text[pos] = 0;
}

/* List: link in key order by insertion sort, reverse, find, then relink by value. */
static uint16_t list_step(struct work *w, uint16_t crc, int16_t bias)
{
	struct node *head = NULL;
	for (int i = 0; i < NODES; i++) {
		struct node *n = &w->pool[i], **at = &head;
		n->key = (int16_t)(n->key + bias);
		while (*at && (*at)->key < n->key)
			at = &(*at)->next;
		n->next = *at;
		*at = n;
	}
	struct node *rev = NULL;
	while (head) {
		struct node *next = head->next;
		head->next = rev;
		rev = head;
		head = next;
	}
	int found = 0;
	for (int k = 0; k < 8; k++)
		for (struct node *n = rev; n; n = n->next)
			if (n->value == (bias + k * 7) % NODES) {
				found += n->key & 0xff;
				break;
			}
	return crc16(crc, (uint32_t)found ^ (uint32_t)(uint16_t)rev->key, 16);
}

static uint16_t matrix_step(struct work *w, uint16_t crc, int16_t bias)
{
	for (int i = 0; i < DIM; i++)
		for (int j = 0; j < DIM; j++) {
			int32_t sum = 0;
			for (int k = 0; k < DIM; k++)
				sum += (int32_t)w->a[i * DIM + k] * (w->b[k * DIM + j] + bias);
			w->c[i * DIM + j] = sum;
		}
	int32_t acc = 0;
	for (int i = 0; i < DIM * DIM; i++)
		acc += w->c[i] > 0 ? w->c[i] >> 4 : -(w->c[i] >> 6);
	return crc16(crc, (uint32_t)acc, 32);
}

enum state { START, INT, FLOAT, EXP, SCI, HEX, INVALID, STATES };

static uint16_t state_step(struct work *w, uint16_t crc)
{
	unsigned counts[STATES] = { 0 };
	enum state st = START;
	for (const char *p = w->text; *p; p++) {
		char ch = *p;
		if (ch == ',') {
			counts[st]++;
			st = START;
			continue;
		}
		switch (st) {
		case START:
			st = (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' ? INT : ch == '.' ? FLOAT : INVALID;
			break;
		case INT:
			if (ch == '.')
				st = FLOAT;
			else if (ch == 'x')
				st = HEX;
			else if (ch == 'e' || ch == 'E')
				st = EXP;
			else if (ch < '0' || ch > '9')
				st = INVALID;
			break;
		case FLOAT:
			if (ch == 'e' || ch == 'E')
				st = EXP;
			else if (ch < '0' || ch > '9')
				st = INVALID;
			break;
		case EXP:
			st = (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' ? SCI : INVALID;
			break;
		case SCI:
			if (ch < '0' || ch > '9')
				st = INVALID;
			break;
		case HEX:
			if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
				st = INVALID;
			break;
		default:
			break;
		}
	}
	for (int i = 0; i < STATES; i++)
		crc = crc16(crc, counts[i], 16);
	/* Corrupt a byte and restore it, as CoreMark's state test does. */
	w->text[crc % (TEXT / 2)] ^= 1;
	w->text[crc % (TEXT / 2)] ^= 1;
	return crc;
}

static void *worker(void *arg)
{
	struct work *w = arg;
	uint16_t crc = 0;
	for (long i = 0; i < w->iterations; i++) {
		int16_t bias = (int16_t)(i & 31);
		crc = list_step(w, crc, bias);
		crc = matrix_step(w, crc, bias);
		crc = state_step(w, crc);
	}
	w->crc = crc;
	return NULL;
}

static struct work works[MAX_THREADS];

/* Iterations per second of `threads` threads, each `iterations`; exits on a wrong CRC. */
static double run(int threads, long iterations, uint16_t want)
{
	pthread_t t[MAX_THREADS];
	for (int i = 0; i < threads; i++) {
		setup(&works[i], 0x1234);
		works[i].iterations = iterations;
	}
	double start = bench_seconds();
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, &works[i]) != 0) {
			fprintf(stderr, "cmark: pthread_create failed\n");
			exit(1);
		}
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	double seconds = bench_seconds() - start;
	for (int i = 0; i < threads; i++)
		if (works[i].crc != want) {
			fprintf(stderr, "cmark: thread %d computed CRC %#x, expected %#x\n", i, works[i].crc, want);
			exit(1);
		}
	return threads * iterations / seconds;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 10;
	long iterations = argc > 2 ? atol(argv[2]) : 4000;
	if (runs < 1 || runs > MAX_RUNS || iterations < 1) {
		fprintf(stderr, "usage: cmark [runs 1..%d] [iterations]\n", MAX_RUNS);
		return 2;
	}
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int nproc = online < 1 ? 1 : online > MAX_THREADS ? MAX_THREADS : (int)online;
	/* The reference CRC, single-threaded in main. */
	setup(&works[0], 0x1234);
	works[0].iterations = iterations;
	worker(&works[0]);
	uint16_t want = works[0].crc;
	int counts[3] = { 1, 2, nproc };
	for (int c = 0; c < 3; c++) {
		if (c == 2 && nproc <= 2)
			break;
		double rates[MAX_RUNS];
		for (int r = 0; r < runs; r++)
			rates[r] = run(counts[c], iterations, want);
		qsort(rates, runs, sizeof rates[0], compare);
		char name[64];
		snprintf(name, sizeof name, "cmark_%dt_median", counts[c]);
		BENCH_RESULT(name, rates[runs / 2], "iterations/s");
		snprintf(name, sizeof name, "cmark_%dt_min", counts[c]);
		BENCH_RESULT(name, rates[0], "iterations/s");
	}
	printf("cmark: CRC %#x\n", want);
	return 0;
}
