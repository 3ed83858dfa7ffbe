/* migrate_fpu: threads that move between cores (stolen while preempted, or re-pinned) keep their FPU state, rounding mode and TLS. */
/*
 * usage: migrate_fpu   (HERMIT_CPUS=2: four threads on two cores, each computing the same
 *                       series under its own rounding mode in bursts of a few milliseconds and
 *                       sleeping in between, so idle cores steal preempted threads; every
 *                       fourth round a thread also re-pins itself to the other core)
 * Every burst must give, bit for bit, the value the thread computed first; its __thread
 * variables and rounding mode must be its own. The re-pins always move; how often the
 * scheduler moved a thread by itself is printed.
 */
#define _GNU_SOURCE
#include <fenv.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"

enum { THREADS = 4, ROUNDS = 40, TERMS = 3000000 };

static const int modes[THREADS] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
static __thread int my_id = -1;
static __thread double my_value;
static int migrations[THREADS], repins[THREADS];

/* The series stays in registers for the whole burst, so a preemption saves it mid-way. */
static double series(int id)
{
	double sum = 0.0, x = 1.0 + id;
	for (int k = 1; k <= TERMS; k++) {
		sum += x / (double)(k * 3 + id);
		x = x * 1.0000001 + 1e-9;
	}
	return sum;
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	my_id = id;
	CHECK_INT(fesetround(modes[id]), 0);
	double reference = series(id);
	my_value = reference;
	int cpu = sched_getcpu(), bad = 0;
	for (int round = 0; round < ROUNDS; round++) {
		double value = series(id);
		bad += value != reference || my_value != reference || my_id != id || fegetround() != modes[id];
		int now = sched_getcpu();
		migrations[id] += now != cpu;
		cpu = now;
		if (round % 4 == 3) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(1 - cpu, &set);
			CHECK_INT(sched_setaffinity(0, sizeof set, &set), 0);
			CHECK_INT(sched_getcpu(), 1 - cpu);
			repins[id]++;
			CPU_SET(cpu, &set);
			cpu = 1 - cpu;
			CHECK_INT(sched_setaffinity(0, sizeof set, &set), 0);
		} else {
			usleep(300 + 200 * id);
		}
	}
	CHECK_INT(bad, 0);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		CHECK_INT(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		CHECK_INT(pthread_join(t[i], NULL), 0);
	int total = 0, pinned = 0;
	for (int i = 0; i < THREADS; i++)
		total += migrations[i], pinned += repins[i];
	printf("moves by the scheduler (stealing) seen across bursts and sleeps: %d (%d %d %d %d); re-pins: %d\n",
	       total, migrations[0], migrations[1], migrations[2], migrations[3], pinned);
	CHECK(pinned == THREADS * (ROUNDS / 4));
	TEST_DONE();
}
