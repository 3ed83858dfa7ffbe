/* lua_main: runs a Lua script with the unchanged Lua 5.4 library: lua_main <script> [args...]. */
/* The script gets its arguments in the global table `arg` (arg[0] = script), as with lua.c. */
#include <stdio.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static int traceback(lua_State *L)
{
	luaL_traceback(L, L, lua_tostring(L, 1), 1);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: lua_main <script> [args...]\n");
		return 2;
	}
	lua_State *L = luaL_newstate();
	if (!L)
		return 3;
	luaL_openlibs(L);
	lua_createtable(L, argc, 0);
	for (int i = 1; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - 1);
	}
	lua_setglobal(L, "arg");
	lua_pushcfunction(L, traceback);
	int status = luaL_loadfile(L, argv[1]);
	if (status == LUA_OK)
		status = lua_pcall(L, 0, 0, 1);
	if (status != LUA_OK) {
		fprintf(stderr, "lua_main: %s\n", lua_tostring(L, -1));
		lua_close(L);
		return 1;
	}
	lua_close(L);
	return 0;
}
