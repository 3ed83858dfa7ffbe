/* cpus.c: main sees all cores the proxy started (HERMIT_CPUS) through sysconf and get_num_cpus. */
#include <unistd.h>
#include "test.h"

int get_num_cpus(void);

int main(void)
{
	const char *want = getenv("HERMIT_CPUS");
	CHECK(want != NULL);
	if (want == NULL)
		TEST_DONE();
	CHECK_INT(get_num_cpus(), atoi(want));
	CHECK_INT(sysconf(_SC_NPROCESSORS_ONLN), atoi(want));
	CHECK_INT(sysconf(_SC_NPROCESSORS_CONF), atoi(want));
	TEST_DONE();
}
