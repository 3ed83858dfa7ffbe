/* sem_handoff.c: a post hands its unit to the longest waiter (sys_sem_* and sem_*), the pattern of the original pthread-embedded condvars. */
/*
 * Each round: the consumer waits on S; main makes sure it is queued, posts S and at once
 * waits on S itself. The unit belongs to the consumer, which takes it and posts S back for
 * main. Before the hand-off, main's own wait took the unit on one vCPU (the consumer was
 * only made ready) and both then waited for ever. Main waits with a timeout, so a unit taken
 * by the wrong task shows up as a failed check, not a hang.
 * Then timed waits racing with posts: every posted unit is received or still counted.
 */
#include <semaphore.h>
#include <stdint.h>
#include <hermit/errno.h>
#include <hermit/syscall.h>
#include "test.h"

#define ROUNDS 200
#define TIMED_POSTS 300

/* The two flavours behind one interface. */
struct flavour {
	const char *name;
	void *sem;
	void (*wait)(void *sem);
	int (*timedwait_ms)(void *sem, unsigned ms); /* 0 or a negative errno */
	void (*post)(void *sem);
	unsigned (*queued)(void *sem);
};

static void k_wait(void *s) { CHECK_INT(sys_sem_wait(s), 0); }
static int k_timedwait(void *s, unsigned ms) { return sys_sem_timedwait(s, ms); }
static void k_post(void *s) { CHECK_INT(sys_sem_post(s), 0); }
/* sys_sem's sem_t is the same object as POSIX sem_t; its second word counts waiters. */
static unsigned waiters_of(void *s) { return __atomic_load_n(&((struct sem *)s)->waiters, __ATOMIC_SEQ_CST); }

static void p_wait(void *s) { CHECK_INT(sem_wait(s), 0); }
static int p_timedwait(void *s, unsigned ms)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += (long)ms * 1000000;
	t.tv_sec += t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	return sem_timedwait(s, &t) == 0 ? 0 : -errno;
}
static void p_post(void *s) { CHECK_INT(sem_post(s), 0); }

static struct flavour *current;
static volatile int go = -1, consumer_round = -1, consumer_took = -1;
static volatile int timed_received, timed_done;

static int consumer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		/* Not before main took this round's unit: our own next wait would take it. */
		while (go != i)
			sys_yield();
		consumer_round = i;
		current->wait(current->sem);
		consumer_took = i;
		current->post(current->sem);
	}
	return 0;
}

static int timed_consumer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3000 && timed_received < TIMED_POSTS; i++) {
		int r = current->timedwait_ms(current->sem, 1);
		if (r == 0)
			timed_received++;
		else if (r != -ETIME && r != -ETIMEDOUT)
			CHECK_INT(r, -ETIME);
	}
	__atomic_store_n(&timed_done, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void run(struct flavour *f)
{
	current = f;
	go = consumer_round = consumer_took = -1;
	CHECK_INT(sys_clone(NULL, (void *)consumer, NULL), 0);
	int handed = 0;
	for (int i = 0; i < ROUNDS; i++) {
		go = i;
		/* Until the consumer is queued on S for round i. */
		while (consumer_round != i || f->queued(f->sem) == 0)
			sys_yield();
		sys_msleep(1);
		f->post(f->sem);
		int r = f->timedwait_ms(f->sem, 5000);
		CHECK_INT(r, 0);
		if (consumer_took != i) {
			fprintf(stderr, "%s round %d: main's wait took the unit posted for the consumer\n", f->name, i);
			CHECK_INT(consumer_took, i);
			exit(1); /* the consumer is stuck or ahead: later rounds would only add noise */
		}
		handed++;
	}
	printf("%s: %d hand-offs to the waiting consumer\n", f->name, handed);

	/* Timed waits racing with posts: no unit may be lost. */
	timed_received = timed_done = 0;
	CHECK_INT(sys_clone(NULL, (void *)timed_consumer, NULL), 0);
	for (int i = 0; i < TIMED_POSTS; i++) {
		f->post(f->sem);
		if (i % 3 == 0)
			sys_msleep(1);
		else
			sys_yield();
	}
	while (!__atomic_load_n(&timed_done, __ATOMIC_SEQ_CST))
		sys_msleep(1);
	int left = 0;
	while (f->timedwait_ms(f->sem, 1) == 0)
		left++;
	CHECK_INT(timed_received + left, TIMED_POSTS);
	printf("%s: %d units received by timed waits, %d left, none lost\n", f->name, timed_received, left);
}

int main(void)
{
	sem_t *ks = NULL;
	CHECK_INT(sys_sem_init(&ks, 0), 0);
	struct flavour k = { "sys_sem", ks, k_wait, k_timedwait, k_post, waiters_of };
	run(&k);

	static sem_t ps;
	CHECK_INT(sem_init(&ps, 0, 0), 0);
	struct flavour p = { "sem_t", &ps, p_wait, p_timedwait, p_post, waiters_of };
	run(&p);
	TEST_DONE();
}
