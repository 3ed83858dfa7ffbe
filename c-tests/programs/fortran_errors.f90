! fortran_errors: how a Fortran program ends. Built with -fcheck=all.
!
! Argument 1 selects the ending: stop3 (stop 3: status 3), stopmsg (stop with a message:
! status 0), errorstop (error stop 5: status 5), errorstopmsg (error stop with a message:
! status 1), bounds (an index above the upper bound: runtime error, status 2), alloc
! (allocating an allocated array: status 2), open (opening a missing file without iostat=:
! status 2), end (the end of the program: status 0).
program fortran_errors
  implicit none
  character(len=32) :: mode, arg
  integer :: a(10), i
  integer, allocatable :: b(:)

  call get_command_argument(1, mode)
  call get_command_argument(2, arg)
  a = [(i, i = 1, 10)]
  write (*, '("mode ", a)') trim(mode)
  select case (mode)
  case ('stop3')
    stop 3
  case ('stopmsg')
    stop 'finished early'
  case ('errorstop')
    error stop 5
  case ('errorstopmsg')
    error stop 'fatal: bad input'
  case ('bounds')
    read (arg, *) i
    a(i) = 0
    write (*, '("not reached: a(", i0, ") = 0")') i
  case ('alloc')
    allocate (b(3))
    allocate (b(4))
    write (*, '("not reached: ", i0)') size(b)
  case ('open')
    open (unit=10, file='/no-such-directory/input.dat', status='old')
    write (*, '("not reached: opened")')
  case ('end')
    write (*, '("sum ", i0)') sum(a)
  case default
    error stop 'unknown mode'
  end select
end program fortran_errors
