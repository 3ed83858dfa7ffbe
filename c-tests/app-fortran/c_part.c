/* c_part: the C half of fortran_app. */
int c_twice(int v)
{
	return 2 * v;
}
