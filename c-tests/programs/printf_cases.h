/* printf_cases.h: a few thousand printf formats whose output C99 fixes exactly, hashed; the hash the host's glibc computes is the expected one. */
/*
 * The generator is deterministic: integer conversions with every flag, width, precision and
 * length modifier (the '*' forms too), %c, %s with precisions, %%, and literal text between
 * them that holds ASCII, UTF-8 and an invalid byte. Only combinations whose output the C
 * standard defines, so glibc and newlib must agree byte for byte. To recompute the expected
 * hash on the host: cc -x c -DPRINTF_CASES_MAIN printf_cases.h && ./a.out
 */
#ifndef PRINTF_CASES_H
#define PRINTF_CASES_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { PRINTF_CASES = 4000 };

static uint64_t printf_cases_state;

static uint64_t printf_cases_next(void)
{
	uint64_t x = printf_cases_state;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return printf_cases_state = x;
}

/* FNV-1a over `n` bytes, continuing `hash`. */
static uint64_t printf_cases_fnv(uint64_t hash, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hash = (hash ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return hash;
}

/* Builds the next case into `fmt` and formats it with `emit`, which returns what the printf
   function returned. */
typedef int (*printf_cases_emit)(void *ctx, const char *fmt, ...);

static int printf_cases_one(char *fmt, printf_cases_emit emit, void *ctx)
{
	static const char *const texts[] = { "", "line ", " of the benchmark, value ", "\n", "caf\xc3\xa9 ",
		"\xff", "[", "] ", "100%% ", "\xe2\x82\xac=" };
	static const char *const strings[] = { "", "hermit", "a longer string of text", "x", "\xc3\xa9t\xc3\xa9" };
	static const char *const lengths[] = { "", "hh", "h", "l", "ll", "z", "j", "t" };
	uint64_t r = printf_cases_next();
	const char conv = "diuoxXcs%dddxu"[r % 14];
	r /= 14;
	char *p = fmt;
	p += sprintf(p, "%s", texts[r % 10]);
	r /= 10;
	*p++ = '%';
	int star_width = 0, star_prec = 0;
	int width = 0, prec = 0;
	if (conv != '%') {
		/* Flags C defines for this conversion. */
		const char *flags = strchr("csu", conv) ? (conv == 'u' ? "-0" : "-") : strchr("oxX", conv) ? "-#0" : "-+ 0";
		for (const char *f = flags; *f; f++, r >>= 1)
			if (r & 1)
				*p++ = *f;
		switch (r % 4) {
		case 1: p += sprintf(p, "%d", (int)(r / 4 % 24)); break;
		case 2: *p++ = '*'; star_width = 1; width = (int)(r / 4 % 40) - 12; break;
		default: break;
		}
		r /= 96;
		if (conv != 'c') {
			switch (r % 4) {
			case 1: *p++ = '.'; break;
			case 2: p += sprintf(p, ".%d", (int)(r / 4 % 14)); break;
			case 3: *p++ = '.'; *p++ = '*'; star_prec = 1; prec = (int)(r / 4 % 20) - 4; break;
			default: break;
			}
			r /= 80;
		}
		if (!strchr("cs", conv)) {
			p += sprintf(p, "%s", lengths[r % 8]);
			r /= 8;
		}
	}
	const char *mod = p; /* the conversion character; its length modifier precedes it */
	*p++ = conv;
	p += sprintf(p, "%s", texts[r % 10]);
	*p = '\0';
	uint64_t v = printf_cases_next();
	/* Values near zero and at the extremes as well as random ones. */
	switch (v % 4) {
	case 0: v = (v >> 8) % 21 - 10; break;
	case 1: v >>= (v >> 2) % 64; break;
	default: break;
	}
	const char *s = strings[v % 5];
	/* The argument's type follows the length modifier. */
	int hh = mod - fmt >= 2 && mod[-1] == 'h' && mod[-2] == 'h';
	int h = !hh && mod[-1] == 'h', ll = mod[-1] == 'l' && mod - fmt >= 2 && mod[-2] == 'l';
	int l = !ll && mod[-1] == 'l', z = mod[-1] == 'z', j = mod[-1] == 'j', t = mod[-1] == 't';
	int is_signed = conv == 'd' || conv == 'i';
#define PRINTF_CASES_CALL(arg)                                                                        \
	(star_width && star_prec ? emit(ctx, fmt, width, prec, arg)                                   \
	 : star_width		 ? emit(ctx, fmt, width, arg)                                         \
	 : star_prec		 ? emit(ctx, fmt, prec, arg)                                          \
				 : emit(ctx, fmt, arg))
	if (conv == '%')
		return emit(ctx, fmt);
	if (conv == 'c')
		return PRINTF_CASES_CALL((int)(' ' + v % 95));
	if (conv == 's')
		return PRINTF_CASES_CALL(s);
	if (hh)
		return is_signed ? PRINTF_CASES_CALL((int)(signed char)v) : PRINTF_CASES_CALL((int)(unsigned char)v);
	if (h)
		return is_signed ? PRINTF_CASES_CALL((int)(short)v) : PRINTF_CASES_CALL((int)(unsigned short)v);
	if (ll || j)
		return is_signed ? PRINTF_CASES_CALL((long long)v) : PRINTF_CASES_CALL((unsigned long long)v);
	if (l || z || t)
		return is_signed ? PRINTF_CASES_CALL((long)v) : PRINTF_CASES_CALL((unsigned long)v);
	return is_signed ? PRINTF_CASES_CALL((int)v) : PRINTF_CASES_CALL((unsigned)v);
#undef PRINTF_CASES_CALL
}

struct printf_cases_buf {
	char text[512];
	int len;
};

static int printf_cases_snprintf(void *ctx, const char *fmt, ...)
{
	struct printf_cases_buf *b = ctx;
	va_list ap;
	va_start(ap, fmt);
	b->len = vsnprintf(b->text, sizeof(b->text), fmt, ap);
	va_end(ap);
	return b->len;
}

static int printf_cases_fprintf(void *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vfprintf((FILE *)ctx, fmt, ap);
	va_end(ap);
	return n;
}

/* Runs every case through snprintf; the hash of all outputs and their lengths. The outputs
   are also appended to `all` (if not NULL, `cap` bytes), whose length goes to `*total`. */
static uint64_t printf_cases_hash(char *all, size_t cap, size_t *total)
{
	size_t used = 0;
	char fmt[128];
	struct printf_cases_buf b;
	uint64_t hash = 0xcbf29ce484222325ULL;
	printf_cases_state = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < PRINTF_CASES; i++) {
		int n = printf_cases_one(fmt, printf_cases_snprintf, &b);
		size_t len = (size_t)n < sizeof(b.text) ? (size_t)n : sizeof(b.text) - 1;
		hash = printf_cases_fnv(hash, b.text, len);
		hash = printf_cases_fnv(hash, (const char *)&n, sizeof(n));
		if (all && used + len <= cap)
			memcpy(all + used, b.text, len);
		used += len;
	}
	if (total)
		*total = used;
	return hash;
}

/* The same cases written to `f` with fprintf; returns the bytes written, or -1. */
static long printf_cases_write(FILE *f)
{
	char fmt[128];
	long total = 0;
	printf_cases_state = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < PRINTF_CASES; i++) {
		int n = printf_cases_one(fmt, printf_cases_fprintf, f);
		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

#ifdef PRINTF_CASES_MAIN
int main(void)
{
	size_t total;
	(void)printf_cases_write;
	unsigned long long hash = printf_cases_hash(NULL, 0, &total);
	printf("printf cases: %d formats, %zu bytes, hash %016llx\n", PRINTF_CASES, total, hash);
	return 0;
}
#endif

#endif
