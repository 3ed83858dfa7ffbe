-- One statement per line; sqlite_main and the host's sqlite3 shell must print the same rows.
SELECT count(*), sum(k), min(name), max(name), sum(v) FROM t;
SELECT k, count(*), sum(id) FROM t WHERE k BETWEEN 10 AND 14 GROUP BY k ORDER BY k;
SELECT id, name, v FROM t WHERE name = 'name-0012345';
SELECT g.label, count(*), sum(t.id), round(avg(t.v), 3) FROM t JOIN groups g ON g.k = t.k GROUP BY g.label ORDER BY g.label;
SELECT count(*) FROM t LEFT JOIN groups g ON g.k = t.k WHERE g.k IS NULL;
SELECT id, k FROM t WHERE k = 999 ORDER BY id DESC LIMIT 3;
SELECT name FROM sqlite_master ORDER BY name;
PRAGMA integrity_check;
