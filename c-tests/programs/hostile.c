/* hostile: issues uhyve hypercalls with pointers outside guest memory and lengths that wrap,
 * as a malicious guest would. A request struct outside guest memory (or an unknown port)
 * stops the guest with a message and status 1; a READ/WRITE buffer that is partly outside
 * gives a short count, one with nothing transferable -EFAULT (as Linux); descriptors the
 * guest does not own give EBADF. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hermit/syscall.h>

#include "test.h"

#define PORT_WRITE 0x400
#define PORT_OPEN 0x440
#define PORT_READ 0x500
#define PORT_EXIT 0x540
#define PORT_CLOSE 0x480
#define PORT_LSEEK 0x580
#define PORT_FREELIST 0x720
#define PORT_CMDVAL 0x780
#define PORT_NETRING 0xB80

/* hermit_interface::netring: the argument of NETRING, the control words' offsets. */
struct netring { uint32_t op; uint32_t slots; uint64_t gpa; uint32_t buf; int32_t ret; };
#define NETRING_SETUP 1
#define RX_CONS 192

struct __attribute__((packed)) uhyve_write { int fd; uint64_t buf; uint64_t len; };
struct __attribute__((packed)) uhyve_read { int fd; uint64_t buf; uint64_t len; int64_t ret; };
struct __attribute__((packed)) uhyve_open { uint64_t name; int flags; int mode; int ret; };
struct uhyve_cmdval { uint64_t argv; uint64_t envp; };
struct __attribute__((packed)) uhyve_close { int fd; int ret; };
struct __attribute__((packed)) uhyve_lseek { int fd; int64_t offset; int whence; };

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

/* The page-directory entry that maps the 2 MiB page at `va` in the kernel's page tables,
 * which the proxy walks for READ/WRITE buffers (PML4 at image + 0x1000); every page is
 * accessible at CPL 3, as a hostile program may exploit. */
static volatile uint64_t *pd_entry(uint64_t va)
{
	const uint64_t mask = 0x000ffffffffff000ULL;
	volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)0x801000;
	uint64_t e = pml4[(va >> 39) & 511];
	if (!(e & 1))
		return NULL;
	volatile uint64_t *pdpt = (volatile uint64_t *)(uintptr_t)(e & mask);
	e = pdpt[(va >> 30) & 511];
	if (!(e & 1) || (e & 0x80))
		return NULL;
	volatile uint64_t *pd = (volatile uint64_t *)(uintptr_t)(e & mask);
	return &pd[(va >> 21) & 511];
}

/* WRITE and READ with a buffer whose first 100 bytes are mapped and whose rest is not: the
 * guest unmaps a 2 MiB page of its own heap (for the proxy's page walk) that it never
 * touches. */
static void partial(const char *path)
{
	char *block = malloc(6 << 20);
	CHECK(block != NULL);
	if (!block)
		return;
	uint64_t page = ((uint64_t)(uintptr_t)block + (2 << 20) + 0x1fffff) & ~0x1fffffULL;
	char *before = (char *)(uintptr_t)(page - 100);
	memset(before, 'p', 100);
	volatile uint64_t *pde = pd_entry(page);
	CHECK(pde != NULL && (*pde & 1));
	if (!pde)
		return;
	/* A host descriptor of its own (the kernel's open gives a guest descriptor number). */
	struct uhyve_open o = { (uint64_t)(uintptr_t)path, O_CREAT | O_RDWR | O_TRUNC, 0644, 0 };
	hypercall(PORT_OPEN, &o);
	int fd = o.ret;
	CHECK(fd > 2);
	uint64_t saved = *pde;
	*pde = saved & ~1ULL;

	struct uhyve_write w = { fd, page - 100, 200 };
	hypercall(PORT_WRITE, &w);
	CHECK_INT(w.len, 100);
	struct uhyve_write none = { fd, page + 8, 10 };
	hypercall(PORT_WRITE, &none);
	CHECK_INT((int64_t)none.len, -EFAULT);
	struct uhyve_write more = { fd, (uint64_t)(uintptr_t)block, 100 };
	hypercall(PORT_WRITE, &more);
	CHECK_INT(more.len, 100);

	struct uhyve_lseek seek = { fd, 0, SEEK_SET };
	hypercall(PORT_LSEEK, &seek);
	CHECK_INT(seek.offset, 0);
	memset(before, 0, 100);
	struct uhyve_read r = { fd, page - 100, 200, 0 };
	hypercall(PORT_READ, &r);
	CHECK_INT(r.ret, 100);
	int same = 1;
	for (int i = 0; i < 100; i++)
		same &= before[i] == 'p';
	CHECK(same);
	struct uhyve_read rnone = { fd, page + 8, 10, 0 };
	hypercall(PORT_READ, &rnone);
	CHECK_INT(rnone.ret, -EFAULT);

	*pde = saved;
	struct uhyve_close c = { fd, -1 };
	hypercall(PORT_CLOSE, &c);
	CHECK_INT(c.ret, 0);
	printf("hostile: partial buffers gave short counts and EFAULT\n");
}

/* Core 0's fast-channel slot, found in the kernel heap (0x200000..0x800000) by its shape:
 * the control block's two cache lines (host state 0 or 1 and 60 zero bytes; the poller's scan
 * count, the served count and 56 zero bytes), then slot 0, idle, whose last request was a
 * WRITE with its arguments in the slot itself (16 bytes in) or in the kernel's argument area. */
static volatile uint32_t *channel_slot0(void)
{
	uint64_t image_end = 0x800000 + *(volatile uint64_t *)(uintptr_t)0x800038;
	for (uint64_t a = 0x200000; a < 0x800000; a += 64) {
		volatile uint32_t *c = (volatile uint32_t *)(uintptr_t)a;
		if (c[0] > 1)
			continue;
		int zero = 1;
		for (int i = 1; i < 16; i++)
			zero &= c[i] == 0;
		for (int i = 18; i < 32; i++)
			zero &= c[i] == 0;
		volatile uint32_t *slot = c + 32;
		uint64_t arg = *(volatile uint64_t *)(slot + 2);
		int own = arg == (uint64_t)(uintptr_t)slot + 16 || (arg >= 0x800000 && arg < image_end);
		if (zero && slot[0] == 0 && slot[1] == PORT_WRITE && own)
			return slot;
	}
	return NULL;
}

/* A fast-channel request for port 0x10540, which a 16-bit truncation would serve as EXIT. */
static int channel_port(void)
{
	printf("hostile: looking for the fast channel\n");
	fflush(stdout);
	volatile uint32_t *slot = channel_slot0();
	if (!slot) {
		printf("hostile: no fast channel found\n");
		return 3;
	}
	static volatile int32_t code = 0;
	*(volatile uint64_t *)(slot + 2) = (uint64_t)(uintptr_t)&code;
	slot[1] = 0x10540;
	__atomic_store_n(&slot[0], 1, __ATOMIC_SEQ_CST); /* SLOT_REQUEST */
	raw(PORT_FREELIST, 0);                           /* a no-op port exit wakes the poller */
	while (__atomic_load_n(&slot[0], __ATOMIC_SEQ_CST) != 3) /* SLOT_DONE */
		__asm__ volatile("pause");
	printf("hostile: the proxy served port 0x10540\n");
	return 4;
}

/* Descriptor rings of 8 entries of 1536 bytes (a control page, a page of lengths, the
 * buffers), announced by the program itself before the kernel's network stack exists, with
 * a receive consumer index far ahead of the proxy's producer: the proxy's receive thread
 * finds it at its first look and must end the run as for a bad hypercall. */
static uint8_t ring_area[4096 * 2 + 2 * 8 * 1536] __attribute__((aligned(4096)));

static int bad_rx_ring(void)
{
	__atomic_store_n((uint32_t *)(ring_area + RX_CONS), 1000, __ATOMIC_SEQ_CST);
	struct netring r = { NETRING_SETUP, 8, (uint64_t)(uintptr_t)ring_area, 1536, 1 };
	hypercall(PORT_NETRING, &r);
	printf("hostile: ring setup returned %d\n", r.ret);
	fflush(stdout);
	if (r.ret != 0)
		return 3;
	sleep(5);
	return 0;
}

int main(int argc, char **argv)
{
	CHECK(argc >= 2);
	const char *c = argv[1];
	fflush(stdout);
	if (strcmp(c, "buffers-outside") == 0) {
		/* Buffers outside guest memory, or wrapping around: EFAULT, the guest goes on. */
		struct uhyve_write w = { 1, OUTSIDE, 16 };
		hypercall(PORT_WRITE, &w);
		CHECK_INT((int64_t)w.len, -EFAULT);
		static char buf[16] = "wrapping";
		struct uhyve_write wrap = { 1, (uint64_t)(uintptr_t)buf, (uint64_t)-8 };
		hypercall(PORT_WRITE, &wrap);
		CHECK_INT((int64_t)wrap.len, -EFAULT);
		struct uhyve_read r = { 0, OUTSIDE, 16, 0 };
		hypercall(PORT_READ, &r);
		CHECK_INT(r.ret, -EFAULT);
		printf("hostile: buffers outside guest memory gave EFAULT\n");
		TEST_DONE();
	} else if (strcmp(c, "partial") == 0 && argc == 3) {
		partial(argv[2]);
		TEST_DONE();
	} else if (strcmp(c, "channel-port") == 0) {
		return channel_port();
	} else if (strcmp(c, "bad-rx-ring") == 0) {
		if (bad_rx_ring() == 0)
			printf("hostile: the proxy accepted a bad receive ring\n");
		return 0;
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
		/* The proxy's own descriptors (KVM device, VM, vCPU) are not the guest's: refused by
		 * the proxy itself (raw hypercalls) as well as by the kernel's descriptor table. */
		for (int fd = 3; fd < 16; fd++) {
			struct uhyve_write w = { fd, (uint64_t)(uintptr_t)"x", 1 };
			hypercall(PORT_WRITE, &w);
			CHECK(w.len == (uint64_t)-EBADF);
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
