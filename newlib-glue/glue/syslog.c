/* syslog.c: openlog/syslog/vsyslog/closelog/setlogmask: a unikernel has no log daemon, so each message goes to standard error. */
/*
 * A message becomes one line "ident[pid]: text" (the ident of openlog, else "hermit"; the
 * pid with LOG_PID), written with one write() so that lines of threads do not mix. "%m" in
 * the format stands for strerror(errno), as syslog's does. Priorities outside setlogmask's
 * mask are dropped; facilities are accepted and not shown.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* The longest line written; longer messages are cut. */
#define LINE_MAX_BYTES 1024

static const char *log_ident;
static int log_options;
static int log_mask = LOG_UPTO(LOG_DEBUG);

void openlog(const char *ident, int option, int facility)
{
	(void)facility;
	log_ident = ident;
	log_options = option;
}

void closelog(void)
{
	log_ident = NULL;
	log_options = 0;
}

int setlogmask(int mask)
{
	int old = log_mask;
	if (mask != 0)
		log_mask = mask;
	return old;
}

/* format with each "%m" replaced by the text of err ("%%" kept as it is), into out. */
static void expand_m(char *out, size_t size, const char *format, int err)
{
	const char *text = strerror(err);
	size_t n = 0;
	for (const char *p = format; *p != '\0' && n + 1 < size; p++) {
		if (p[0] == '%' && p[1] == 'm') {
			for (const char *t = text; *t != '\0' && n + 1 < size; t++)
				out[n++] = *t == '%' ? '?' : *t;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			out[n++] = *p++;
			if (n + 1 < size)
				out[n++] = *p;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

void vsyslog(int priority, const char *format, va_list ap)
{
	int err = errno;
	if (!(log_mask & LOG_MASK(LOG_PRI(priority))))
		return;
	char fmt[LINE_MAX_BYTES];
	expand_m(fmt, sizeof(fmt), format, err);
	char line[LINE_MAX_BYTES];
	const char *ident = log_ident != NULL ? log_ident : "hermit";
	int n = (log_options & LOG_PID) ? snprintf(line, sizeof(line), "%s[%d]: ", ident, (int)getpid())
					: snprintf(line, sizeof(line), "%s: ", ident);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	size_t len = strlen(line);
	if (len == sizeof(line) - 1)
		len--;
	if (len == 0 || line[len - 1] != '\n')
		line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
	errno = err;
}

void syslog(int priority, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	vsyslog(priority, format, ap);
	va_end(ap);
}
