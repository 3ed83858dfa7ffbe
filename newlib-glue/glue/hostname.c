/* hostname.c: gethostname(): every HermitCore image is called "hermit". */
#include <string.h>
#include <unistd.h>
#include "glue.h"

int gethostname(char *name, size_t len)
{
	static const char host[] = "hermit";
	if (len < sizeof(host))
		return hermit_fail(ENAMETOOLONG);
	memcpy(name, host, sizeof(host));
	return 0;
}
