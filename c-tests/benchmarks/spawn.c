/* spawn: runs a command repeatedly (stdout to /dev/null) and prints the median and 95th
 * percentile of its wall time from exec to exit; a native host tool of the benchmarks. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: spawn <name> <runs> <command> [arguments...]\n");
		return 2;
	}
	int runs = atoi(argv[2]);
	if (runs < 1)
		return 2;
	double *ms = calloc(runs, sizeof(double));
	for (int i = 0; i < runs; i++) {
		double start = now_ms();
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			execv(argv[3], argv + 3);
			_exit(127);
		}
		int status;
		waitpid(pid, &status, 0);
		ms[i] = now_ms() - start;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "spawn: %s failed (status %d)\n", argv[3], status);
			return 1;
		}
	}
	qsort(ms, runs, sizeof(double), compare);
	printf("RESULT %s_median %.3f ms\n", argv[1], ms[runs / 2]);
	printf("RESULT %s_p95 %.3f ms\n", argv[1], ms[(runs * 95 + 99) / 100 - 1]);
	return 0;
}
