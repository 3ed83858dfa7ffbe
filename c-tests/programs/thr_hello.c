/* thr_hello.c: __thread variables start with their initial values in every thread, each thread has its own copy, errno is per thread. */
#include <stdint.h>
#include "thr_common.h"

#define NTHREADS 8

struct aligned_struct {
	char tag;
	double value;
	int list[5];
} __attribute__((aligned(64)));

static __thread int tls_int = 42;
static __thread long tls_array[8] __attribute__((aligned(32))) = { 1, 2, 3, 4, 5, 6, 7, 8 };
static __thread struct aligned_struct tls_struct = { 'h', 3.25, { 10, 20, 30, 40, 50 } };
static __thread int tls_zero;
static __thread char tls_zero_buf[4096];

struct seen {
	uintptr_t addr_int, addr_array, addr_struct, addr_zero_buf, addr_errno;
};

static struct seen seen[NTHREADS + 1];
static int arrived, modified, errno_set;

/* Whether this thread's TLS still holds the initial image. */
static int has_initial_values(void)
{
	int ok = tls_int == 42 && tls_struct.tag == 'h' && tls_struct.value == 3.25 && tls_zero == 0;
	for (int i = 0; i < 8; i++)
		ok = ok && tls_array[i] == i + 1;
	for (int i = 0; i < 5; i++)
		ok = ok && tls_struct.list[i] == 10 * (i + 1);
	for (int i = 0; i < 4096; i++)
		ok = ok && tls_zero_buf[i] == 0;
	return ok;
}

static void make_own(int id)
{
	tls_int = 1000 + id;
	for (int i = 0; i < 8; i++)
		tls_array[i] = id * 100 + i;
	tls_struct.tag = (char)('a' + id);
	tls_struct.value = id + 0.5;
	tls_struct.list[4] = -id;
	tls_zero = id;
	memset(tls_zero_buf, id + 1, sizeof(tls_zero_buf));
}

static int holds_own(int id)
{
	int ok = tls_int == 1000 + id && tls_struct.tag == (char)('a' + id) && tls_struct.value == id + 0.5 &&
		 tls_struct.list[4] == -id && tls_struct.list[0] == 10 && tls_zero == id;
	for (int i = 0; i < 8; i++)
		ok = ok && tls_array[i] == id * 100 + i;
	for (int i = 0; i < 4096; i++)
		ok = ok && tls_zero_buf[i] == (char)(id + 1);
	return ok;
}

static void record(int slot)
{
	seen[slot].addr_int = (uintptr_t)&tls_int;
	seen[slot].addr_array = (uintptr_t)tls_array;
	seen[slot].addr_struct = (uintptr_t)&tls_struct;
	seen[slot].addr_zero_buf = (uintptr_t)tls_zero_buf;
	seen[slot].addr_errno = (uintptr_t)&errno;
}

static void *thread_func(void *arg)
{
	int id = (int)(intptr_t)arg;
	printf("Hello Thread!!! id = %d\n", id);
	CHECK(has_initial_values());
	CHECK_INT((uintptr_t)tls_array % 32, 0);
	CHECK_INT((uintptr_t)&tls_struct % 64, 0);
	record(id);
	make_own(id);
	/* Every thread is alive and has written its copy before any checks it. */
	__atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
	CHECK(thr_wait_for(&arrived, NTHREADS, 5000));
	sched_yield();
	CHECK(holds_own(id));
	__atomic_fetch_add(&modified, 1, __ATOMIC_ACQ_REL);

	/* errno: each thread's value survives the others' writes and failing calls. */
	errno = 0;
	if (id % 2 == 0) {
		CHECK(strtol("99999999999999999999999", NULL, 10) == __LONG_MAX__);
		CHECK_INT(errno, ERANGE);
	} else {
		errno = 5000 + id;
	}
	__atomic_fetch_add(&errno_set, 1, __ATOMIC_ACQ_REL);
	CHECK(thr_wait_for(&errno_set, NTHREADS, 5000));
	for (int i = 0; i < 20; i++)
		sched_yield();
	if (id % 2 == 0) {
		CHECK_INT(errno, ERANGE);
	} else {
		CHECK_INT(errno, 5000 + id);
		CHECK(strtol("-99999999999999999999999", NULL, 10) == -__LONG_MAX__ - 1);
		CHECK_INT(errno, ERANGE);
	}
	return (void *)(intptr_t)(tls_int * 2);
}

int main(void)
{
	/* The main thread's changes do not reach new threads: they start from the image. */
	CHECK(has_initial_values());
	tls_int = 7;
	tls_array[0] = -1;
	tls_struct.tag = 'M';
	tls_zero_buf[100] = 'M';
	errno = 1234;

	pthread_t threads[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		CHECK_INT(pthread_create(&threads[i], NULL, thread_func, (void *)(intptr_t)i), 0);
	for (int i = 0; i < NTHREADS; i++) {
		void *result = NULL;
		CHECK_INT(pthread_join(threads[i], &result), 0);
		CHECK_INT((intptr_t)result, 2 * (1000 + i));
	}
	CHECK_INT(arrived, NTHREADS);
	CHECK_INT(modified, NTHREADS);

	/* The threads' writes did not leak into the main thread. */
	CHECK_INT(tls_int, 7);
	CHECK_INT(tls_array[0], -1);
	CHECK_INT(tls_array[1], 2);
	CHECK_INT(tls_struct.tag, 'M');
	CHECK_INT(tls_struct.list[4], 50);
	CHECK_INT(tls_zero_buf[100], 'M');
	CHECK_INT(tls_zero_buf[101], 0);
	CHECK_INT(errno, 1234);

	/* Every copy lives at its own address (all threads were alive at once). */
	record(NTHREADS);
	int distinct = 1;
	for (int i = 0; i <= NTHREADS; i++)
		for (int j = i + 1; j <= NTHREADS; j++)
			distinct = distinct && seen[i].addr_int != seen[j].addr_int &&
				   seen[i].addr_array != seen[j].addr_array &&
				   seen[i].addr_struct != seen[j].addr_struct &&
				   seen[i].addr_zero_buf != seen[j].addr_zero_buf &&
				   seen[i].addr_errno != seen[j].addr_errno;
	CHECK(distinct);
	TEST_DONE();
}
