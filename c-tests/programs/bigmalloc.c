/* bigmalloc: 1 GiB from malloc, touched page by page and checked; too much gives NULL. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "test.h"

int main(void)
{
	const size_t size = (size_t)1 << 30;
	uint64_t *block = malloc(size);
	CHECK(block != NULL);
	if (!block)
		return 1;
	const size_t words_per_page = 4096 / sizeof(uint64_t);
	for (size_t i = 0; i < size / sizeof(uint64_t); i += words_per_page)
		block[i] = i;
	uint64_t sum = 0, expected = 0;
	for (size_t i = 0; i < size / sizeof(uint64_t); i += words_per_page) {
		sum += block[i];
		expected += i;
	}
	CHECK(sum == expected);
	free(block);
	errno = 0;
	void *too_much = malloc((size_t)64 << 30);
	CHECK(too_much == NULL && errno == ENOMEM);
	printf("bigmalloc: 1 GiB touched page by page\n");
	TEST_DONE();
}
