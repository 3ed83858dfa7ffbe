/* host_threads: host calls (open, write, read, close) from several threads at once each get their own result. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

enum { THREADS = 4, ROUNDS = 500 };

static const char *prefix;

static void *worker(void *arg)
{
	int id = (int)(long)arg, wrong = 0;
	char path[256], line[64];
	snprintf(path, sizeof path, "%s.%d", prefix, id);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		return (void *)1L;
	for (int i = 0; i < ROUNDS; i++) {
		/* Lines of different lengths per thread, so a mixed-up result shows. */
		int len = snprintf(line, sizeof line, "thread %d line %d %.*s\n", id, i, id * 7, "xxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		wrong += write(fd, line, len) != len;
		errno = 0;
		wrong += open("/nonexistent/host_threads", O_RDONLY) != -1 || errno != ENOENT;
	}
	wrong += close(fd) != 0;
	fd = open(path, O_RDONLY);
	char buffer[512];
	long total = 0, n;
	while ((n = read(fd, buffer, sizeof buffer)) > 0)
		total += n;
	close(fd);
	unlink(path);
	/* Every line was written whole. */
	long expected = 0;
	for (int i = 0; i < ROUNDS; i++)
		expected += snprintf(line, sizeof line, "thread %d line %d %.*s\n", id, i, id * 7, "xxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	wrong += total != expected;
	return (void *)(long)wrong;
}

int main(int argc, char **argv)
{
	/* argv[1]: the prefix of this run's files (runs may overlap). */
	prefix = argc > 1 ? argv[1] : "/tmp/host_threads";
	pthread_t threads[THREADS];
	for (long i = 0; i < THREADS; i++)
		CHECK_INT(pthread_create(&threads[i], NULL, worker, (void *)i), 0);
	for (int i = 0; i < THREADS; i++) {
		void *wrong;
		CHECK_INT(pthread_join(threads[i], &wrong), 0);
		CHECK_INT((long)wrong, 0);
	}
	TEST_DONE();
}
