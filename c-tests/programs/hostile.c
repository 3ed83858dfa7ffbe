/* hostile: issues uhyve hypercalls with pointers outside guest memory and lengths that wrap,
 * as a malicious guest would. The proxy must refuse each, say so, and stop the guest with
 * status 1; descriptors the guest does not own must give EBADF. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hermit/syscall.h>

#include "test.h"

#define PORT_WRITE 0x400
#define PORT_OPEN 0x440
#define PORT_READ 0x500
#define PORT_EXIT 0x540
#define PORT_CMDVAL 0x780

struct __attribute__((packed)) uhyve_write { int fd; uint64_t buf; uint64_t len; };
struct __attribute__((packed)) uhyve_read { int fd; uint64_t buf; uint64_t len; int64_t ret; };
struct __attribute__((packed)) uhyve_open { uint64_t name; int flags; int mode; int ret; };
struct uhyve_cmdval { uint64_t argv; uint64_t envp; };

/* Far outside any guest memory the tests use. */
#define OUTSIDE 0x7fff00000000ULL

static void hypercall(uint16_t port, const void *arg)
{
	uint32_t value = (uint32_t)(uintptr_t)arg;
	__asm__ volatile("out %%eax, %%dx" : : "a"(value), "d"(port) : "memory");
}

static void raw(uint16_t port, uint32_t value)
{
	__asm__ volatile("out %%eax, %%dx" : : "a"(value), "d"(port) : "memory");
}

static char unterminated[8192];

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	const char *c = argv[1];
	fflush(stdout);
	if (strcmp(c, "write-outside") == 0) {
		struct uhyve_write w = { 1, OUTSIDE, 16 };
		hypercall(PORT_WRITE, &w);
	} else if (strcmp(c, "write-wrap") == 0) {
		static char buf[16] = "wrapping";
		struct uhyve_write w = { 1, (uint64_t)(uintptr_t)buf, (uint64_t)-8 };
		hypercall(PORT_WRITE, &w);
	} else if (strcmp(c, "read-outside") == 0) {
		struct uhyve_read r = { 0, OUTSIDE, 16, 0 };
		hypercall(PORT_READ, &r);
	} else if (strcmp(c, "open-outside") == 0) {
		struct uhyve_open o = { OUTSIDE, 0, 0, 0 };
		hypercall(PORT_OPEN, &o);
	} else if (strcmp(c, "open-unterminated") == 0) {
		memset(unterminated, 'x', sizeof(unterminated));
		struct uhyve_open o = { (uint64_t)(uintptr_t)unterminated, 0, 0, 0 };
		hypercall(PORT_OPEN, &o);
	} else if (strcmp(c, "struct-outside") == 0) {
		raw(PORT_WRITE, 0xfffff000u);
	} else if (strcmp(c, "exit-outside") == 0) {
		raw(PORT_EXIT, 0xfffffff0u);
	} else if (strcmp(c, "cmdval-outside") == 0) {
		struct uhyve_cmdval v = { OUTSIDE, OUTSIDE };
		hypercall(PORT_CMDVAL, &v);
	} else if (strcmp(c, "unknown-port") == 0) {
		raw(0x9f00, 0);
	} else if (strcmp(c, "foreign-fds") == 0) {
		/* The proxy's own descriptors (KVM device, VM, vCPU) are not the guest's. */
		for (int fd = 3; fd < 16; fd++) {
			CHECK(sys_write(fd, "x", 1) == -EBADF);
			CHECK(sys_close(fd) == -EBADF);
			CHECK(sys_lseek(fd, 0, 0) == -EBADF);
		}
		CHECK(sys_open("/dev/kvm", 2, 0) == -EACCES);
		CHECK(sys_open("/proc/self/mem", 2, 0) == -EACCES);
		printf("hostile: foreign descriptors refused\n");
		TEST_DONE();
	} else {
		return 100;
	}
	/* Only reached if the proxy let the request through. */
	printf("hostile: the proxy accepted %s\n", c);
	return 0;
}
