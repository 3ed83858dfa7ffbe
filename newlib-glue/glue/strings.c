/* strings.c: strlen and memchr with SSE2, 16 bytes per step (newlib's are generic C, a word at a time, about 3x slower on the short lines fgets and programs scan). */
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
