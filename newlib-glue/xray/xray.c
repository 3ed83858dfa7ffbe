/* xray.c: libxray, function profiling for -finstrument-functions with a readable report at exit.
 *
 * The compiler calls __cyg_profile_func_enter/exit around every instrumented function. Each
 * thread keeps a shadow stack of its active calls (TLS, XRAY_DEPTH deep) with the TSC at
 * entry and the cycles spent in callees; at exit the function's calls, total (inclusive) and
 * self (exclusive) cycles are added to a process-wide open-addressing table with atomic
 * operations, so any number of threads may run instrumented code at once. Nothing here is
 * instrumented (no_instrument_function), and it calls nothing instrumented on the hot path.
 *
 * Cycles are elapsed TSC cycles of the calling thread between entry and exit, so time the
 * thread spends blocked (pthread_join, I/O) or preempted counts as the function's own.
 * Semantics and limits (the report states them too): a recursive function's total cycles
 * count every active level; calls deeper than XRAY_DEPTH are counted in a total only; more
 * than XRAY_SLOTS distinct functions are counted in a total only; a longjmp out of
 * instrumented functions drops their open frames when the next matching exit arrives.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xray.h"

#define NOI __attribute__((no_instrument_function))
#define XRAY_SLOTS 8192
#define XRAY_DEPTH 256
#define XRAY_FRAMES 64
#define XRAY_NOTES 32
#define XRAY_NOTE_LEN 120
#define XRAY_EXIT_ROWS 100

struct fn_stats {
	uintptr_t fn;
	uint64_t calls;
	uint64_t total;
	uint64_t self;
};

struct call {
	uintptr_t fn;
	uint64_t start;
	uint64_t callees;
};

struct frame {
	char label[64];
	uint64_t start;
	uint64_t end;
};

struct XRayTraceCapture {
	uint32_t filter;
	char map[256];
	unsigned frames;
	struct frame frame[XRAY_FRAMES];
};

struct symbol {
	uintptr_t addr;
	char *name;
};

static struct fn_stats table[XRAY_SLOTS];
static uint64_t unrecorded_calls;  /* the table was full */
static uint64_t deep_calls;        /* beyond XRAY_DEPTH */
static unsigned threads;
static int report_saved;
static struct XRayTraceCapture capture = { .filter = 0xffffffffu };

static __thread struct call stack[XRAY_DEPTH];
static __thread unsigned depth;
static __thread int thread_seen;

static char notes[XRAY_NOTES][XRAY_NOTE_LEN];
static unsigned note_count;
static volatile int note_lock;

static NOI uint64_t now(void)
{
	return __builtin_ia32_rdtsc();
}

static NOI void record(uintptr_t fn, uint64_t total, uint64_t self)
{
	unsigned i = (unsigned)((fn >> 4) * 0x9E3779B1u) & (XRAY_SLOTS - 1);
	for (unsigned probe = 0; probe < XRAY_SLOTS; probe++, i = (i + 1) & (XRAY_SLOTS - 1)) {
		uintptr_t key = __atomic_load_n(&table[i].fn, __ATOMIC_ACQUIRE);
		if (key == 0) {
			uintptr_t empty = 0;
			if (__atomic_compare_exchange_n(&table[i].fn, &empty, fn, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				key = fn;
			else
				key = empty;
		}
		if (key == fn) {
			__atomic_fetch_add(&table[i].calls, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&table[i].total, total, __ATOMIC_RELAXED);
			__atomic_fetch_add(&table[i].self, self, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_fetch_add(&unrecorded_calls, 1, __ATOMIC_RELAXED);
}

NOI void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)site;
	if (!thread_seen) {
		thread_seen = 1;
		__atomic_fetch_add(&threads, 1, __ATOMIC_RELAXED);
	}
	unsigned d = depth++;
	if (d >= XRAY_DEPTH) {
		__atomic_fetch_add(&deep_calls, 1, __ATOMIC_RELAXED);
		return;
	}
	stack[d].fn = (uintptr_t)fn;
	stack[d].callees = 0;
	stack[d].start = now();
}

NOI void __cyg_profile_func_exit(void *fn, void *site)
{
	uint64_t end = now();
	(void)site;
	if (depth == 0)
		return;
	if (depth > XRAY_DEPTH) {
		depth--;
		return;
	}
	unsigned d = depth - 1;
	if (stack[d].fn != (uintptr_t)fn) {
		/* Frames left by a longjmp: find the call this exit belongs to. */
		unsigned match = d;
		while (match > 0 && stack[match].fn != (uintptr_t)fn)
			match--;
		if (stack[match].fn != (uintptr_t)fn)
			return;
		d = match;
	}
	depth = d;
	uint64_t total = end - stack[d].start;
	uint64_t self = total > stack[d].callees ? total - stack[d].callees : 0;
	if (d > 0)
		stack[d - 1].callees += total;
	record((uintptr_t)fn, total, self);
}

/* ---- symbols from a GNU ld map file ---------------------------------------------------- */

static NOI int is_symbol_name(const char *s)
{
	if (!(*s == '_' || *s == '.' || *s == '$' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return 0;
	for (; *s; s++)
		if (!(*s == '_' || *s == '.' || *s == '$' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

static NOI int by_address(const void *a, const void *b)
{
	const struct symbol *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The map's symbol lines are "<spaces>0x<address><spaces><name>" (exactly two fields). */
static NOI size_t load_map(const char *path, struct symbol **out)
{
	*out = NULL;
	if (!path || !*path)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	/* Each refill is a host call: read the map in large pieces. */
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	size_t count = 0, cap = 0;
	struct symbol *syms = NULL;
	char line[512], addr[64], name[256], extra[8];
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, " %63s %255s %7s", addr, name, extra) != 2 || strncmp(addr, "0x", 2) != 0)
			continue;
		if (!is_symbol_name(name))
			continue;
		uintptr_t a = (uintptr_t)strtoull(addr, NULL, 16);
		if (a == 0)
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct symbol *n = realloc(syms, ncap * sizeof *n);
			if (!n)
				break;
			syms = n;
			cap = ncap;
		}
		syms[count].addr = a;
		syms[count].name = strdup(name);
		if (syms[count].name)
			count++;
	}
	fclose(f);
	qsort(syms, count, sizeof *syms, by_address);
	*out = syms;
	return count;
}

/* The symbol at or below addr; *offset is the distance to it. */
static NOI const char *lookup(const struct symbol *syms, size_t count, uintptr_t addr, uintptr_t *offset)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	*offset = addr - syms[lo - 1].addr;
	return syms[lo - 1].name;
}

/* ---- the report -------------------------------------------------------------------------- */

static NOI int by_self_cycles(const void *a, const void *b)
{
	const struct fn_stats *x = a, *y = b;
	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	return x->calls > y->calls ? -1 : x->calls < y->calls;
}

static NOI void report(FILE *f, float percent_cutoff, uint64_t cycle_cutoff, unsigned max_rows)
{
	struct fn_stats *rows = malloc(sizeof table);
	if (!rows) {
		fprintf(f, "XRay: no memory for the report\n");
		return;
	}
	size_t n = 0;
	uint64_t all_self = 0;
	for (size_t i = 0; i < XRAY_SLOTS; i++) {
		if (__atomic_load_n(&table[i].fn, __ATOMIC_ACQUIRE) == 0)
			continue;
		rows[n].fn = table[i].fn;
		rows[n].calls = __atomic_load_n(&table[i].calls, __ATOMIC_RELAXED);
		rows[n].total = __atomic_load_n(&table[i].total, __ATOMIC_RELAXED);
		rows[n].self = __atomic_load_n(&table[i].self, __ATOMIC_RELAXED);
		all_self += rows[n].self;
		n++;
	}
	qsort(rows, n, sizeof *rows, by_self_cycles);
	const char *map = capture.map[0] ? capture.map : getenv("XRAY_MAP");
	struct symbol *syms;
	size_t nsyms = load_map(map, &syms);

	fprintf(f, "XRay profile: calls and TSC cycles of every function compiled with -finstrument-functions\n");
	fprintf(f, "threads: %u  functions: %u  cycles in instrumented code: %llu\n", threads, (unsigned)n,
		(unsigned long long)all_self);
	if (nsyms)
		fprintf(f, "names: from the linker map %s (%u symbols)\n", map, (unsigned)nsyms);
	else
		fprintf(f, "names: %s%s; resolve addresses with: addr2line -f -e <image> <address>\n",
			map ? "cannot read the linker map " : "no linker map (XRayInit() or XRAY_MAP)", map ? map : "");
	fprintf(f, "self = TSC cycles in the function itself, total = including its callees (every level of a\n"
		   "recursion); both are elapsed time of the calling thread, blocked or preempted time included\n");
	if (capture.frames) {
		fprintf(f, "frames: %u\n", capture.frames);
		for (unsigned i = 0; i < capture.frames && i < XRAY_FRAMES; i++) {
			const struct frame *fr = &capture.frame[i];
			fprintf(f, "  frame %u \"%s\": %llu cycles\n", i, fr->label,
				(unsigned long long)(fr->end > fr->start ? fr->end - fr->start : 0));
		}
	}
	if (deep_calls || unrecorded_calls)
		fprintf(f, "not attributed: %llu calls deeper than %d, %llu calls beyond %d functions\n",
			(unsigned long long)deep_calls, XRAY_DEPTH, (unsigned long long)unrecorded_calls, XRAY_SLOTS);
	fprintf(f, "\n%4s %12s %16s %7s %16s %14s  %-18s  %s\n", "rank", "calls", "self cycles", "self%", "total cycles",
		"cycles/call", "address", "function");
	unsigned shown = 0, below = 0;
	for (size_t i = 0; i < n; i++) {
		double pct = all_self ? 100.0 * (double)rows[i].self / (double)all_self : 0.0;
		if (pct < percent_cutoff || rows[i].total < cycle_cutoff) {
			below++;
			continue;
		}
		if (shown >= max_rows) {
			below++;
			continue;
		}
		uintptr_t off = 0;
		const char *name = lookup(syms, nsyms, rows[i].fn, &off);
		char where[300];
		/* Instrumented addresses are function starts: an offset means a local function. */
		if (name && off == 0)
			snprintf(where, sizeof where, "%s", name);
		else if (nsyms)
			snprintf(where, sizeof where, "? (not in the map: a static function)");
		else
			snprintf(where, sizeof where, "?");
		shown++;
		fprintf(f, "%4u %12llu %16llu %6.2f%% %16llu %14llu  0x%016lx  %s\n", shown,
			(unsigned long long)rows[i].calls, (unsigned long long)rows[i].self, pct,
			(unsigned long long)rows[i].total, (unsigned long long)(rows[i].total / rows[i].calls),
			(unsigned long)rows[i].fn, where);
	}
	if (below)
		fprintf(f, "(%u more functions below the cutoff: %.2f%%, %llu cycles, %u rows)\n", below,
			(double)percent_cutoff, (unsigned long long)cycle_cutoff, max_rows);
	if (note_count) {
		fprintf(f, "\nannotations (the last %d):\n", XRAY_NOTES);
		unsigned first = note_count > XRAY_NOTES ? note_count - XRAY_NOTES : 0;
		for (unsigned i = first; i < note_count; i++)
			fprintf(f, "  %s\n", notes[i % XRAY_NOTES]);
	}
	for (size_t i = 0; i < nsyms; i++)
		free(syms[i].name);
	free(syms);
	free(rows);
}

static NOI void save(const char *filename, float percent_cutoff, uint64_t cycle_cutoff, unsigned max_rows)
{
	FILE *f = fopen(filename, "w");
	if (!f) {
		fprintf(stderr, "XRay: cannot write the report %s\n", filename);
		return;
	}
	report(f, percent_cutoff, cycle_cutoff, max_rows);
	fclose(f);
}

/* At exit: to XRAY_REPORT, or to ./xray-report.txt unless the program saved a report itself. */
static NOI __attribute__((destructor)) void report_at_exit(void)
{
	const char *name = getenv("XRAY_REPORT");
	if (name && *name)
		save(name, 0.0f, 0, XRAY_EXIT_ROWS);
	else if (!report_saved)
		save("xray-report.txt", 0.0f, 0, XRAY_EXIT_ROWS);
}

/* ---- the original API ---------------------------------------------------------------------- */

struct XRayTraceCapture *XRayInit(int stack_size, int buffer_size, int frame_count, const char *mapfilename)
{
	(void)stack_size, (void)buffer_size, (void)frame_count;
	if (mapfilename)
		snprintf(capture.map, sizeof capture.map, "%s", mapfilename);
	return &capture;
}

void XRayShutdown(struct XRayTraceCapture *c)
{
	(void)c;
}

void XRayStartFrame(struct XRayTraceCapture *c)
{
	if (c && c->frames < XRAY_FRAMES) {
		struct frame *fr = &c->frame[c->frames];
		snprintf(fr->label, sizeof fr->label, "%u", c->frames);
		fr->end = 0;
		fr->start = now();
	}
}

void XRayEndFrame(struct XRayTraceCapture *c)
{
	if (c && c->frames < XRAY_FRAMES) {
		c->frame[c->frames].end = now();
		c->frames++;
	}
}

void XRayLabelFrame(const char *fmt, ...)
{
	if (capture.frames >= XRAY_FRAMES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(capture.frame[capture.frames].label, sizeof capture.frame[0].label, fmt, ap);
	va_end(ap);
}

void XRaySetAnnotationFilter(struct XRayTraceCapture *c, uint32_t filter)
{
	if (c)
		c->filter = filter;
}

static NOI void annotate(const char *fmt, va_list ap)
{
	while (__atomic_test_and_set(&note_lock, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
	vsnprintf(notes[note_count % XRAY_NOTES], XRAY_NOTE_LEN, fmt, ap);
	note_count++;
	__atomic_clear(&note_lock, __ATOMIC_RELEASE);
}

void __XRayAnnotate(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	annotate(fmt, ap);
	va_end(ap);
}

void __XRayAnnotateFiltered(const uint32_t filter, const char *fmt, ...)
{
	if (!(filter & capture.filter))
		return;
	va_list ap;
	va_start(ap, fmt);
	annotate(fmt, ap);
	va_end(ap);
}

void XRaySaveReport(struct XRayTraceCapture *c, const char *filename, float percent_cutoff, int cycle_cutoff)
{
	(void)c;
	report_saved = 1;
	save(filename, percent_cutoff, cycle_cutoff > 0 ? (uint64_t)cycle_cutoff : 0, ~0u);
}

void XRayReport(struct XRayTraceCapture *c, FILE *f, float percent_cutoff, int ticks_cutoff)
{
	(void)c;
	report(f, percent_cutoff, ticks_cutoff > 0 ? (uint64_t)ticks_cutoff : 0, ~0u);
}
