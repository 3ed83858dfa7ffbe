/* endian.h: glibc-style byte-order names and conversions on top of newlib's <machine/endian.h>. */
#ifndef _ENDIAN_H
#define _ENDIAN_H

#include <sys/cdefs.h>
#include <machine/endian.h>

#define __LITTLE_ENDIAN _LITTLE_ENDIAN
#define __BIG_ENDIAN _BIG_ENDIAN
#define __PDP_ENDIAN _PDP_ENDIAN
#define __BYTE_ORDER _BYTE_ORDER
#define __FLOAT_WORD_ORDER _BYTE_ORDER

#ifndef LITTLE_ENDIAN
#define LITTLE_ENDIAN _LITTLE_ENDIAN
#define BIG_ENDIAN _BIG_ENDIAN
#define PDP_ENDIAN _PDP_ENDIAN
#define BYTE_ORDER _BYTE_ORDER
#endif

#if _BYTE_ORDER != _LITTLE_ENDIAN
#error "endian.h: only little-endian targets are supported"
#endif

#define htobe16(x) __builtin_bswap16(x)
#define htole16(x) ((__uint16_t)(x))
#define be16toh(x) __builtin_bswap16(x)
#define le16toh(x) ((__uint16_t)(x))
#define htobe32(x) __builtin_bswap32(x)
#define htole32(x) ((__uint32_t)(x))
#define be32toh(x) __builtin_bswap32(x)
#define le32toh(x) ((__uint32_t)(x))
#define htobe64(x) __builtin_bswap64(x)
#define htole64(x) ((__uint64_t)(x))
#define be64toh(x) __builtin_bswap64(x)
#define le64toh(x) ((__uint64_t)(x))

#endif /* _ENDIAN_H */
