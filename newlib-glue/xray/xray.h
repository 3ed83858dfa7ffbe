/* xray.h: the XRay profiling API of the original HermitCore (usr/xray), implemented by libxray.a.
 *
 * Build with -DPROFILING=ON (HermitCore-Application.cmake): every function is compiled with
 * -finstrument-functions, XRAY is defined and libxray.a is linked. libxray counts the calls
 * and the cycles (rdtsc) of every instrumented function, in every thread, and writes a report
 * at exit (XRAY_REPORT, default ./xray-report.txt) and on XRaySaveReport(). Without XRAY the
 * functions below are empty inline functions, so programs that include this header
 * unconditionally (the original OpenMP benchmarks) build either way. Cycles are elapsed TSC
 * cycles of the calling thread, so blocked and preempted time counts as the function's own.
 *
 * Deviations from the original (a Native Client tracer with a ring buffer of call records):
 * libxray keeps totals per function instead of a trace, so stack_size, buffer_size and
 * frame_count of XRayInit() are accepted for compatibility and otherwise unused; frames are
 * reported with their labels and durations, while the function totals cover the whole run;
 * names come from the linker map given to XRayInit() or in XRAY_MAP (global symbols only),
 * otherwise the report lists addresses for addr2line -f -e <image>.
 */
#ifndef HERMIT_XRAY_H
#define HERMIT_XRAY_H

#include <stdint.h>
#include <stdio.h>

#ifndef XRAY_DISABLE_BROWSER_INTEGRATION
#define XRAY_DISABLE_BROWSER_INTEGRATION
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define XRAY_NO_INSTRUMENT __attribute__((no_instrument_function))
#define XRAY_INLINE __attribute__((always_inline, no_instrument_function)) inline

struct XRayTraceCapture;

#if defined(XRAY)

/* Use the XRayAnnotate() macros rather than these. */
XRAY_NO_INSTRUMENT void __XRayAnnotate(const char *str, ...) __attribute__((format(printf, 1, 2)));
XRAY_NO_INSTRUMENT void __XRayAnnotateFiltered(const uint32_t filter, const char *str, ...)
	__attribute__((format(printf, 2, 3)));

/* Starts a capture; mapfilename (may be NULL) is a GNU ld map (-Wl,-Map=) used to name functions. */
XRAY_NO_INSTRUMENT struct XRayTraceCapture *XRayInit(int stack_size, int buffer_size, int frame_count,
	const char *mapfilename);
XRAY_NO_INSTRUMENT void XRayShutdown(struct XRayTraceCapture *capture);
XRAY_NO_INSTRUMENT void XRayStartFrame(struct XRayTraceCapture *capture);
XRAY_NO_INSTRUMENT void XRayEndFrame(struct XRayTraceCapture *capture);
XRAY_NO_INSTRUMENT void XRayLabelFrame(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
XRAY_NO_INSTRUMENT void XRaySetAnnotationFilter(struct XRayTraceCapture *capture, uint32_t filter);
/* Writes the report to a host file: functions above percent_cutoff % of the cycles and cycle_cutoff cycles. */
XRAY_NO_INSTRUMENT void XRaySaveReport(struct XRayTraceCapture *capture, const char *filename,
	float percent_cutoff, int cycle_cutoff);
XRAY_NO_INSTRUMENT void XRayReport(struct XRayTraceCapture *capture, FILE *f, float percent_cutoff,
	int ticks_cutoff);

#if defined(XRAY_ANNOTATE)
#define XRayAnnotate(...) __XRayAnnotate(__VA_ARGS__)
#define XRayAnnotateFiltered(...) __XRayAnnotateFiltered(__VA_ARGS__)
#else
#define XRayAnnotate(...)
#define XRayAnnotateFiltered(...)
#endif

#else /* !XRAY: the null API */

#define XRayAnnotate(...)
#define XRayAnnotateFiltered(...)

static inline struct XRayTraceCapture *XRayInit(int stack_size, int buffer_size, int frame_count,
	const char *mapfilename)
{
	(void)stack_size, (void)buffer_size, (void)frame_count, (void)mapfilename;
	return NULL;
}
static inline void XRayShutdown(struct XRayTraceCapture *capture) { (void)capture; }
static inline void XRayStartFrame(struct XRayTraceCapture *capture) { (void)capture; }
static inline void XRayEndFrame(struct XRayTraceCapture *capture) { (void)capture; }
static inline void XRayLabelFrame(const char *fmt, ...) { (void)fmt; }
static inline void XRaySetAnnotationFilter(struct XRayTraceCapture *capture, uint32_t filter)
{
	(void)capture, (void)filter;
}
static inline void XRaySaveReport(struct XRayTraceCapture *capture, const char *filename, float percent_cutoff,
	int cycle_cutoff)
{
	(void)capture, (void)filename, (void)percent_cutoff, (void)cycle_cutoff;
}
static inline void XRayReport(struct XRayTraceCapture *capture, FILE *f, float percent_cutoff, int ticks_cutoff)
{
	(void)capture, (void)f, (void)percent_cutoff, (void)ticks_cutoff;
}

#endif /* XRAY */

#ifdef __cplusplus
}
#endif

#endif /* HERMIT_XRAY_H */
