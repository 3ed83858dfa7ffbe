/* thr_legacy.h: the call counters of thr_legacy_pthread.c, read by thr_legacy_link.c. */
#ifndef THR_LEGACY_H
#define THR_LEGACY_H

struct legacy_calls {
	int create, join, mutex_init, mutex_lock, mutex_unlock, sem_init, sem_wait, sem_post, sem_destroy;
};

extern struct legacy_calls legacy_calls;

#endif
