/* strings.c: strlen, memchr, memmove and printf's format scan with SSE2, 16 bytes per step (newlib's are generic C, a word or a byte at a time: about 3x slower on the short lines fgets scans and stdio copies). */
/*
 * Both read whole aligned 16-byte blocks: an aligned block never crosses a page boundary,
 * so a block that holds one byte of the string (or buffer) is readable, and the bytes
 * outside it are masked off or ignored. The first block is aligned down and its leading
 * bytes shifted out of the mask.
 */
#include <emmintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bit i set where byte i of the aligned block at p equals every byte of `pattern`. */
static inline unsigned matches(const unsigned char *p, __m128i pattern)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)p), pattern));
}

size_t strlen(const char *s)
{
	const __m128i zero = _mm_setzero_si128();
	uintptr_t off = (uintptr_t)s & 15;
	const unsigned char *p = (const unsigned char *)s - off;
	unsigned mask = matches(p, zero) >> off;
	if (mask)
		return (size_t)__builtin_ctz(mask);
	for (;;) {
		p += 16;
		mask = matches(p, zero);
		if (mask)
			return (size_t)(p + __builtin_ctz(mask) - (const unsigned char *)s);
	}
}

void *memchr(const void *buf, int c, size_t n)
{
	if (n == 0)
		return NULL;
	const __m128i needle = _mm_set1_epi8((char)c);
	const unsigned char *s = buf;
	uintptr_t off = (uintptr_t)s & 15;
	const unsigned char *p = s - off;
	unsigned mask = matches(p, needle) >> off;
	if (mask) {
		size_t i = (size_t)__builtin_ctz(mask);
		return i < n ? (void *)(s + i) : NULL;
	}
	/* `left`: bytes of the buffer from p on. */
	size_t first = 16 - off;
	if (n <= first)
		return NULL;
	size_t left = n - first;
	for (;;) {
		p += 16;
		mask = matches(p, needle);
		if (mask) {
			size_t i = (size_t)__builtin_ctz(mask);
			return i < left ? (void *)(p + i) : NULL;
		}
		if (left <= 16)
			return NULL;
		left -= 16;
	}
}

/* Moves of up to 32 bytes: every byte is loaded before the first store, so the two areas may
   overlap. */
static inline void move_small(unsigned char *d, const unsigned char *s, size_t n)
{
	if (n >= 16) {
		__m128i head = _mm_loadu_si128((const __m128i *)s);
		__m128i tail = _mm_loadu_si128((const __m128i *)(s + n - 16));
		_mm_storeu_si128((__m128i *)d, head);
		_mm_storeu_si128((__m128i *)(d + n - 16), tail);
	} else if (n >= 8) {
		uint64_t head, tail;
		__builtin_memcpy(&head, s, 8);
		__builtin_memcpy(&tail, s + n - 8, 8);
		__builtin_memcpy(d, &head, 8);
		__builtin_memcpy(d + n - 8, &tail, 8);
	} else if (n >= 4) {
		uint32_t head, tail;
		__builtin_memcpy(&head, s, 4);
		__builtin_memcpy(&tail, s + n - 4, 4);
		__builtin_memcpy(d, &head, 4);
		__builtin_memcpy(d + n - 4, &tail, 4);
	} else if (n > 0) {
		unsigned char first = s[0], middle = s[n / 2], last = s[n - 1];
		d[0] = first;
		d[n / 2] = middle;
		d[n - 1] = last;
	}
}

/*
 * memmove: newlib's generic C copies byte by byte whenever either pointer is unaligned (the
 * usual case in stdio, which moves every fprintf/fputs/fwrite piece into the buffer with it).
 * Up to 32 bytes: loads before stores. Areas that do not overlap: memcpy. Overlapping ones:
 * 16 bytes per step away from the overlap (forwards when the destination is below the
 * source), with the far end's 16 bytes loaded first and stored last.
 */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (n <= 32) {
		move_small(d, s, n);
		return dst;
	}
	if ((uintptr_t)d - (uintptr_t)s >= n && (uintptr_t)s - (uintptr_t)d >= n)
		return memcpy(dst, src, n);
	if (d < s) {
		__m128i tail = _mm_loadu_si128((const __m128i *)(s + n - 16));
		for (size_t i = 0; i < n - 16; i += 16)
			_mm_storeu_si128((__m128i *)(d + i), _mm_loadu_si128((const __m128i *)(s + i)));
		_mm_storeu_si128((__m128i *)(d + n - 16), tail);
	} else if (d > s) {
		__m128i head = _mm_loadu_si128((const __m128i *)s);
		for (size_t i = n; i > 16; i -= 16)
			_mm_storeu_si128((__m128i *)(d + i - 16), _mm_loadu_si128((const __m128i *)(s + i - 16)));
		_mm_storeu_si128((__m128i *)d, head);
	}
	return dst;
}

/*
 * printf's scan of its format (newlib's vfprintf, prepare-newlib.cmake item 15): the first byte
 * of `s` that is '%', the terminating NUL or not ASCII (above 0x7f, for the locale's mbtowc).
 * Aligned 16-byte blocks, as strlen.
 */
const char *__hermit_fmt_stop(const char *s)
{
	const __m128i percent = _mm_set1_epi8('%');
	const __m128i one = _mm_set1_epi8(1);
	uintptr_t off = (uintptr_t)s & 15;
	const char *p = s - off;
	for (;;) {
		__m128i block = _mm_load_si128((const __m128i *)p);
		/* Signed bytes below 1: NUL and everything above 0x7f. */
		__m128i stop = _mm_or_si128(_mm_cmpeq_epi8(block, percent), _mm_cmplt_epi8(block, one));
		unsigned mask = (unsigned)_mm_movemask_epi8(stop) >> off;
		if (mask)
			return p + off + __builtin_ctz(mask);
		p += 16;
		off = 0;
	}
}
