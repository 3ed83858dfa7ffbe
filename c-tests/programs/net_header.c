/* net_header.c: the network settings the loader wrote into the kernel header (hcip, hcgateway,
 * hcmask at 0xB0/0xB4/0xB8 of the image at 0x800000, libhermit-abi.md §6.2), then "ready" and,
 * with an argument, a sleep of that many seconds (for the proxy's clean-up tests). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void show(const char *name, uintptr_t offset)
{
	const volatile uint8_t *a = (const volatile uint8_t *)(uintptr_t)(0x800000 + offset);
	printf("%s %u.%u.%u.%u ", name, a[0], a[1], a[2], a[3]);
}

int main(int argc, char **argv)
{
	show("hcip", 0xB0);
	show("hcgateway", 0xB4);
	show("hcmask", 0xB8);
	printf("\nready\n");
	fflush(stdout);
	if (argc > 1)
		sleep((unsigned)atoi(argv[1]));
	return 0;
}
