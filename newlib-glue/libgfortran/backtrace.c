/* The libbacktrace functions libgfortran calls, for HermitCore: program counters only.
 *
 * libgfortran prints a backtrace after a runtime error or a fatal signal. The real
 * libbacktrace reads the DWARF of /proc/self/exe, which a unikernel image does not have, so
 * backtrace-supported.h says BACKTRACE_SUPPORTED 0 and libgfortran calls backtrace_simple,
 * which walks the stack with libgcc's unwinder (the image keeps .eh_frame). The output is
 * "#N  0x<pc>" lines, to be resolved on the host with addr2line -e <image>. */
#include <stddef.h>
#include <stdint.h>
#include <unwind.h>

#include "backtrace.h"

/* libgfortran only checks for NULL: a static dummy state suffices. */
struct backtrace_state {
	int unused;
};

struct backtrace_state *backtrace_create_state(const char *filename, int threaded,
					       backtrace_error_callback error_callback, void *data)
{
	static struct backtrace_state state;
	(void)filename;
	(void)threaded;
	(void)error_callback;
	(void)data;
	return &state;
}

struct walk {
	int skip;
	backtrace_simple_callback callback;
	void *data;
	int stopped;
};

static _Unwind_Reason_Code step(struct _Unwind_Context *context, void *arg)
{
	struct walk *walk = arg;
	int before_insn = 0;
	uintptr_t pc = _Unwind_GetIPInfo(context, &before_insn);
	if (pc == 0)
		return _URC_END_OF_STACK;
	if (!before_insn)
		pc--;
	if (walk->skip > 0) {
		walk->skip--;
		return _URC_NO_REASON;
	}
	if (walk->callback(walk->data, pc) != 0) {
		walk->stopped = 1;
		return _URC_END_OF_STACK;
	}
	return _URC_NO_REASON;
}

int backtrace_simple(struct backtrace_state *state, int skip, backtrace_simple_callback callback,
		     backtrace_error_callback error_callback, void *data)
{
	struct walk walk = {skip + 1, callback, data, 0};
	(void)state;
	(void)error_callback;
	_Unwind_Backtrace(step, &walk);
	return walk.stopped;
}

/* Never called while BACKTRACE_SUPPORTED is 0; reports "no debug info" (-1), after which
 * libgfortran falls back to backtrace_simple. */
int backtrace_full(struct backtrace_state *state, int skip, backtrace_full_callback callback,
		   backtrace_error_callback error_callback, void *data)
{
	(void)state;
	(void)skip;
	(void)callback;
	if (error_callback != NULL)
		error_callback(data, "no debug info in a HermitCore image", -1);
	return 0;
}
