/* syslog.h: POSIX's name for <sys/syslog.h>. */
#include <sys/syslog.h>
