!> ftest: self-checking helpers for the Fortran test programs (the Fortran side of test.h).
!>
!> check() counts a check and reports a failed one on the terminal; done() prints
!> "all N checks passed", or the number of failures and then ends with error stop 1.
module ftest
  implicit none
  private
  public :: check, done
  integer, save :: checks = 0, failures = 0
contains
  subroutine check(ok, what)
    logical, intent(in) :: ok
    character(*), intent(in) :: what
    !$omp atomic
    checks = checks + 1
    if (.not. ok) then
      !$omp atomic
      failures = failures + 1
      write (*, '("CHECK failed: ", a)') what
    end if
  end subroutine check

  subroutine done(name)
    character(*), intent(in) :: name
    if (failures > 0) then
      write (*, '(a, ": ", i0, " of ", i0, " checks failed")') name, failures, checks
      error stop 1
    end if
    write (*, '(a, ": all ", i0, " checks passed")') name, checks
  end subroutine done
end module ftest
