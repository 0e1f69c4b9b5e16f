"""Fills an mxsec SQLite policy store (schema version 1) with POLICIES fresh enforce policies.

Usage: fill_store.py STORE POLICIES

The store must exist (the daemon creates it). Each policy is due for refresh a day after its
fetch, so the daemon does not refresh them during the benchmark.
"""

import sqlite3
import sys
import time

store, count = sys.argv[1], int(sys.argv[2])
now = int(time.time())
max_age = 604800
db = sqlite3.connect(store)
rows = []
for i in range(count):
    domain = "policy-%d.test" % i
    body = "version: STSv1\r\nmode: enforce\r\nmx: mx.%s\r\nmax_age: %d\r\n" % (domain, max_age)
    rows.append((domain, "bench1", body, "enforce", max_age, now, "[]",
                 now + 86400, now + max_age, now + max_age))
db.executemany(
    "INSERT OR REPLACE INTO mta_sts_policy (domain, policy_id, body, mode, max_age, fetched_at,"
    " failures, refresh_at, policy_expires_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
db.commit()
print(db.execute("SELECT count(*) FROM mta_sts_policy").fetchone()[0])
