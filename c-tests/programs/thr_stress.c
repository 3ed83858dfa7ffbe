/* thr_stress.c: malloc/calloc/realloc/free, stdio, number formatting, errno, strtok_r and rand_r are thread-safe under heavy concurrent use. */
/*
 * Usage: thr_stress <scratch dir> [no-host-io]. With no-host-io the threads make no host
 * calls (no files, no printing): only memory, formatting into memory, and errno set by libc
 * and kernel functions.
 */
#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <unistd.h>
#include "thr_common.h"

#define THREADS 8
#define ROUNDS 40000
#define SLOTS 64
#define LINES 300

static const char *tmpdir = ".";
static int host_io = 1;
static FILE *shared_file, *memstream;

struct block {
	unsigned char *p;
	size_t size;
	unsigned char tag;
};

static void fill(struct block *b)
{
	for (size_t i = 0; i < b->size; i++)
		b->p[i] = (unsigned char)(b->tag + i * 7);
}

static int intact(const struct block *b, size_t upto)
{
	for (size_t i = 0; i < upto; i++)
		if (b->p[i] != (unsigned char)(b->tag + i * 7))
			return 0;
	return 1;
}

static size_t random_size(unsigned *seed)
{
	unsigned r = (unsigned)rand_r(seed);
	if (r % 200 == 0)
		return 64 * 1024 + r % (192 * 1024); /* now and then a big one */
	return 1 + r % 4096;
}

struct result {
	long allocations, corrupt, misaligned, calloc_dirty, errno_wrong, format_wrong, tokens_wrong;
	unsigned rand_sum;
};

static struct result results[THREADS];

/* malloc, calloc, realloc and free of random sizes; every block's contents are checked before it goes. */
static void heap(int id, struct result *res)
{
	struct block blocks[SLOTS] = { 0 };
	unsigned seed = 1000 + id;
	for (int round = 0; round < ROUNDS; round++) {
		struct block *b = &blocks[rand_r(&seed) % SLOTS];
		if (b->p) {
			if (!intact(b, b->size))
				res->corrupt++;
			if (round % 7 == 0) {
				/* realloc keeps the contents up to the smaller size */
				size_t size = random_size(&seed), keep = size < b->size ? size : b->size;
				unsigned char *p = realloc(b->p, size);
				if (!p) {
					res->corrupt++;
					continue;
				}
				b->p = p;
				if (!intact(b, keep))
					res->corrupt++;
				b->size = size;
				fill(b);
				continue;
			}
			free(b->p);
			b->p = NULL;
			continue;
		}
		b->size = random_size(&seed);
		b->tag = (unsigned char)(id * 31 + round);
		if (round % 5 == 0) {
			b->p = calloc(1, b->size);
			for (size_t i = 0; b->p && i < b->size; i++)
				if (b->p[i] != 0) {
					res->calloc_dirty++;
					break;
				}
		} else {
			b->p = malloc(b->size);
		}
		if (!b->p) {
			res->corrupt++;
			continue;
		}
		if ((uintptr_t)b->p % 16 != 0)
			res->misaligned++;
		res->allocations++;
		fill(b);
		if (round % 1000 == 0)
			sched_yield();
	}
	for (int i = 0; i < SLOTS; i++)
		if (blocks[i].p) {
			if (!intact(&blocks[i], blocks[i].size))
				res->corrupt++;
			free(blocks[i].p);
		}
}

/* errno set by failing calls stays each thread's own while the others fail differently. */
static void errnos(int id, struct result *res)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/no-such-dir-%d/file", tmpdir, id);
	sem_t empty;
	sem_init(&empty, 0, 0);
	for (int i = 0; i < 300; i++) {
		int expected;
		switch ((i + id) % (host_io ? 5 : 3)) {
		case 0: /* newlib */
			errno = 0;
			if (strtol("123456789012345678901234567890", NULL, 10) != __LONG_MAX__)
				res->errno_wrong++;
			expected = ERANGE;
			break;
		case 1: /* the kernel */
			if (sem_trywait(&empty) != -1)
				res->errno_wrong++;
			expected = EAGAIN;
			break;
		case 2: /* the glue */
			if (sysconf(-12345) != -1)
				res->errno_wrong++;
			expected = EINVAL;
			break;
		case 3: /* the host */
			if (open(path, O_RDONLY) != -1)
				res->errno_wrong++;
			expected = ENOENT;
			break;
		default:
			if (close(1000 + id) != -1)
				res->errno_wrong++;
			expected = EBADF;
			break;
		}
		sched_yield();
		if (errno != expected) {
			if (res->errno_wrong++ == 0)
				fprintf(stderr, "thread %d: errno %d, expected %d\n", id, errno, expected);
		}
	}
	sem_destroy(&empty);
}

/* Number formatting (newlib's dtoa keeps per-thread state) gives the same text in every thread. */
static char expected_text[64][128];

static void format_line(char *buf, size_t size, int i)
{
	double x = (i + 1) * 1.0e-3 / 7.0, y = (i + 3) * 12345.678;
	snprintf(buf, size, "%d %.17g %e %.3f %g %a %lld %x", i, x, y, x * y, 1.0 / (i + 1), x, -12345678901LL * i,
		 0xdead0000u + i);
}

static void formatting(int id, struct result *res)
{
	char buf[128];
	for (int round = 0; round < 20; round++)
		for (int i = 0; i < 64; i++) {
			format_line(buf, sizeof(buf), i);
			if (strcmp(buf, expected_text[i]) != 0 && res->format_wrong++ == 0)
				fprintf(stderr, "thread %d: \"%s\" != \"%s\"\n", id, buf, expected_text[i]);
		}
}

/* strtok_r keeps its place in the caller's pointer, not in shared state. */
static void tokens(int id, struct result *res)
{
	for (int round = 0; round < 500; round++) {
		char text[128], *save = NULL;
		snprintf(text, sizeof(text), "t%d,a%d;b%d , c%d;;d%d", id, round, round + 1, round + 2, round + 3);
		char expect[5][16];
		snprintf(expect[0], 16, "t%d", id);
		snprintf(expect[1], 16, "a%d", round);
		snprintf(expect[2], 16, "b%d", round + 1);
		snprintf(expect[3], 16, "c%d", round + 2);
		snprintf(expect[4], 16, "d%d", round + 3);
		int n = 0;
		for (char *tok = strtok_r(text, ",; ", &save); tok; tok = strtok_r(NULL, ",; ", &save), n++) {
			if (n >= 5 || strcmp(tok, expect[n]) != 0)
				res->tokens_wrong++;
			if (n == 2)
				sched_yield();
		}
		if (n != 5)
			res->tokens_wrong++;
	}
}

/* Lines written by several threads into one FILE come out whole. */
static void lines(int id)
{
	for (int i = 0; i < LINES; i++) {
		fprintf(memstream, "line t=%d n=%d payload=%0*d end\n", id, i, 20 + id, i);
		if (!host_io)
			continue;
		fprintf(shared_file, "line t=%d n=%d payload=%0*d end\n", id, i, 20 + id, i);
		if (i % 100 == 0)
			printf("thread %d printing line %d of %d\n", id, i, LINES);
	}
}

static void *stress(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct result *res = &results[id];
	unsigned seed = 77 + id;
	for (int i = 0; i < 1000; i++)
		res->rand_sum += (unsigned)rand_r(&seed);
	heap(id, res);
	errnos(id, res);
	formatting(id, res);
	tokens(id, res);
	lines(id);
	return NULL;
}

/* Every line is one of the expected ones, whole, and each appears once. */
static void check_lines(const char *text, const char *what)
{
	static unsigned char seen[THREADS][LINES];
	memset(seen, 0, sizeof(seen));
	long count = 0, bad = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		if (!nl) {
			bad++;
			break;
		}
		int t = -1, n = -1, consumed = 0;
		char expect[128];
		if (sscanf(p, "line t=%d n=%d %n", &t, &n, &consumed) == 2 && t >= 0 && t < THREADS && n >= 0 &&
		    n < LINES) {
			snprintf(expect, sizeof(expect), "line t=%d n=%d payload=%0*d end", t, n, 20 + t, n);
			if ((size_t)(nl - p) == strlen(expect) && strncmp(p, expect, nl - p) == 0 && !seen[t][n]++)
				count++;
			else
				bad++;
		} else {
			bad++;
		}
		p = nl + 1;
	}
	printf("%s: %ld whole lines, %ld torn or repeated\n", what, count, bad);
	CHECK_INT(count, THREADS * LINES);
	CHECK_INT(bad, 0);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		tmpdir = argv[1];
	if (argc > 2 && strcmp(argv[2], "no-host-io") == 0)
		host_io = 0;
	char path[512];
	/* One file per CPU count: the 1- and 2-CPU runs may run at the same time. */
	snprintf(path, sizeof(path), "%s/thr_stress-%ld.txt", tmpdir, sysconf(_SC_NPROCESSORS_ONLN));
	if (host_io) {
		shared_file = fopen(path, "w+");
		CHECK(shared_file != NULL);
		if (!shared_file)
			TEST_DONE();
		/* stdout is written when a line ends, so threads' lines meet in the host calls. */
		setvbuf(stdout, NULL, _IOLBF, 0);
	}
	char *mem = NULL;
	size_t mem_size = 0;
	memstream = open_memstream(&mem, &mem_size);
	CHECK(memstream != NULL);
	if (!memstream)
		TEST_DONE();
	for (int i = 0; i < 64; i++)
		format_line(expected_text[i], sizeof(expected_text[i]), i);
	unsigned expected_rand[THREADS];
	for (int id = 0; id < THREADS; id++) {
		unsigned seed = 77 + id;
		expected_rand[id] = 0;
		for (int i = 0; i < 1000; i++)
			expected_rand[id] += (unsigned)rand_r(&seed);
	}

	pthread_t t[THREADS];
	int64_t start = thr_now_ns();
	for (int i = 0; i < THREADS; i++)
		CHECK_INT(pthread_create(&t[i], NULL, stress, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	long allocations = 0;
	for (int i = 0; i < THREADS; i++) {
		struct result *r = &results[i];
		allocations += r->allocations;
		CHECK_INT(r->corrupt, 0);
		CHECK_INT(r->misaligned, 0);
		CHECK_INT(r->calloc_dirty, 0);
		CHECK_INT(r->errno_wrong, 0);
		CHECK_INT(r->format_wrong, 0);
		CHECK_INT(r->tokens_wrong, 0);
		CHECK_INT(r->rand_sum, expected_rand[i]);
	}
	printf("%d threads: %ld allocations in %.1f ms\n", THREADS, allocations, (thr_now_ns() - start) / 1e6);
	CHECK(allocations > THREADS * ROUNDS / 3);

	CHECK_INT(fclose(memstream), 0);
	check_lines(mem, "open_memstream");
	free(mem);
	if (!host_io)
		TEST_DONE();
	CHECK_INT(fflush(shared_file), 0);
	long size = ftell(shared_file);
	CHECK(size > 0);
	char *text = malloc(size + 1);
	rewind(shared_file);
	CHECK_INT(fread(text, 1, size, shared_file), size);
	text[size] = 0;
	check_lines(text, "shared file");
	free(text);
	CHECK_INT(fclose(shared_file), 0);
	CHECK_INT(unlink(path), 0);
	TEST_DONE();
}
