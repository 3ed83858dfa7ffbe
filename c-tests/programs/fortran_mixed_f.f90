! fortran_mixed_f: the Fortran half of fortran_mixed (bind(c) procedures, a bind(c) type,
! C strings and a C callback), called from the C main in fortran_mixed.c.
module mixed
  use, intrinsic :: iso_c_binding
  implicit none
  private
  public :: point

  type, bind(c) :: point
    real(c_double) :: x, y
    integer(c_int) :: id
  end type point

  interface
    function c_square(v) bind(c, name='c_square') result(r)
      import :: c_int
      integer(c_int), value :: v
      integer(c_int) :: r
    end function c_square
  end interface
contains
  function f_dot(n, x, y) bind(c, name='f_dot') result(d)
    integer(c_int), value :: n
    real(c_double), intent(in) :: x(n), y(n)
    real(c_double) :: d
    d = dot_product(x, y)
  end function f_dot

  ! Scales a C array in place and returns the sum of the squares of 1..n computed by C.
  function f_scale_and_call_back(n, x, factor) bind(c, name='f_scale_and_call_back') result(total)
    integer(c_int), value :: n
    real(c_double), intent(inout) :: x(n)
    real(c_double), value :: factor
    integer(c_int) :: total, i
    x = x * factor
    total = 0
    do i = 1, n
      total = total + c_square(i)
    end do
  end function f_scale_and_call_back

  ! Moves a C struct and reports it with Fortran I/O on the terminal.
  subroutine f_move_point(p, dx, dy) bind(c, name='f_move_point')
    type(point), intent(inout) :: p
    real(c_double), value :: dx, dy
    p%x = p%x + dx
    p%y = p%y + dy
    p%id = -p%id
    write (*, '("Fortran moved point ", i0, " to (", f0.2, ", ", f0.2, ")")') p%id, p%x, p%y
  end subroutine f_move_point

  ! Writes "Hello, <name>, from Fortran" into buf (NUL-terminated, at most size bytes).
  subroutine f_greet(name, buf, size) bind(c, name='f_greet')
    character(kind=c_char), intent(in) :: name(*)
    character(kind=c_char), intent(out) :: buf(*)
    integer(c_size_t), value :: size
    character(len=:), allocatable :: text
    integer :: i, n
    n = 0
    do while (name(n + 1) /= c_null_char)
      n = n + 1
    end do
    allocate (character(len=n) :: text)
    do i = 1, n
      text(i:i) = name(i)
    end do
    text = 'Hello, ' // text // ', from Fortran'
    n = min(len(text), int(size) - 1)
    do i = 1, n
      buf(i) = text(i:i)
    end do
    buf(n + 1) = c_null_char
  end subroutine f_greet

  ! Allocates an array in Fortran and hands it to C as a pointer (kept alive in the module).
  function f_make_table(n) bind(c, name='f_make_table') result(ptr)
    integer(c_int), value :: n
    type(c_ptr) :: ptr
    real(c_double), allocatable, target, save :: table(:)
    integer :: i
    if (allocated(table)) deallocate (table)
    allocate (table(n))
    table = [(real(i, c_double) / 2, i = 1, n)]
    ptr = c_loc(table)
  end function f_make_table
end module mixed
