/* sys/dirent.h: DIR and struct dirent for HermitCore (replaces newlib's #error stub). */
/*
 * struct dirent has the layout of Linux's getdents64 records, so a host directory listing
 * can be passed through unchanged; newlib's opendir/readdir (libc/posix) read records with
 * getdents() into dd_buf (int getdents(int fd, void *buf, int len), declared by readdir.c).
 */
#ifndef _SYS_DIRENT_H
#define _SYS_DIRENT_H

#include <sys/types.h>
#include <sys/lock.h>

#define HAVE_DD_LOCK 1
#define _DIRENT_HAVE_D_RECLEN 1
#define _DIRENT_HAVE_D_OFF 1
#define _DIRENT_HAVE_D_TYPE 1

#define MAXNAMLEN 255

struct dirent {
	__uint64_t d_ino;	/* inode number, 0 for a deleted entry */
	__int64_t d_off;	/* offset of the next record */
	unsigned short d_reclen; /* length of this record */
	unsigned char d_type;	/* DT_* */
	char d_name[MAXNAMLEN + 1];
};

typedef struct {
	int dd_fd;		/* directory descriptor */
	int dd_loc;		/* offset in the buffer */
	int dd_size;		/* amount of data returned by getdents */
	char *dd_buf;		/* record buffer */
	int dd_len;		/* size of the buffer */
	long dd_seek;		/* magic cookie returned by getdents */
	_LOCK_RECURSIVE_T dd_lock;
} DIR;

#define __dirfd(dir) ((dir)->dd_fd)

#if __BSD_VISIBLE || __GNU_VISIBLE
#define DT_UNKNOWN 0
#define DT_FIFO 1
#define DT_CHR 2
#define DT_DIR 4
#define DT_BLK 6
#define DT_REG 8
#define DT_LNK 10
#define DT_SOCK 12
#define DT_WHT 14
#define IFTODT(mode) (((mode) & 0170000) >> 12)
#define DTTOIF(type) ((type) << 12)
#endif

#endif /* _SYS_DIRENT_H */
