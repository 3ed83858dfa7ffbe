! fortran_omp: OpenMP Fortran on our libgomp: the omp_lib module and omp_lib.h, parallel do
! with reductions and schedules, critical, atomic, single, sections, workshare, barriers.
program fortran_omp
  use, intrinsic :: iso_fortran_env, only: int64, real64
  use omp_lib
  use ftest
  implicit none
  integer, parameter :: n = 1000000
  integer :: nthreads, i, hits, maxv, minv, section_sum
  integer(int64) :: isum
  integer, allocatable :: per_thread(:)
  integer, external :: from_include_file
  real(real64) :: s, t0, t1
  real(real64), allocatable :: a(:), b(:), c(:)

  nthreads = 0
  !$omp parallel
  !$omp single
  nthreads = omp_get_num_threads()
  !$omp end single
  !$omp end parallel
  write (*, '("fortran_omp: ", i0, " threads")') nthreads
  call check(nthreads == omp_get_max_threads(), 'omp_get_num_threads() == omp_get_max_threads()')
  call check(omp_get_num_procs() >= 1, 'omp_get_num_procs')
  call check(.not. omp_in_parallel(), 'omp_in_parallel() outside a parallel region')
  call check(omp_get_thread_num() == 0, 'thread 0 outside a parallel region')

  t0 = omp_get_wtime()
  isum = 0
  !$omp parallel do reduction(+:isum) schedule(static)
  do i = 1, n
    isum = isum + i
  end do
  !$omp end parallel do
  call check(isum == 500000500000_int64, 'parallel do reduction(+) on integer(8)')

  s = 0
  !$omp parallel do reduction(+:s) schedule(dynamic, 1000)
  do i = 1, n
    s = s + 1.0_real64 / (real(i, real64) * real(i, real64))
  end do
  !$omp end parallel do
  call check(abs(s - (atan(1.0_real64) * 4)**2 / 6) < 2e-6_real64, 'sum 1/i**2 = pi**2/6, schedule(dynamic)')

  maxv = -huge(1)
  minv = huge(1)
  !$omp parallel do reduction(max:maxv) reduction(min:minv) schedule(guided)
  do i = 1, n
    maxv = max(maxv, mod(i * 7, 1000003))
    minv = min(minv, mod(i * 7, 1000003) + 5)
  end do
  !$omp end parallel do
  call check(maxv == 1000002 .and. minv == 5 + 1, 'reduction(max) and reduction(min), schedule(guided)')

  allocate (per_thread(0:nthreads - 1))
  per_thread = 0
  hits = 0
  !$omp parallel num_threads(nthreads)
  !$omp do schedule(static, 1)
  do i = 1, 64
    !$omp atomic
    per_thread(omp_get_thread_num()) = per_thread(omp_get_thread_num()) + 1
  end do
  !$omp end do
  !$omp critical (count_hits)
  hits = hits + 1
  !$omp end critical (count_hits)
  !$omp barrier
  !$omp master
  call check(hits == nthreads, 'critical: every thread counted after the barrier')
  !$omp end master
  !$omp end parallel
  call check(sum(per_thread) == 64 .and. all(per_thread >= 64 / nthreads) .and. &
             all(per_thread <= 64 / nthreads + 1), 'schedule(static, 1) spreads 64 iterations evenly')

  section_sum = 0
  !$omp parallel sections reduction(+:section_sum)
  !$omp section
  section_sum = section_sum + 1
  !$omp section
  section_sum = section_sum + 10
  !$omp section
  section_sum = section_sum + 100
  !$omp end parallel sections
  call check(section_sum == 111, 'sections')

  allocate (a(n), b(n), c(n))
  b = 1
  c = 2
  !$omp parallel workshare
  a = b + 2 * c
  !$omp end parallel workshare
  call check(all(a == 5), 'workshare')
  t1 = omp_get_wtime()
  call check(t1 >= t0, 'omp_get_wtime advances')
  call check(omp_get_wtick() > 0, 'omp_get_wtick')

  call check(from_include_file() == nthreads, 'omp_lib.h gives the same thread count')
  call check(nested_levels() == 1, 'omp_get_level in a parallel region')
  call done('fortran_omp')
contains
  integer function nested_levels() result(level)
    level = -1
    !$omp parallel
    !$omp master
    level = omp_get_level()
    !$omp end master
    !$omp end parallel
  end function nested_levels
end program fortran_omp

! An external procedure that takes the OpenMP interface from omp_lib.h instead of the module:
! each thread of a parallel region counts itself under an OpenMP lock.
integer function from_include_file() result(count)
  implicit none
  include 'omp_lib.h'
  integer(omp_lock_kind) :: lock
  call omp_init_lock(lock)
  count = 0
  !$omp parallel shared(count, lock)
  call omp_set_lock(lock)
  count = count + 1
  call omp_unset_lock(lock)
  !$omp end parallel
  call omp_destroy_lock(lock)
end function from_include_file
