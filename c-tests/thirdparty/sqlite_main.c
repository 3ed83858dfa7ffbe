/* sqlite_main: the unchanged SQLite amalgamation with its default unix VFS on a host database. */
/*
 * sqlite_main build <db> <queries.sql> <out>: creates <db> afresh (100k rows in transactions,
 *   indexes), then runs each line of <queries.sql> and writes the rows to <out> as the sqlite3
 *   shell prints them in its default list mode ('|' between columns, NULL empty), so that the
 *   host's `sqlite3 <db> < <queries.sql>` must print the same.
 * sqlite_main build-wal <db> <queries.sql> <out>: the same in write-ahead-log mode with memory-mapped
 *   I/O (PRAGMA journal_mode=WAL, mmap_size=256 MiB): SQLite then maps the -shm index and the
 *   database with MAP_SHARED (before shared mappings existed, WAL mode failed with
 *   SQLITE_IOERR_SHMMAP).
 * sqlite_main bench <db>: 100k inserts in one transaction and 20k point lookups; rows/s. Then
 *   the lookups again with PRAGMA mmap_size (pages read through a MAP_SHARED mapping), and
 *   the same lookups on the same rows in an in-memory database (no host calls): the guest's
 *   compute alone, to compare with native beside the lookups on the host file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlite3.h"

enum { ROWS = 100000, BATCH = 10000, LOOKUPS = 20000, MEM_LOOKUPS = 200000 };

static sqlite3 *db;

static void die(const char *what)
{
	fprintf(stderr, "sqlite_main: %s: %s (%d)\n", what, sqlite3_errmsg(db), sqlite3_extended_errcode(db));
	exit(1);
}

static void exec(const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite_main: %s: %s\n", sql, err);
		exit(1);
	}
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Row i of table t: a key that repeats, and a name. */
static void insert_rows(sqlite3_stmt *st, int from, int to)
{
	char name[32];
	for (int i = from; i < to; i++) {
		snprintf(name, sizeof(name), "name-%07d", (i * 7919) % ROWS);
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_int(st, 2, (i * 31) % 1000);
		sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_double(st, 4, i * 0.25);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("insert");
		sqlite3_reset(st);
	}
}

/* A single-row, single-column query's text (copied into buf). */
static const char *one_value(const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
		die(sql);
	const unsigned char *text = sqlite3_column_text(st, 0);
	snprintf(buf, len, "%s", text ? (const char *)text : "");
	sqlite3_finalize(st);
	return buf;
}

static void create(const char *path, int wal)
{
	remove(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("open");
	if (wal) {
		char mode[16], size[32];
		if (strcmp(one_value("PRAGMA journal_mode=WAL", mode, sizeof(mode)), "wal") != 0) {
			fprintf(stderr, "sqlite_main: journal_mode is %s, not wal\n", mode);
			exit(1);
		}
		printf("sqlite_main: journal_mode %s, mmap_size %s\n", mode,
		       one_value("PRAGMA mmap_size=268435456", size, sizeof(size)));
	}
	exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, name TEXT, v REAL)");
	exec("CREATE TABLE groups(k INTEGER PRIMARY KEY, label TEXT)");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK)
		die("prepare");
	for (int from = 0; from < ROWS; from += BATCH) {
		exec("BEGIN");
		insert_rows(st, from, from + BATCH);
		exec("COMMIT");
	}
	sqlite3_finalize(st);
	exec("BEGIN");
	for (int k = 0; k < 1000; k += 3) {
		char sql[96];
		snprintf(sql, sizeof(sql), "INSERT INTO groups VALUES(%d, 'group-%d')", k, k % 7);
		exec(sql);
	}
	exec("COMMIT");
	exec("CREATE INDEX t_k ON t(k)");
	exec("CREATE UNIQUE INDEX t_name ON t(name)");
	/* A rolled-back transaction leaves no trace. */
	exec("BEGIN; DELETE FROM t WHERE id < 50000; ROLLBACK");
	exec("UPDATE t SET v = -v WHERE k = 999");
	exec("DELETE FROM t WHERE id % 1000 = 7");
}

static void run_queries(const char *queries, const char *out_path)
{
	FILE *in = fopen(queries, "r");
	FILE *out = fopen(out_path, "w");
	if (!in || !out) {
		perror("sqlite_main: queries or output");
		exit(1);
	}
	char line[1024];
	while (fgets(line, sizeof(line), in)) {
		if (line[0] == '\n' || line[0] == '-')
			continue;
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, line, -1, &st, NULL) != SQLITE_OK)
			die(line);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const unsigned char *text = sqlite3_column_text(st, c);
				fprintf(out, "%s%s", c ? "|" : "", text ? (const char *)text : "");
			}
			fputc('\n', out);
		}
		if (rc != SQLITE_DONE)
			die(line);
		sqlite3_finalize(st);
	}
	fclose(in);
	if (fclose(out) != 0) {
		perror("sqlite_main: output");
		exit(1);
	}
}

/* Runs n point lookups of random ids with st (SELECT name FROM t WHERE id = ?1); rows/s.
 * Every lookup must find its row's 12-byte name. */
static double lookup_rate(sqlite3_stmt *st, int n)
{
	unsigned seed = 12345;
	long found = 0;
	double start = seconds();
	for (int i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		sqlite3_bind_int(st, 1, (int)((seed >> 8) % ROWS));
		if (sqlite3_step(st) == SQLITE_ROW)
			found += sqlite3_column_bytes(st, 0);
		sqlite3_reset(st);
	}
	double rate = n / (seconds() - start);
	if (found != (long)n * 12) {
		fprintf(stderr, "sqlite_main: lookups found %ld bytes\n", found);
		exit(1);
	}
	return rate;
}

static void bench(const char *path)
{
	remove(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("open");
	exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, name TEXT, v REAL)");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK)
		die("prepare");
	double start = seconds();
	exec("BEGIN");
	insert_rows(st, 0, ROWS);
	exec("COMMIT");
	double inserts = ROWS / (seconds() - start);
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* Lookups on a reopened database: the pages come from the host file, not SQLite's cache. */
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("reopen");
	if (sqlite3_prepare_v2(db, "SELECT name FROM t WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		die("prepare");
	double lookups = lookup_rate(st, LOOKUPS);
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* Again with memory-mapped I/O: the pages are read from a MAP_SHARED mapping of the file. */
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("reopen");
	exec("PRAGMA mmap_size=268435456");
	if (sqlite3_prepare_v2(db, "SELECT name FROM t WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		die("prepare");
	double mapped_lookups = lookup_rate(st, LOOKUPS);
	sqlite3_finalize(st);
	sqlite3_close(db);
	remove(path);
	/* The same rows and lookups in memory: no host call at all. */
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		die("open :memory:");
	exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, name TEXT, v REAL)");
	if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK)
		die("prepare");
	exec("BEGIN");
	insert_rows(st, 0, ROWS);
	exec("COMMIT");
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT name FROM t WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		die("prepare");
	double mem_lookups = lookup_rate(st, MEM_LOOKUPS);
	sqlite3_finalize(st);
	sqlite3_close(db);
	printf("RESULT sqlite_insert_100k %.3f rows/s\n", inserts);
	printf("RESULT sqlite_lookup_20k %.3f rows/s\n", lookups);
	printf("RESULT sqlite_lookup_mmap_20k %.3f rows/s\n", mapped_lookups);
	printf("RESULT sqlite_lookup_mem_200k %.3f rows/s\n", mem_lookups);
}

int main(int argc, char **argv)
{
	int wal = argc == 5 && strcmp(argv[1], "build-wal") == 0;
	if (argc == 5 && (strcmp(argv[1], "build") == 0 || wal)) {
		create(argv[2], wal);
		run_queries(argv[3], argv[4]);
		if (sqlite3_close(db) != SQLITE_OK)
			die("close");
		printf("sqlite_main: %s %s, database and queries done\n", sqlite3_libversion(), sqlite3_sourceid());
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "bench") == 0) {
		bench(argv[2]);
		return 0;
	}
	fprintf(stderr, "usage: sqlite_main build|build-wal <db> <queries.sql> <out> | bench <db>\n");
	return 2;
}
