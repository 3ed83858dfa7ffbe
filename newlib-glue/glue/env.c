/* env.c: secure_getenv(), declared by newlib's <stdlib.h> but not defined (libgomp uses it). */
#include <stdlib.h>

/* A HermitCore program is never set-user-id, so this is getenv. */
char *secure_getenv(const char *name)
{
	return getenv(name);
}
