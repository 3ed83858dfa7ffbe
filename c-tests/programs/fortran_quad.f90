! fortran_quad: real(16) (IEEE binary128 via libquadmath) and real(10) arithmetic and I/O.
program fortran_quad
  use, intrinsic :: iso_fortran_env, only: real128
  use ftest
  implicit none
  integer, parameter :: qp = real128, ep = selected_real_kind(18)
  real(qp), parameter :: pi_q = 3.14159265358979323846264338327950288_qp
  real(qp) :: x, y, third, s
  real(ep) :: e
  character(len=64) :: str
  integer :: i

  call check(qp == 16 .and. ep == 10, 'kinds 16 and 10')
  call check(precision(x) == 33 .and. digits(x) == 113, 'precision 33, 113 digits')
  call check(epsilon(x) < 2e-34_qp .and. epsilon(x) > 1.9e-34_qp, 'epsilon')

  x = sqrt(2.0_qp)
  call check(abs(x * x - 2) < 1e-32_qp, 'sqrt(2)**2 = 2 to 32 digits')
  write (str, '(f0.30)') x
  call check(str == '1.414213562373095048801688724210', 'sqrt(2) printed: ' // trim(str))
  write (*, '("sqrt(2) = ", f0.33)') x

  y = 4 * atan(1.0_qp)
  call check(abs(y - pi_q) < 1e-33_qp, 'atan gives pi to 33 digits')
  call check(abs(sin(pi_q / 6) - 0.5_qp) < 1e-33_qp, 'sin(pi/6)')
  call check(abs(exp(log(10.0_qp)) - 10) < 1e-32_qp, 'exp(log(10))')
  write (str, '(f0.32)') exp(1.0_qp)
  call check(str == '2.71828182845904523536028747135266', 'exp(1) printed: ' // trim(str))
  call check(abs(gamma(0.5_qp)**2 - pi_q) < 1e-32_qp, 'gamma(1/2)**2 = pi')

  third = 1.0_qp / 3
  s = 0
  do i = 1, 3
    s = s + third
  end do
  call check(abs(s - 1) <= epsilon(s), '1/3 + 1/3 + 1/3')
  call check(real(third, 8) == 1.0d0 / 3, 'conversion to real(8)')

  str = '1.000000000000000000000000000000001'
  read (str, *) y
  call check(y > 1 .and. y - 1 < 1e-32_qp, 'reading a 34-digit number')
  str = '-2.5q3'
  read (str, *) y
  call check(y == -2500, 'reading -2.5q3')
  write (str, '(es45.34e4)') huge(x)
  call check(index(str, 'E+4932') > 0, 'huge(real(16)): ' // trim(str))

  e = sqrt(2.0_ep)
  call check(abs(e * e - 2) < 1e-18_ep, 'real(10) sqrt')
  write (str, '(f0.18)') e
  call check(str == '1.414213562373095049', 'real(10) printed: ' // trim(str))

  call done('fortran_quad')
end program fortran_quad
