! math-vector-fortran.h: gfortran pre-includes this file; on glibc it declares libmvec's
! SIMD variants of the math intrinsics. newlib has no vector math library, so this one
! declares none and vectorized loops call the scalar functions.
