/* fortran_mixed: a C main calling Fortran bind(c) procedures (fortran_mixed_f.f90), which call back into C. */
#include <stddef.h>

#include "test.h"

struct point {
	double x, y;
	int id;
};

double f_dot(int n, const double *x, const double *y);
int f_scale_and_call_back(int n, double *x, double factor);
void f_move_point(struct point *p, double dx, double dy);
void f_greet(const char *name, char *buf, size_t size);
const double *f_make_table(int n);

int c_square(int v)
{
	return v * v;
}

int main(void)
{
	double x[4] = {1, 2, 3, 4}, y[4] = {4, 3, 2, 1};
	CHECK_NEAR(f_dot(4, x, y), 20.0, 0.0);
	CHECK_INT(f_scale_and_call_back(4, x, 0.5), 1 + 4 + 9 + 16);
	CHECK_NEAR(x[3], 2.0, 0.0);

	struct point p = {1.5, -2.0, 7};
	fflush(stdout);
	f_move_point(&p, 1.0, 0.5);
	CHECK_NEAR(p.x, 2.5, 0.0);
	CHECK_NEAR(p.y, -1.5, 0.0);
	CHECK_INT(p.id, -7);

	char buf[64];
	f_greet("HermitCore", buf, sizeof(buf));
	CHECK_STR(buf, "Hello, HermitCore, from Fortran");
	f_greet("a rather long name that does not fit", buf, 16);
	CHECK_STR(buf, "Hello, a rather");
	printf("%s\n", "C got the greeting back");

	const double *table = f_make_table(100);
	CHECK_NEAR(table[0], 0.5, 0.0);
	CHECK_NEAR(table[99], 50.0, 0.0);
	TEST_DONE();
}
