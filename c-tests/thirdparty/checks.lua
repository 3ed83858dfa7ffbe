-- checks.lua: what a Lua program uses, checked under the unchanged Lua 5.4 library.
-- lua_main checks.lua <scratch dir>
local dir = assert(arg[1], "usage: checks.lua <scratch dir>")
local checks = 0
local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
  checks = checks + 1
end

-- numbers: integers, floats, conversions, math
check(math.type(1) == "integer" and math.type(1.0) == "float", "number subtypes")
check(7 // 2 == 3 and 7 % 3 == 1 and -7 // 2 == -4 and 2^10 == 1024.0, "integer arithmetic")
check(math.maxinteger + 1 == math.mininteger, "integer wrap-around")
check(math.abs(math.sin(math.pi / 6) - 0.5) < 1e-12 and math.sqrt(2) * math.sqrt(2) - 2 < 1e-15, "math library")
check(tonumber("0x1p4") == 16.0 and tonumber("  42  ") == 42 and tonumber("z", 36) == 35, "tonumber")
check(3 | 5 == 7 and 6 & 3 == 2 and 1 << 62 == 4611686018427387904 and ~0 == -1, "bitwise operators")
check(string.format("%.3f|%5d|%-5s|%x|%g|%q", 3.14159, 42, "ab", 255, 1e20, "a\nb")
  == '3.142|   42|ab   |ff|1e+20|"a\\\nb"', "string.format")
check(string.format("%10.4f", -1/3) == "   -0.3333" and tostring(1e15) == "1e+15" and tostring(2^53) == "9.007199254741e+15", "float printing")

-- strings and patterns
local s = "The quick brown fox jumps over the lazy dog"
check(#s == 43 and s:upper():sub(5, 9) == "QUICK" and s:rep(2, "|"):len() == 87, "string basics")
local words = {}
for w in s:gmatch("%a+") do words[#words + 1] = w end
check(#words == 9 and words[9] == "dog", "gmatch")
check(s:gsub("o", "0") == "The quick br0wn f0x jumps 0ver the lazy d0g", "gsub")
check(select(2, s:gsub("%s", "")) == 8 and s:find("fox", 1, true) == 17 and s:match("(%a+) dog") == "lazy", "find/match")
check(("%d items"):format(3) == "3 items" and string.byte("A") == 65 and string.char(72, 105) == "Hi", "byte/char")
check(utf8.len("häßlich") == 7 and utf8.char(0x20AC) == "\u{20AC}", "utf8")
local packed = string.pack("<i4 d s2", -5, 0.5, "hermit")
local a, b, c = string.unpack("<i4 d s2", packed)
check(a == -5 and b == 0.5 and c == "hermit", "string.pack")

-- tables: arrays, hashes, sort, concat, metatables
local t = {}
for i = 1, 10000 do t[i] = (i * 7919) % 10007 end
table.sort(t)
local sorted = true
for i = 2, #t do if t[i - 1] > t[i] then sorted = false end end
check(sorted and #t == 10000, "table.sort")
local h = {}
for i = 1, 5000 do h["k" .. i] = i end
local sum = 0
for _, v in pairs(h) do sum = sum + v end
check(sum == 5000 * 5001 // 2, "hash table")
check(table.concat({1, 2, 3}, ",") == "1,2,3" and select("#", table.unpack({1, nil, 3}, 1, 3)) == 3, "concat/unpack")
local V = {}
V.__index = V
V.__add = function(x, y) return setmetatable({x = x.x + y.x}, V) end
V.__tostring = function(v) return "V(" .. v.x .. ")" end
check(tostring(setmetatable({x = 1}, V) + setmetatable({x = 2}, V)) == "V(3)", "metatables")
local weak = setmetatable({}, {__mode = "k"})
weak[{}] = true
collectgarbage()
check(next(weak) == nil, "weak table collected")

-- closures and varargs
local function counter()
  local n = 0
  return function() n = n + 1; return n end
end
local c1, c2 = counter(), counter()
c1(); c1()
check(c1() == 3 and c2() == 1, "closures keep their upvalues")
local function va(...) return select("#", ...), ... end
check(va(1, nil, nil) == 3, "varargs")

-- coroutines
local gen = coroutine.wrap(function(n)
  for i = 1, n do coroutine.yield(i * i) end
  return "done"
end)
check(gen(4) == 1 and gen() == 4 and gen() == 9 and gen() == 16 and gen() == "done", "coroutine.wrap")
local co = coroutine.create(function(x) local y = coroutine.yield(x + 1); error("inside " .. y) end)
local ok1, v1 = coroutine.resume(co, 1)
local ok2, v2 = coroutine.resume(co, "co")
check(ok1 and v1 == 2 and not ok2 and v2:find("inside co") and coroutine.status(co) == "dead", "coroutine errors")

-- errors: pcall, error objects, xpcall with a traceback, runtime errors
local ok, err = pcall(error, {code = 42})
check(not ok and err.code == 42, "error with a table")
ok, err = pcall(function() local x = nil; return x.field end)
check(not ok and err:find("attempt to index"), "runtime error message")
ok, err = xpcall(function() error("deep") end, debug.traceback)
check(not ok and err:find("deep") and err:find("stack traceback"), "xpcall traceback")
check(select(2, pcall(string.rep)) :find("bad argument #1"), "argument errors")

-- io on host files, os.rename, os.remove
local path = dir .. "/lua-io.txt"
local renamed = dir .. "/lua-io-renamed.txt"
os.remove(path)
os.remove(renamed)
local f = assert(io.open(path, "w"))
for i = 1, 20000 do f:write(string.format("line %d %s\n", i, ("x"):rep(i % 50))) end
check(f:seek("cur") > 0, "file:seek on a host file")
f:close()
check(os.rename(path, renamed), "os.rename")
check(io.open(path, "r") == nil, "the old name is gone")
f = assert(io.open(renamed, "r"))
local n, last = 0, nil
for line in f:lines() do n = n + 1; last = line end
check(n == 20000 and last == "line 20000 " .. ("x"):rep(0), "read back by lines")
f:seek("set", 0)
check(f:read("l") == "line 1 x" and f:read("n") == nil, "file:read formats")
f:seek("set", 5)
check(f:read(1) == "1", "file:seek")
check(f:seek("end") == f:seek("cur") and f:read("a") == "", "seek to the end")
f:close()
local nofile, msg = io.open(dir .. "/no/such/file", "r")
check(nofile == nil and msg:find("No such file"), "io.open error message")
check(os.remove(renamed), "os.remove")
check(select(2, os.remove(renamed)):find("No such file"), "os.remove error")

-- os and misc
check(type(os.time()) == "number" and os.time() > 1.6e9, "os.time")
check(os.date("!%Y-%m-%d", 0) == "1970-01-01", "os.date")
check(type(os.clock()) == "number" and os.getenv("HERMIT_NO_SUCH_VARIABLE") == nil, "os.clock/getenv")
check(load("return 1 + ...")(41) == 42, "load")

print(string.format("lua: all %d checks passed (%s)", checks, _VERSION))
