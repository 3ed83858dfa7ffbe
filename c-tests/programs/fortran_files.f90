! fortran_files: Fortran I/O on host files, the terminal and internal files.
!
! Argument 1: a host directory to work in. Argument 2 (optional): a file the host wrote,
! holding a count and that many numbers; their sum is printed (check-fortran-files.cmake).
! Leaves <dir>/fortran_table.txt, <dir>/fortran_stream.bin and <dir>/fortran_records.bin,
! whose exact bytes check-fortran-files.cmake checks on the host.
program fortran_files
  use, intrinsic :: iso_fortran_env, only: iostat_end, int32, real64
  use ftest
  implicit none
  character(len=512) :: dir, path, input
  character(len=200) :: line, msg
  integer :: u, v, ios, i, n, k, sz
  real(real64) :: x, total
  real(real64), allocatable :: values(:)
  integer(int32) :: ia(10), ib(10)
  logical :: exists, opened
  character(len=40) :: str
  character(len=10) :: cells(3)
  integer :: nl_a
  real(real64) :: nl_b
  namelist /settings/ nl_a, nl_b

  call get_command_argument(1, dir)
  call check(len_trim(dir) > 0, 'a directory argument')

  ! ---- formatted sequential: write a table, read it back ----
  path = trim(dir) // '/fortran_table.txt'
  open (newunit=u, file=path, status='replace', action='write', form='formatted', iostat=ios, iomsg=msg)
  call check(ios == 0, 'open for writing: ' // trim(msg))
  call check(u < 0, 'newunit gives a negative unit')
  do i = 1, 5
    write (u, '(i3, f8.3, 1x, a)') i, i * 1.25_real64, repeat('*', i)
  end do
  close (u)

  inquire (file=path, exist=exists, size=sz)
  call check(exists, 'inquire(exist=) finds the table')
  call check(sz == 80, 'inquire(size=) of the table (80 bytes)')

  open (newunit=u, file=path, status='old', action='read', iostat=ios)
  call check(ios == 0, 'open for reading')
  inquire (unit=u, opened=opened, name=line)
  call check(opened .and. index(line, 'fortran_table.txt') > 0, 'inquire(unit=) names the file')
  total = 0
  n = 0
  do
    read (u, '(i3, f8.3, 1x, a)', iostat=ios) k, x, line
    if (ios == iostat_end) exit
    call check(ios == 0, 'read a row')
    n = n + 1
    total = total + x
    call check(k == n .and. trim(line) == repeat('*', n), 'row contents')
  end do
  call check(n == 5 .and. abs(total - 18.75_real64) < 1e-12_real64, 'five rows, sum 18.75')
  call check(is_iostat_end(ios), 'is_iostat_end')
  rewind (u)
  read (u, *) k, x
  call check(k == 1 .and. x == 1.25_real64, 'rewind, then list-directed read of row 1')
  read (u, *) k
  backspace (u)
  read (u, '(i3, f8.3)') k, x
  call check(k == 2 .and. x == 2.5_real64, 'backspace re-reads row 2')
  close (u)

  ! ---- append, and a missing file ----
  open (newunit=u, file=path, position='append', action='write')
  write (u, '(a)') 'appended'
  close (u)
  open (newunit=u, file=path, status='old', action='read')
  do i = 1, 6
    read (u, '(a)') line
  end do
  call check(trim(line) == 'appended', 'position=append')
  close (u)
  open (newunit=u, file=trim(dir) // '/no-such-dir/file', status='old', iostat=ios, iomsg=msg)
  call check(ios /= 0, 'opening a missing file fails')
  call check(index(msg, 'No such file') > 0, 'iomsg: ' // trim(msg))
  write (*, '("missing file: ", a)') trim(msg)

  ! ---- unformatted stream and sequential, direct access ----
  ia = [(i * i, i = 1, 10)]
  open (newunit=u, file=trim(dir) // '/fortran_stream.bin', access='stream', form='unformatted', &
        status='replace')
  write (u) ia, 0.5_real64
  close (u)
  inquire (file=trim(dir) // '/fortran_stream.bin', size=sz)
  call check(sz == 48, 'stream file has 48 bytes')
  open (newunit=u, file=trim(dir) // '/fortran_stream.bin', access='stream', form='unformatted', &
        status='old')
  read (u, pos=41) x
  read (u, pos=1) ib
  call check(all(ib == ia) .and. x == 0.5_real64, 'stream read with pos=')
  close (u)

  open (newunit=u, file=trim(dir) // '/fortran_records.bin', form='unformatted', status='replace')
  write (u) 7_int32, 3.0_real64
  write (u) ia(1:3)
  close (u)
  open (newunit=u, file=trim(dir) // '/fortran_records.bin', form='unformatted', status='old')
  read (u) k, x
  read (u) ib(1:3)
  call check(k == 7 .and. x == 3 .and. all(ib(1:3) == [1, 4, 9]), 'sequential records')
  read (u, iostat=ios) k
  call check(ios == iostat_end, 'end of the record file')
  close (u)

  open (newunit=u, file=trim(dir) // '/fortran_direct.bin', access='direct', recl=8, &
        form='unformatted', status='replace')
  write (u, rec=3) 3.5_real64
  write (u, rec=1) 1.5_real64
  read (u, rec=3) x
  call check(x == 3.5_real64, 'direct access record 3')
  close (u, status='delete')
  inquire (file=trim(dir) // '/fortran_direct.bin', exist=exists)
  call check(.not. exists, 'close(status=delete) removes the file')

  ! ---- scratch file, two units at once ----
  open (newunit=u, status='scratch', form='formatted')
  open (newunit=v, status='scratch', form='formatted')
  call check(u /= v, 'two newunits differ')
  write (u, *) 'scratch', 42
  write (v, *) 'other', 43
  rewind (u)
  rewind (v)
  read (u, *) str, k
  call check(trim(str) == 'scratch' .and. k == 42, 'scratch file')
  read (v, *) str, k
  call check(trim(str) == 'other' .and. k == 43, 'second scratch file')
  close (u)
  close (v)

  ! ---- internal files ----
  write (str, '(i0, "-", f0.2, "-", a)') 7, 3.14159_real64, 'x'
  call check(str == '7-3.14-x', 'internal write: ' // trim(str))
  str = '10 20 30'
  read (str, *) ia(1:3)
  call check(all(ia(1:3) == [10, 20, 30]), 'internal list-directed read')
  write (cells, '(i5)') 1, 22, 333
  call check(cells(3) == '  333', 'internal write to an array of records')
  write (str, '(es12.4)') 12345.678_real64
  call check(adjustl(str) == '1.2346E+04', 'es format: ' // trim(str))
  write (str, '(g0)') .true.
  call check(str == 'T', 'g0 of a logical')
  str = '  3.5e2'
  read (str, *) x
  call check(x == 350, 'read of 3.5e2')
  str = 'abc'
  read (str, *, iostat=ios) k
  call check(ios > 0, 'reading "abc" as an integer fails with iostat > 0')

  ! ---- the terminal: list-directed, formatted, namelist ----
  write (*, *) 'list-directed:', 1, 2.5_real64, .true.
  write (*, '(a, 3(1x, i0))') 'formatted:', 1, 2, 3
  nl_a = 5
  nl_b = 1.5_real64
  write (*, nml=settings)
  str = '&settings nl_a=9 /'
  read (str, nml=settings)
  call check(nl_a == 9 .and. nl_b == 1.5_real64, 'namelist read')
  flush (6)

  ! ---- a file the host wrote ----
  call get_command_argument(2, input, status=ios)
  if (ios == 0) then
    open (newunit=u, file=input, status='old', action='read', iostat=ios, iomsg=msg)
    call check(ios == 0, 'open the host file: ' // trim(msg))
    read (u, *) n
    allocate (values(n))
    read (u, *) values
    close (u)
    write (*, '("host input: ", i0, " numbers, sum=", f0.3)') n, sum(values)
  end if

  call done('fortran_files')
end program fortran_files
