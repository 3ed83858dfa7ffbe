/* posix_mmap_shared.c: MAP_SHARED file mappings see the program's writes, their stores reach reads, msync, munmap and the file at exit. */
/*
 * Usage: posix_mmap_shared <path prefix>. Makes <prefix>.data and <prefix>.exit; the host
 * check (scripts/check-mmap-shared.sh) reads both after the program ended: <prefix>.data is
 * 10004 bytes, 'a'.. 'z' repeated, with 'N' at 1, "HELLO" at 100, 'Y' at 200, 'W' at 300, 'Z' at
 * 4106, 'X' at 5000, "abc" at 9000 and "TAIL" at 10000; <prefix>.exit is 8192 bytes,
 * "stored before exit" at 0 and 'E' at 8191, zeros between, written only by stores into a
 * mapping that was never unmapped.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"

enum { SIZE = 10000 };

static char path_data[512], path_exit[512];

static char at(int fd, off_t offset)
{
	char c = 0;
	CHECK_INT(pread(fd, &c, 1, offset), 1);
	return c;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: posix_mmap_shared <path prefix>\n");
		return 2;
	}
	snprintf(path_data, sizeof(path_data), "%s.data", argv[1]);
	snprintf(path_exit, sizeof(path_exit), "%s.exit", argv[1]);

	int fd = open(path_data, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	char text[SIZE];
	for (int i = 0; i < SIZE; i++)
		text[i] = (char)('a' + i % 26);
	CHECK_INT(write(fd, text, SIZE), SIZE);
	char *m = mmap(NULL, 12288, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		TEST_DONE();
	CHECK(memcmp(m, text, SIZE) == 0);
	CHECK_INT(m[SIZE], 0);
	CHECK_INT(m[12287], 0);

	/* The program's writes through any descriptor appear in the mapping. */
	CHECK_INT(pwrite(fd, "HELLO", 5, 100), 5);
	CHECK(memcmp(m + 100, "HELLO", 5) == 0);
	int appender = open(path_data, O_WRONLY | O_APPEND);
	CHECK(appender >= 0);
	CHECK_INT(write(appender, "TAIL", 4), 4);
	CHECK(memcmp(m + SIZE, "TAIL", 4) == 0);
	CHECK_INT(close(appender), 0);

	/* Stores reach reads of the file, through another descriptor too. */
	int reader = open(path_data, O_RDONLY);
	CHECK(reader >= 0);
	m[5000] = 'X';
	memcpy(m + 9000, "abc", 3);
	CHECK_INT(at(reader, 5000), 'X');
	char three[4] = { 0 };
	CHECK_INT(lseek(reader, 9000, SEEK_SET), 9000);
	CHECK_INT(read(reader, three, 3), 3);
	CHECK_STR(three, "abc");
	/* Also a read of a descriptor that was never moved. */
	m[1] = 'N';
	int fresh = open(path_data, O_RDONLY);
	CHECK_INT(read(fresh, three, 2), 2);
	three[2] = 0;
	CHECK_STR(three, "aN");
	CHECK_INT(close(fresh), 0);
	m[200] = 'Y';
	CHECK_INT(msync(m, 4096, MS_SYNC), 0);
	CHECK_INT(at(reader, 200), 'Y');

	/* A second mapping of the file, read only, from its second page: it has what the first
	 * stored, and later stores once they are written back. */
	char *second = mmap(NULL, 8192, PROT_READ, MAP_SHARED, reader, 4096);
	CHECK(second != MAP_FAILED);
	if (second != MAP_FAILED) {
		CHECK_INT(second[5000 - 4096], 'X');
		m[4106] = 'Z';
		CHECK_INT(msync(m + 4096, 4096, MS_ASYNC), 0);
		CHECK_INT(second[10], 'Z');
		CHECK_INT(munmap(second, 8192), 0);
	}

	/* Writable shared mappings need a descriptor open for writing; pipes cannot be mapped. */
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, reader, 0) == MAP_FAILED);
	CHECK_INT(errno, EACCES);
	int p[2];
	CHECK_INT(pipe(p), 0);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, p[0], 0) == MAP_FAILED);
	CHECK_INT(errno, ENODEV);
	close(p[0]);
	close(p[1]);

	/* The mapping keeps its file after close; munmap writes its stores back. A store past the
	 * end of the file, in its last page, does not make the file longer. */
	CHECK_INT(close(fd), 0);
	m[300] = 'W';
	m[SIZE + 100] = 'Q';
	CHECK_INT(munmap(m, 12288), 0);
	CHECK_INT(at(reader, 300), 'W');
	struct stat st;
	CHECK_INT(fstat(reader, &st), 0);
	CHECK_INT(st.st_size, SIZE + 4);
	CHECK_INT(close(reader), 0);

	/* A file made through a mapping that is never unmapped: exit writes it. */
	int made = open(path_exit, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(made >= 0);
	CHECK_INT(ftruncate(made, 8192), 0);
	char *e = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, made, 0);
	CHECK(e != MAP_FAILED);
	if (e != MAP_FAILED) {
		memcpy(e, "stored before exit", 18);
		e[8191] = 'E';
	}
	CHECK_INT(close(made), 0);
	printf("posix_mmap_shared: shared mappings coherent\n");
	TEST_DONE();
}
