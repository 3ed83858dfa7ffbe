! fortran_env: command line, environment, clocks, random numbers and math intrinsics.
!
! Run with the arguments 42 "two words" x=y and FORTRAN_TEST_VALUE="hello hermit".
program fortran_env
  use, intrinsic :: iso_fortran_env, only: int64, real64
  use ftest
  implicit none
  character(len=256) :: arg, cmd, val
  integer :: length, status, i, seed_size
  integer(int64) :: c1, c2, rate, cmax
  real :: t1, t2
  real(real64) :: x(10000), y(5), z(5), acc, pi
  integer :: dt(8)
  character(len=8) :: date
  character(len=10) :: time
  character(len=5) :: zone
  integer, allocatable :: seed(:)

  ! ---- command line ----
  call check(command_argument_count() == 3, 'command_argument_count() == 3')
  call get_command_argument(1, arg, length, status)
  call check(arg == '42' .and. length == 2 .and. status == 0, 'argument 1 is "42"')
  call get_command_argument(2, arg, length, status)
  call check(arg == 'two words' .and. length == 9, 'argument 2 is "two words"')
  call get_command_argument(3, arg)
  call check(arg == 'x=y', 'argument 3 is "x=y"')
  call get_command_argument(0, arg, length)
  call check(index(arg, 'fortran_env') > 0, 'argument 0 names the program')
  call get_command_argument(4, arg, length, status)
  call check(status > 0 .and. length == 0, 'argument 4 does not exist')
  call get_command(cmd, length)
  call check(index(cmd, 'two words x=y') > 0, 'get_command has the arguments')
  call get_command_argument(1, arg)
  read (arg, *) i
  call check(i == 42, 'read(arg, *) gives 42')
  write (*, '("argument 2 = ", a)') 'two words'

  ! ---- environment ----
  call get_environment_variable('FORTRAN_TEST_VALUE', val, length, status)
  call check(status == 0 .and. val == 'hello hermit' .and. length == 12, 'FORTRAN_TEST_VALUE')
  write (*, '("FORTRAN_TEST_VALUE = ", a)') trim(val)
  call get_environment_variable('FORTRAN_TEST_NO_SUCH_VARIABLE', val, length, status)
  call check(status == 1 .and. length == 0, 'a missing variable gives status 1')

  ! ---- clocks ----
  call date_and_time(date, time, zone, dt)
  call check(dt(1) >= 2024 .and. dt(2) >= 1 .and. dt(2) <= 12 .and. dt(3) >= 1 .and. dt(3) <= 31, &
             'date_and_time gives a plausible date')
  call check(dt(5) >= 0 .and. dt(5) < 24 .and. dt(6) >= 0 .and. dt(6) < 60, 'date_and_time gives a time')
  call check(len_trim(date) == 8 .and. time(7:7) == '.', 'date and time strings')
  write (*, '("date_and_time: ", a, " ", a)') date, time
  call system_clock(c1, rate, cmax)
  call cpu_time(t1)
  acc = 0
  do i = 1, 10000000
    acc = acc + sqrt(real(i, real64))
  end do
  call cpu_time(t2)
  call system_clock(c2)
  call check(rate > 0 .and. cmax > 0, 'system_clock has a rate')
  call check(c2 > c1, 'system_clock advances')
  call check(t1 >= 0 .and. t2 > t1, 'cpu_time advances')
  write (*, '("loop: ", es12.5, ", cpu_time ", f0.3, " s, system_clock ", f0.3, " s")') &
    acc, t2 - t1, real(c2 - c1) / real(rate)

  ! ---- random numbers ----
  call random_seed(size=seed_size)
  call check(seed_size > 0, 'random_seed size')
  allocate (seed(seed_size))
  seed = [(1234 + 17 * i, i = 1, seed_size)]
  call random_seed(put=seed)
  call random_number(y)
  call random_seed(put=seed)
  call random_number(z)
  call check(all(y == z), 'random_seed(put=) repeats the sequence')
  call random_seed()
  call random_number(x)
  call check(all(x >= 0 .and. x < 1), 'random_number is in [0, 1)')
  call check(abs(sum(x) / size(x) - 0.5_real64) < 0.02_real64, 'random_number mean is near 0.5')

  ! ---- math intrinsics ----
  pi = 4 * atan(1.0_real64)
  call check(abs(pi - 3.141592653589793_real64) < 1e-15_real64, 'pi')
  call check(abs(sqrt(2.0_real64) - 1.4142135623730951_real64) < 1e-15_real64, 'sqrt')
  call check(abs(exp(1.0_real64) - 2.718281828459045_real64) < 1e-15_real64, 'exp')
  call check(abs(log10(1000.0_real64) - 3) < 1e-15_real64, 'log10')
  call check(abs(sin(pi / 6) - 0.5_real64) < 1e-15_real64, 'sin')
  call check(abs(acos(-1.0_real64) - pi) < 1e-15_real64, 'acos')
  call check(abs(tanh(0.5_real64) - 0.46211715726000974_real64) < 1e-15_real64, 'tanh')
  call check(abs(bessel_j0(1.0_real64) - 0.7651976865579666_real64) < 1e-14_real64, 'bessel_j0')
  call check(abs(erf(0.5_real64) - 0.5204998778130465_real64) < 1e-15_real64, 'erf')
  call check(abs(gamma(5.0_real64) - 24) < 1e-12_real64, 'gamma')
  call check(abs(hypot(3.0_real64, 4.0_real64) - 5) < 1e-15_real64, 'hypot')
  call check(abs(norm2([3.0_real64, 4.0_real64, 12.0_real64]) - 13) < 1e-14_real64, 'norm2')
  call check(abs(sqrt((-4.0_real64, 0.0_real64)) - (0.0_real64, 2.0_real64)) < 1e-15_real64, 'complex sqrt')
  call check(abs(exp((0.0_real64, 1.0_real64) * pi) + 1) < 1e-15_real64, 'exp(i pi) = -1')
  call check(mod(-7, 3) == -1 .and. modulo(-7, 3) == 2, 'mod and modulo')
  call check(ishft(1, 10) == 1024 .and. popcnt(255) == 8 .and. leadz(1) == 31, 'bit intrinsics')
  call check(nint(2.5) == 3 .and. floor(-1.5) == -2 .and. ceiling(1.2) == 2, 'rounding')
  write (*, '("sqrt(2) = ", f0.15)') sqrt(2.0_real64)

  call done('fortran_env')
end program fortran_env
