! fortran_types: modules, derived types (extension, type-bound and generic procedures,
! allocatable components), allocatable arrays and array intrinsics.
module vectors
  implicit none
  private
  public :: vec3, operator(+), operator(.dot.), norm

  type :: vec3
    real(8) :: x = 0, y = 0, z = 0
  end type vec3

  interface operator(+)
    module procedure add
  end interface
  interface operator(.dot.)
    module procedure dot
  end interface
contains
  elemental function add(a, b) result(c)
    type(vec3), intent(in) :: a, b
    type(vec3) :: c
    c = vec3(a%x + b%x, a%y + b%y, a%z + b%z)
  end function add

  pure function dot(a, b) result(d)
    type(vec3), intent(in) :: a, b
    real(8) :: d
    d = a%x * b%x + a%y * b%y + a%z * b%z
  end function dot

  pure function norm(a) result(n)
    type(vec3), intent(in) :: a
    real(8) :: n
    n = sqrt(a .dot. a)
  end function norm
end module vectors

module shapes
  implicit none
  private
  public :: shape, circle, rect, shape_box, total_area

  type, abstract :: shape
    character(len=:), allocatable :: name
  contains
    procedure(area_if), deferred :: area
    procedure :: describe
  end type shape

  abstract interface
    pure function area_if(self) result(a)
      import :: shape
      class(shape), intent(in) :: self
      real(8) :: a
    end function area_if
  end interface

  type, extends(shape) :: circle
    real(8) :: r = 1
  contains
    procedure :: area => circle_area
  end type circle

  type, extends(shape) :: rect
    real(8) :: w = 1, h = 1
  contains
    procedure :: area => rect_area
  end type rect

  type :: shape_box
    class(shape), allocatable :: s
  end type shape_box
contains
  pure function circle_area(self) result(a)
    class(circle), intent(in) :: self
    real(8) :: a
    a = 4 * atan(1.0d0) * self%r**2
  end function circle_area

  pure function rect_area(self) result(a)
    class(rect), intent(in) :: self
    real(8) :: a
    a = self%w * self%h
  end function rect_area

  function describe(self) result(text)
    class(shape), intent(in) :: self
    character(len=:), allocatable :: text
    character(len=32) :: buf
    write (buf, '(f0.2)') self%area()
    text = self%name // ' ' // trim(buf)
  end function describe

  function total_area(boxes) result(a)
    type(shape_box), intent(in) :: boxes(:)
    real(8) :: a
    integer :: i
    a = 0
    do i = 1, size(boxes)
      a = a + boxes(i)%s%area()
    end do
  end function total_area
end module shapes

module counters
  implicit none
  integer, save :: calls = 0
  type :: stack
    integer, allocatable :: items(:)
  contains
    procedure :: push
    procedure :: pop
  end type stack
contains
  subroutine push(self, v)
    class(stack), intent(inout) :: self
    integer, intent(in) :: v
    calls = calls + 1
    if (.not. allocated(self%items)) allocate (self%items(0))
    self%items = [self%items, v]
  end subroutine push

  integer function pop(self)
    class(stack), intent(inout) :: self
    calls = calls + 1
    pop = self%items(size(self%items))
    self%items = self%items(:size(self%items) - 1)
  end function pop

  recursive integer function fact(n) result(f)
    integer, intent(in) :: n
    if (n <= 1) then
      f = 1
    else
      f = n * fact(n - 1)
    end if
  end function fact
end module counters

program fortran_types
  use ftest
  use vectors
  use shapes
  use counters
  implicit none
  type(vec3) :: a, b, vs(3)
  type(shape_box), allocatable :: boxes(:)
  type(stack) :: st
  real(8), allocatable :: m(:, :), p(:, :), v(:), w(:)
  integer, allocatable :: iv(:), moved(:)
  character(len=:), allocatable :: s
  integer :: i, n

  ! ---- derived types and operators ----
  a = vec3(1, 2, 3)
  b = vec3(x=4, z=6)
  call check((a .dot. b) == 22, 'user-defined operator .dot.')
  vs = [a, b, vec3()] + vec3(1, 1, 1)
  call check(vs(3)%x == 1 .and. vs(2)%y == 1 .and. vs(1)%z == 4, 'elemental operator(+) on an array')
  call check(abs(norm(vec3(3, 4, 12)) - 13) < 1d-12, 'norm')

  ! ---- polymorphism ----
  allocate (boxes(3))
  allocate (boxes(1)%s, source=circle(name='circle', r=2))
  allocate (boxes(2)%s, source=rect(name='rect', w=3, h=4))
  allocate (rect :: boxes(3)%s)
  select type (sq => boxes(3)%s)
  type is (rect)
    sq%name = 'square'
    sq%w = 2
    sq%h = 2
  end select
  call check(abs(total_area(boxes) - (16 * atan(1.0d0) + 16)) < 1d-12, 'type-bound area() via class(shape)')
  call check(boxes(2)%s%describe() == 'rect 12.00', 'describe: ' // boxes(2)%s%describe())
  n = 0
  do i = 1, size(boxes)
    select type (sh => boxes(i)%s)
    type is (circle)
      n = n + 100
    class is (rect)
      n = n + 1
    end select
  end do
  call check(n == 102, 'select type')
  call check(same_type_as(boxes(2)%s, boxes(3)%s) .and. .not. same_type_as(boxes(1)%s, boxes(2)%s), &
             'same_type_as')
  deallocate (boxes)

  ! ---- allocatable components and arrays ----
  do i = 1, 5
    call st%push(i * 10)
  end do
  i = st%pop()
  n = st%pop()
  call check(i == 50 .and. n == 40, 'stack pop')
  call check(size(st%items) == 3 .and. calls == 7, 'stack size and module variable')
  iv = [(i, i = 1, 10)]
  call check(size(iv) == 10 .and. sum(iv) == 55, 'allocation on assignment')
  iv = [iv, 11]
  call check(size(iv) == 11 .and. iv(11) == 11, 'reallocation on assignment')
  call move_alloc(iv, moved)
  call check(.not. allocated(iv) .and. size(moved) == 11, 'move_alloc')
  iv = pack(moved, mod(moved, 2) == 0)
  call check(all(iv == [2, 4, 6, 8, 10]), 'pack')
  call check(maxloc(moved, 1) == 11 .and. count(moved > 5) == 6, 'maxloc and count')
  s = 'abc'
  s = s // repeat('d', 3)
  call check(s == 'abcddd' .and. len(s) == 6, 'deferred-length character')

  n = 200
  allocate (m(n, n), v(n))
  m = reshape([(real(mod(i, 7), 8), i = 1, n * n)], [n, n])
  v = 1
  w = matmul(m, v)
  call check(abs(sum(w) - sum(m)) < 1d-9, 'matmul with a vector')
  p = matmul(transpose(m), m)
  call check(abs(p(3, 5) - dot_product(m(:, 3), m(:, 5))) < 1d-9, 'matmul and transpose')
  where (m > 3)
    m = -1
  elsewhere
    m = 1
  end where
  call check(count(m < 0) == count([(mod(i, 7) > 3, i = 1, n * n)]), 'where/elsewhere')
  do concurrent (i = 1:n)
    v(i) = i
  end do
  call check(sum(v) == n * (n + 1) / 2, 'do concurrent')
  associate (diag => [(m(i, i), i = 1, n)])
    call check(size(diag) == n, 'associate')
  end associate
  deallocate (m, v)
  call check(.not. allocated(m), 'deallocate')
  call check(fact(10) == 3628800, 'recursive function')

  print '("fortran_types: area ", f0.4, ", 10! = ", i0)', 16 * atan(1.0d0) + 16, fact(10)
  call done('fortran_types')
end program fortran_types
