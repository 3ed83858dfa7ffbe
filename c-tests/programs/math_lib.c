/* math_lib.c: newlib's libm (sqrt, trigonometry, pow, exp/log, rounding, classification). */
#include <float.h>
#include "test.h"

/* volatile keeps gcc from folding the calls at compile time: libm must compute them. */
static volatile double two = 2.0, half = 0.5, ten = 10.0, minus = -2.5;

int main(void)
{
	const double pi = 3.14159265358979323846;
	CHECK_NEAR(sqrt(two), 1.4142135623730951, 1e-15);
	CHECK_NEAR(sin(pi * half), 1.0, 1e-15);
	CHECK_NEAR(cos(pi), -1.0, 1e-15);
	CHECK_NEAR(tan(pi / 4 * two / 2), 1.0, 1e-15);
	CHECK_NEAR(atan2(1.0, -1.0), 3 * pi / 4, 1e-15);
	CHECK_NEAR(pow(two, ten), 1024.0, 0);
	CHECK_NEAR(pow(ten, minus), 0.0031622776601683794, 1e-18);
	CHECK_NEAR(exp(1.0 * half * two), 2.718281828459045, 1e-15);
	CHECK_NEAR(log(ten), 2.302585092994046, 1e-15);
	CHECK_NEAR(log10(ten * ten), 2.0, 0);
	CHECK_NEAR(hypot(3.0 * half * two, 4.0), 5.0, 0);
	CHECK_NEAR(floor(minus), -3.0, 0);
	CHECK_NEAR(ceil(minus), -2.0, 0);
	CHECK_NEAR(round(minus), -3.0, 0);
	CHECK_NEAR(trunc(minus), -2.0, 0);
	CHECK_NEAR(fmod(ten, 3.0), 1.0, 0);
	CHECK_NEAR(cbrt(27.0 * half * two), 3.0, 1e-15);
	CHECK_NEAR(sqrtf((float)two), 1.41421356f, 1e-6);
	/* fmax/fmin (maxsd/minsd for ordered arguments): either order, negatives, NaN ignored. */
	CHECK_NEAR(fmax(two, ten), 10.0, 0);
	CHECK_NEAR(fmax(ten, two), 10.0, 0);
	CHECK_NEAR(fmin(minus, two), -2.5, 0);
	CHECK_NEAR(fmin(two, minus), -2.5, 0);
	CHECK_NEAR(fmax(NAN * two, minus), -2.5, 0);
	CHECK_NEAR(fmin(ten, NAN * two), 10.0, 0);
	CHECK(isnan(fmax(NAN * two, NAN * half)));
	CHECK_NEAR(fmaxf((float)minus, (float)half), 0.5f, 0);
	CHECK_NEAR(fminf((float)minus, (float)half), -2.5f, 0);
	CHECK_NEAR(fminf(NAN * (float)two, (float)half), 0.5f, 0);
	CHECK_NEAR(sinf((float)half), 0.47942554f, 1e-6);
	CHECK(isnan(sqrt(minus)));
	CHECK(isinf(exp(1000.0 * two)));
	CHECK(fpclassify(DBL_MIN / 4) == FP_SUBNORMAL);
	CHECK_INT(lrint(minus * two), -5);
	printf("sqrt(2)=%.15f sin(pi/2)=%g pow(2,10)=%g\n", sqrt(two), sin(pi * half), pow(two, ten));
	TEST_DONE();
}
