/* sys/_hermit_fcntl.h: Linux open(2) flag values for HermitCore, used by <sys/_default_fcntl.h>. */
/*
 * The kernel passes open flags to the host unchanged, so newlib's stdio and applications
 * must use the Linux numbers (as newlib-hermit did). Included by <sys/_default_fcntl.h>
 * under __hermit__ in place of newlib's generic _F* values; the O_* names follow from them.
 */
#ifndef _SYS__HERMIT_FCNTL_H_
#define _SYS__HERMIT_FCNTL_H_

#define _FOPEN      (-1)        /* kernel use only */
#define _FREAD      0x0001      /* read enabled (O_RDONLY + 1) */
#define _FWRITE     0x0002      /* write enabled (O_WRONLY + 1) */
#define _FCREAT     0000100
#define _FEXCL      0000200
#define _FNOCTTY    0000400
#define _FTRUNC     0001000
#define _FAPPEND    0002000
#define _FNONBLOCK  0004000
#define _FNDELAY    _FNONBLOCK
#define _FNBIO      _FNONBLOCK
#define _FDSYNC     0010000
#define _FASYNC     0020000
#define _FDIRECT    0040000
#define _FLARGEFILE 0100000
#define _FDIRECTORY 0200000
#define _FNOFOLLOW  0400000
#define _FNOATIME   01000000
#define _FNOINHERIT 02000000    /* O_CLOEXEC */
#define _FSYNC      04010000    /* O_SYNC = __O_SYNC | O_DSYNC */
#define _FEXECSRCH  010000000   /* O_PATH: Linux has no O_EXEC/O_SEARCH of its own */
#define _FPATH      010000000
#define _FTMPFILE   (020000000 | _FDIRECTORY)

/* Internal BSD flags that never reach the host: kept out of the range of the flags above. */
#define _FMARK      040000000
#define _FDEFER     0100000000
#define _FSHLOCK    0200000000
#define _FEXLOCK    0400000000

#if __POSIX_VISIBLE >= 199309 || __XSI_VISIBLE
#define O_DSYNC     _FDSYNC
#define O_RSYNC     _FSYNC
#endif
#if __GNU_VISIBLE
#define O_LARGEFILE _FLARGEFILE
#define O_NOATIME   _FNOATIME
#define O_PATH      _FPATH
#define O_TMPFILE   _FTMPFILE
#endif

#endif /* _SYS__HERMIT_FCNTL_H_ */
