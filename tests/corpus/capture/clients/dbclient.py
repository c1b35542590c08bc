"""psycopg2 / PyMySQL client for capture.py: run each case, print what failed.

Usage: dbclient.py psycopg2|pymysql CASES.json
Prints one JSON object per failure: key, message (as a traceback's last
line shows it), code (the driver's SQLSTATE or error number), and for every
third case the full traceback.
"""
import json
import sys
import traceback

drv, path = sys.argv[1], sys.argv[2]
spec = json.load(open(path))
if drv == "psycopg2":
    import psycopg2 as mod
else:
    import pymysql as mod


def connect(c):
    host = c.get("host", spec["host"])
    port = c.get("port", spec["port"])
    user = c.get("user", spec["user"])
    db = c.get("db", spec["db"])
    pw = c.get("password")
    if drv == "psycopg2":
        kw = dict(host=host, port=port, user=user, dbname=db, connect_timeout=2)
        if pw:
            kw["password"] = pw
        return mod.connect(**kw)
    kw = dict(user=user, database=db, connect_timeout=2, read_timeout=10)
    if host.startswith("/"):
        kw["unix_socket"] = host
    else:
        kw["host"], kw["port"] = host, port
    if pw:
        kw["password"] = pw
    return mod.connect(**kw)


for i, c in enumerate(spec["cases"]):
    try:
        conn = connect(c)
        try:
            cur = conn.cursor()
            if drv == "psycopg2":
                cur.execute(c["sql"])
            else:
                for stmt in c["sql"].split(";\n"):
                    cur.execute(stmt)
        finally:
            try:
                conn.close()
            except Exception:
                pass
    except Exception as e:
        line = traceback.format_exception_only(type(e), e)[-1].rstrip("\n")
        if drv == "psycopg2" and str(e).count("\n") > 1:
            line = "".join(traceback.format_exception_only(type(e), e)).rstrip("\n")
        code = getattr(e, "pgcode", None)
        if drv == "pymysql" and e.args and isinstance(e.args[0], int):
            code = e.args[0]
        out = {"key": c["key"], "message": line, "code": code}
        if i % 3 == 0:
            out["trace"] = traceback.format_exc().rstrip("\n")
        print(json.dumps(out), flush=True)
