/* backtrace-supported.h for HermitCore: libbacktrace is not built; see backtrace.c. */
#define BACKTRACE_SUPPORTED 0
#define BACKTRACE_USES_MALLOC 0
#define BACKTRACE_SUPPORTS_THREADS 1
#define BACKTRACE_SUPPORTS_DATA 0
