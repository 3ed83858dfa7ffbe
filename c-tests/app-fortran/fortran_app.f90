! fortran_app: an OpenMP Fortran program with a C part; stops with status 7 when all is well.
module app_math
  implicit none
contains
  integer(8) function parallel_sum(n) result(s)
    integer, intent(in) :: n
    integer :: i
    s = 0
    !$omp parallel do reduction(+:s)
    do i = 1, n
      s = s + i
    end do
    !$omp end parallel do
  end function parallel_sum
end module app_math

program fortran_app
  use, intrinsic :: iso_c_binding, only: c_int
  use omp_lib
  use app_math
  implicit none
  interface
    function c_twice(v) bind(c, name='c_twice') result(r)
      import :: c_int
      integer(c_int), value :: v
      integer(c_int) :: r
    end function c_twice
  end interface
  integer :: threads
  !$omp parallel
  !$omp single
  threads = omp_get_num_threads()
  !$omp end single
  !$omp end parallel
  write (*, '("fortran_app: ", i0, " threads, sum ", i0, ", twice 21 = ", i0)') &
    threads, parallel_sum(1000), c_twice(21)
  if (parallel_sum(1000) /= 500500 .or. c_twice(21) /= 42) error stop 1
  stop 7
end program fortran_app
