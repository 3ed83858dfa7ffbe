/* mman.c: mmap, munmap, mprotect, madvise and friends: anonymous memory, private copies and kernel-kept shared copies of files, from the kernel's allocator (see sys/mman.h). */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "glue.h"

#define PAGE 4096UL

/* Every live mapping, so that munmap frees only what mmap returned. */
struct mapping {
	struct mapping *next;
	void *addr;
	size_t len;
	int anonymous;
	/* MAP_SHARED of a file: registered with the kernel (src/syscalls/mapped.rs), which keeps it
	 * coherent with the program's reads and writes of the file and writes its stores back. */
	int shared;
};

static struct mapping *mappings;
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t page_round(size_t len)
{
	return (len + PAGE - 1) & ~(PAGE - 1);
}

/* Reads the file range into buf (zeros past its end). */
static int copy_file(int fd, char *buf, size_t len, off_t offset)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = sys_pread(fd, buf + done, len - done, offset + (off_t)done);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return 0;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	(void)addr;
	int kind = flags & (MAP_SHARED | MAP_PRIVATE);
	int anonymous = (flags & MAP_ANONYMOUS) != 0;
	if (len == 0 || (kind != MAP_SHARED && kind != MAP_PRIVATE) || len > SIZE_MAX - PAGE) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (!anonymous && ((uint64_t)offset & (PAGE - 1)) != 0) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (flags & MAP_FIXED) {
		/* Memory is mapped once at boot; nothing can be placed at a chosen address. */
		errno = ENOMEM;
		return MAP_FAILED;
	}
	int shared = 0, writable = 0;
	if (!anonymous) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0)
			return MAP_FAILED;
		if ((fl & O_ACCMODE) == O_WRONLY) {
			errno = EACCES;
			return MAP_FAILED;
		}
		shared = kind == MAP_SHARED;
		/* As Linux: a shared writable mapping needs a file open for writing. One of such a
		 * file is writable whatever prot says (mprotect may add PROT_WRITE later). */
		writable = shared && (fl & O_ACCMODE) == O_RDWR;
		if (shared && (prot & PROT_WRITE) && !writable) {
			errno = EACCES;
			return MAP_FAILED;
		}
	}
	size_t size = page_round(len);
	struct mapping *m = malloc(sizeof(*m));
	void *mem = NULL;
	if (m == NULL || posix_memalign(&mem, PAGE, size) != 0) {
		free(m);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	memset(mem, 0, size);
	if (!anonymous) {
		int err = shared ? sys_hermit_map_shared(fd, offset, mem, size, writable) : copy_file(fd, mem, len, offset);
		if (err < 0) {
			free(mem);
			free(m);
			errno = -err;
			return MAP_FAILED;
		}
	}
	m->addr = mem;
	m->len = size;
	m->anonymous = anonymous;
	m->shared = shared;
	pthread_mutex_lock(&mappings_lock);
	m->next = mappings;
	mappings = m;
	pthread_mutex_unlock(&mappings_lock);
	return mem;
}

/* A whole mapping is freed (a shared one written back first); a part of one stays allocated
 * (and readable; a shared one's stores in it are written back). */
int munmap(void *addr, size_t len)
{
	if (((uintptr_t)addr & (PAGE - 1)) != 0 || len == 0)
		return hermit_fail(EINVAL);
	struct mapping *found = NULL;
	pthread_mutex_lock(&mappings_lock);
	for (struct mapping **p = &mappings; *p != NULL; p = &(*p)->next) {
		if ((*p)->addr == addr && page_round(len) >= (*p)->len) {
			found = *p;
			*p = found->next;
			break;
		}
	}
	pthread_mutex_unlock(&mappings_lock);
	if (found != NULL) {
		if (found->shared)
			sys_hermit_unmap_shared(found->addr);
		free(found->addr);
		free(found);
	} else {
		sys_hermit_msync(addr, len);
	}
	return 0;
}

/* All memory stays readable and writable. */
int mprotect(void *addr, size_t len, int prot)
{
	(void)len;
	if (((uintptr_t)addr & (PAGE - 1)) != 0 || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0)
		return hermit_fail(EINVAL);
	return 0;
}

/* MADV_DONTNEED zeroes the range in an anonymous mapping, as Linux's fresh pages would be. */
int madvise(void *addr, size_t len, int advice)
{
	if (((uintptr_t)addr & (PAGE - 1)) != 0 || advice < MADV_NORMAL || advice > MADV_DONTNEED)
		return hermit_fail(EINVAL);
	if (advice != MADV_DONTNEED)
		return 0;
	pthread_mutex_lock(&mappings_lock);
	for (struct mapping *m = mappings; m != NULL; m = m->next) {
		char *start = m->addr;
		if (m->anonymous && (char *)addr >= start && (char *)addr < start + m->len) {
			size_t n = start + m->len - (char *)addr;
			memset(addr, 0, len < n ? len : n);
		}
	}
	pthread_mutex_unlock(&mappings_lock);
	return 0;
}

int posix_madvise(void *addr, size_t len, int advice)
{
	return madvise(addr, len, advice) == 0 ? 0 : errno;
}

/* Writes back the stores of shared file mappings in the range; private copies have nothing to
 * write back. */
int msync(void *addr, size_t len, int flags)
{
	if (((uintptr_t)addr & (PAGE - 1)) != 0 || (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) != 0 ||
	    (flags & (MS_ASYNC | MS_SYNC)) == (MS_ASYNC | MS_SYNC))
		return hermit_fail(EINVAL);
	return (int)hermit_result(sys_hermit_msync(addr, len));
}

/* Nothing is ever paged out. */
int mlock(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
	return 0;
}

int munlock(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
	return 0;
}
