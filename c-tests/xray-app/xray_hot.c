/* xray_hot.c: main and a second thread call hot_function 500 times each, then main calls cold_function 10 times.
 *
 * usage: xray_hot [<linker map> <report file>]: with arguments, XRayInit() gets the map and
 * XRaySaveReport() writes the report (cutoffs 1 %, 1000 cycles); libxray also reports at exit.
 */
#include <pthread.h>
#include <stdio.h>
#include <xray.h>

volatile double sink;

__attribute__((noipa)) double hot_function(int n)
{
	double x = 0;
	for (int i = 0; i < n; i++)
		x += i * 0.5;
	return x;
}

__attribute__((noipa)) int cold_function(int k)
{
	return k * 3;
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 500; i++)
		sink += hot_function(20000);
	return NULL;
}

int main(int argc, char **argv)
{
	struct XRayTraceCapture *trace = XRayInit(5, 4 * 1000 * 1000, 10, argc > 2 ? argv[1] : NULL);
	pthread_t thread;
	XRayStartFrame(trace);
	XRayLabelFrame("hot loop");
	/* Both threads compute (on 2 vCPUs at once), so that main's wait in pthread_join, which
	 * counts as main's own cycles, stays short. */
	if (pthread_create(&thread, NULL, worker, NULL) != 0)
		return 1;
	worker(NULL);
	pthread_join(thread, NULL);
	for (int i = 0; i < 10; i++)
		sink += cold_function(i);
	XRayEndFrame(trace);
	XRayAnnotate("workers done");
	if (argc > 2)
		XRaySaveReport(trace, argv[2], 1.0f, 1000);
	XRayShutdown(trace);
	printf("xray_hot: done\n");
	return 0;
}
