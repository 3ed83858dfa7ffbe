! fkernels.f90: Fortran HPC kernels with OpenMP (a Jacobi/Laplace sweep, a dense matrix multiply),
! the same source built with the host's gfortran and with x86_64-hermit-gfortran.
! Prints "RESULT <kernel>_<threads>t <value> <unit>" lines; higher is better. With the argument
! "probe" it only checks that it can run (the runner's test for the host's libgomp).
program fkernels
  use omp_lib
  implicit none
  integer, parameter :: dp = kind(1.0d0)
  integer :: threads
  character(len=32) :: name, arg

  call get_command_argument(1, arg)
  if (arg == 'probe') stop
  threads = omp_get_max_threads()
  write (name, '(a,i0,a)') 'jacobi_', threads, 't'
  call report(name, jacobi(1024, 200), 'Mupdates/s')
  write (name, '(a,i0,a)') 'matmul_', threads, 't'
  call report(name, matmul_rate(1024), 'GFLOP/s')

contains

  subroutine report(label, value, unit)
    character(len=*), intent(in) :: label, unit
    real(dp), intent(in) :: value
    write (*, '(a,1x,a,1x,f0.3,1x,a)') 'RESULT', trim(label), value, unit
  end subroutine report

  ! Million grid-point updates per second of a 5-point Jacobi sweep on an n x n grid.
  function jacobi(n, sweeps) result(rate)
    integer, intent(in) :: n, sweeps
    real(dp) :: rate
    real(dp), allocatable :: u(:, :), v(:, :)
    real(dp) :: t0, t1, residual
    integer :: i, j, k

    allocate (u(0:n + 1, 0:n + 1), v(0:n + 1, 0:n + 1))
    u = 0.0_dp
    u(0, :) = 1.0_dp
    v = u
    t0 = omp_get_wtime()
    do k = 1, sweeps
      !$omp parallel do private(i)
      do j = 1, n
        do i = 1, n
          v(i, j) = 0.25_dp*(u(i - 1, j) + u(i + 1, j) + u(i, j - 1) + u(i, j + 1))
        end do
      end do
      !$omp end parallel do
      call swap(u, v)
    end do
    t1 = omp_get_wtime()
    residual = sum(u(1:n, 1:n))
    if (.not. (residual > 0.0_dp)) stop 'jacobi: no heat spread'
    write (*, '(a,es12.5)') 'jacobi: interior sum ', residual
    rate = real(n, dp)*real(n, dp)*sweeps/(t1 - t0)/1.0e6_dp
  end function jacobi

  subroutine swap(a, b)
    real(dp), allocatable, intent(inout) :: a(:, :), b(:, :)
    real(dp), allocatable :: t(:, :)
    call move_alloc(a, t)
    call move_alloc(b, a)
    call move_alloc(t, b)
  end subroutine swap

  ! GFLOP/s of c = a * b for n x n matrices, loops in column order, columns of c shared out.
  function matmul_rate(n) result(rate)
    integer, intent(in) :: n
    real(dp) :: rate
    real(dp), allocatable :: a(:, :), b(:, :), c(:, :)
    real(dp) :: t0, t1, expected
    integer :: i, j, k

    allocate (a(n, n), b(n, n), c(n, n))
    do j = 1, n
      do i = 1, n
        a(i, j) = real(mod(i + j, 7), dp)
        b(i, j) = real(mod(i*j, 5), dp)
      end do
    end do
    t0 = omp_get_wtime()
    !$omp parallel do private(i, k)
    do j = 1, n
      c(:, j) = 0.0_dp
      do k = 1, n
        do i = 1, n
          c(i, j) = c(i, j) + a(i, k)*b(k, j)
        end do
      end do
    end do
    !$omp end parallel do
    t1 = omp_get_wtime()
    expected = sum(a(3, :)*b(:, 5))
    if (abs(c(3, 5) - expected) > 1.0e-9_dp) stop 'matmul: wrong product'
    rate = 2.0_dp*real(n, dp)**3/(t1 - t0)/1.0e9_dp
  end function matmul_rate

end program fkernels
