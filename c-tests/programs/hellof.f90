! hellof: the original HermitCore's Fortran hello (usr/tests/hellof.f90).
program hello
  print *, "Hello World!!!"
end program hello
