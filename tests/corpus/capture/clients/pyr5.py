"""Round-5 Python client libraries for capture.py: python3 pyr5.py R5JSON TMPDIR

psycopg 3, SQLAlchemy (over psycopg2 and mysqlclient), asyncpg, mysqlclient
(MySQLdb), aiomysql, aiohttp, urllib3 and paramiko failing against the local
servers named in R5JSON.  One JSON object per failure on stdout: source, key,
message (the last line of the traceback), every other one with the whole
trace, and the code the library exposes (SQLSTATE, MySQL errno, HTTP status,
RESP prefix).
"""
import asyncio, json, os, sys, threading, time, traceback

cfg = json.load(open(sys.argv[1]))
tmp = sys.argv[2]
n = 0


def emit(source, key, e, code=None):
    global n
    o = {"source": source, "key": key, "message": traceback.format_exception_only(type(e), e)[-1].rstrip("\n")}
    if n % 2 == 0:
        o["trace"] = "".join(traceback.format_exception(type(e), e, e.__traceback__)).rstrip("\n")
    if code is not None:
        o["code"] = code
    print(json.dumps(o), flush=True)
    n += 1


def case(source, key, fn, codeof=lambda e: None):
    try:
        fn()
    except BaseException as e:
        try:
            c = codeof(e)
        except Exception:
            c = None
        emit(source, key, e, c)


PG, MY, HTTP = cfg.get("pg"), cfg.get("my"), cfg["http"]


def pgconn(c):
    return dict(host=c.get("host", PG["host"]), port=c.get("port", PG["port"]), user=c.get("user", PG["user"]),
                password=c.get("password", PG["password"]), dbname=c.get("db", PG["db"]))


def myconn(c):
    return dict(host=c.get("host", MY["host"]), port=c.get("port", MY["port"]), user=c.get("user", MY["user"]),
                password=c.get("password", MY["password"]), db=c.get("db", MY["db"]))


# ---------------------------------------------------------------- psycopg 3
if PG:
    import psycopg
    sq = lambda e: getattr(e, "sqlstate", None)  # noqa: E731

    def run_pg3(c):
        with psycopg.connect(**pgconn(PG), autocommit=True) as conn:
            for s in c["pre"]:
                conn.execute(s)
            conn.execute(c["sql"])
    for c in PG["cases"]:
        case("psycopg3", "r5-pg-" + c["case"], lambda c=c: run_pg3(c), sq)
    for c in PG["conn"]:
        kw = pgconn(c)
        if c.get("ssl"):
            kw["sslmode"] = "require"
        case("psycopg3", "r5-pg-" + c["case"], lambda kw=kw: psycopg.connect(**kw, connect_timeout=2).execute("SELECT 1"), sq)

    def pg3_deadlock():
        a = psycopg.connect(**pgconn(PG))
        b = psycopg.connect(**pgconn(PG))
        a.execute("UPDATE r5_dl SET v = v + 1 WHERE id = 1")
        b.execute("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
        errs = []

        def other():
            try:
                a.execute("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
            except Exception as e:
                errs.append(e)
        t = threading.Thread(target=other)
        t.start()
        time.sleep(0.3)
        try:
            b.execute("UPDATE r5_dl SET v = v + 1 WHERE id = 1")
        except Exception as e:
            errs.append(e)
        b.rollback()
        t.join()
        a.rollback()
        a.close()
        b.close()
        if errs:
            raise errs[0]

    def pg3_serialization():
        a = psycopg.connect(**pgconn(PG))
        a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        a.execute("SELECT * FROM r5_ser")
        with psycopg.connect(**pgconn(PG), autocommit=True) as b:
            b.execute("UPDATE r5_ser SET v = v + 1 WHERE id = 1")
        try:
            a.execute("UPDATE r5_ser SET v = v + 1 WHERE id = 1")
        finally:
            a.rollback()
            a.close()
    # psycopg_pool: a pool of one connection, held, and a second caller that waits 0.5 s
    try:
        import psycopg_pool

        def pg3_pool():
            p = psycopg_pool.ConnectionPool(f"host={PG['host']} port={PG['port']} user={PG['user']} dbname={PG['db']}",
                                            min_size=1, max_size=1, timeout=0.5)
            try:
                with p.connection():
                    with p.connection():
                        pass
            finally:
                p.close()
        case("psycopg_pool", "r5-pg-pool-timeout", pg3_pool)
    except ImportError:
        pass
    case("psycopg3", "r5-pg-deadlock", pg3_deadlock, sq)
    case("psycopg3", "r5-pg-serialization", pg3_serialization, sq)

# ---------------------------------------------------------------- SQLAlchemy
import sqlalchemy as sa
from sqlalchemy import text
orig = lambda e: getattr(getattr(e, "orig", None), "pgcode", None)  # noqa: E731
if PG:
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{PG['port']}/fl"
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)  # each case on a fresh session

    def sa_pg(c):
        with eng.connect() as conn:
            for s in c["pre"]:
                conn.execute(text(s))
            conn.execute(text(c["sql"]))
    for c in PG["cases"]:
        case("sqlalchemy", "r5-pg-" + c["case"], lambda c=c: sa_pg(c), orig)
    for c in PG["conn"]:
        kw = pgconn(c)
        u = sa.engine.URL.create("postgresql+psycopg2", username=kw["user"], password=kw["password"] or None,
                                 host=kw["host"], port=kw["port"], database=kw["dbname"])
        args = {"connect_timeout": 2}
        if c.get("ssl"):
            args["sslmode"] = "require"
        case("sqlalchemy", "r5-pg-" + c["case"],
             lambda u=u, args=args: sa.create_engine(u, connect_args=args).connect().execute(text("SELECT 1")), orig)

    def sa_pool():
        e = sa.create_engine(url, pool_size=1, max_overflow=0, pool_timeout=1)
        c1 = e.connect()
        try:
            e.connect()
        finally:
            c1.close()
    case("sqlalchemy", "r5-pg-pool-timeout", sa_pool)
    # the ORM: a flush that violates a unique constraint
    from sqlalchemy.orm import declarative_base, Session
    Base = declarative_base()

    class Acct(Base):
        __tablename__ = "acct"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(5))
        bal = sa.Column(sa.Integer)

    def orm_unique():
        with Session(eng) as s:
            s.add(Acct(id=1, name="dup", bal=1))
            s.commit()

    def orm_not_null():
        with Session(eng) as s:
            s.add(Acct(id=77, name=None, bal=1))
            s.flush()
    case("sqlalchemy", "r5-pg-orm-unique", orm_unique, orig)
    case("sqlalchemy", "r5-pg-orm-not-null", orm_not_null, orig)
if MY:
    myorig = lambda e: (getattr(e, "orig", None).args[0] if getattr(e, "orig", None) and getattr(e.orig, "args", None) else None)  # noqa: E731
    murl = f"mysql+mysqldb://r5:r5pw@127.0.0.1:{MY['port']}/fl"
    meng = sa.create_engine(murl, poolclass=sa.pool.NullPool)

    def sa_my(c):
        with meng.connect() as conn:
            for s in c["pre"]:
                conn.execute(text(s))
            conn.execute(text(c["sql"]))
    for c in MY["cases"]:
        case("sqlalchemy", "r5-my-" + c["case"], lambda c=c: sa_my(c), myorig)
    for c in MY["conn"]:
        kw = myconn(c)
        u = sa.engine.URL.create("mysql+mysqldb", username=kw["user"], password=kw["password"], host=kw["host"],
                                 port=kw["port"], database=kw["db"])
        case("sqlalchemy", "r5-my-" + c["case"],
             lambda u=u, c=c: sa.create_engine(u, connect_args={"connect_timeout": 2}).connect().execute(text(c.get("sql", "SELECT 1"))), myorig)

    def sa_mypool():
        e = sa.create_engine(murl, pool_size=1, max_overflow=0, pool_timeout=1)
        c1 = e.connect()
        try:
            e.connect()
        finally:
            c1.close()
    case("sqlalchemy", "r5-my-pool-timeout", sa_mypool)

# ---------------------------------------------------------------- mysqlclient (MySQLdb)
if MY:
    import MySQLdb
    ecode = lambda e: e.args[0] if e.args and isinstance(e.args[0], int) else None  # noqa: E731

    def mdb(c):
        conn = MySQLdb.connect(**myconn(MY), autocommit=True)
        cur = conn.cursor()
        for s in c["pre"]:
            cur.execute(s)
        cur.execute(c["sql"])
    for c in MY["cases"]:
        case("mysqlclient", "r5-my-" + c["case"], lambda c=c: mdb(c), ecode)
    for c in MY["conn"]:
        kw = myconn(c)
        case("mysqlclient", "r5-my-" + c["case"],
             lambda kw=kw, c=c: MySQLdb.connect(**kw, connect_timeout=2).cursor().execute(c.get("sql", "SELECT 1")), ecode)

    def mdb_deadlock():
        a = MySQLdb.connect(**myconn(MY))
        b = MySQLdb.connect(**myconn(MY))
        a.cursor().execute("UPDATE r5_dl SET v = v + 1 WHERE id = 1")
        b.cursor().execute("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
        errs = []

        def other():
            try:
                a.cursor().execute("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
            except Exception as e:
                errs.append(e)
        t = threading.Thread(target=other)
        t.start()
        time.sleep(0.3)
        try:
            b.cursor().execute("UPDATE r5_dl SET v = v + 1 WHERE id = 1")
        except Exception as e:
            errs.append(e)
        t.join()
        a.rollback()
        b.rollback()
        if errs:
            raise errs[0]
    case("mysqlclient", "r5-my-deadlock", mdb_deadlock, ecode)

    def mdb_gone():
        conn = MySQLdb.connect(**myconn(MY))
        conn.cursor().execute("SET SESSION wait_timeout = 1")
        time.sleep(2.5)
        conn.cursor().execute("SELECT 1")
    case("mysqlclient", "r5-my-wait-timeout", mdb_gone, ecode)


# ---------------------------------------------------------------- asyncpg / aiomysql / aiohttp
async def amain():
    if PG:
        import asyncpg
        asq = lambda e: getattr(e, "sqlstate", None)  # noqa: E731

        async def acase(key, coro_fn, codeof=asq, source="asyncpg"):
            try:
                await coro_fn()
            except BaseException as e:
                emit(source, key, e, codeof(e) if codeof else None)
        dsn = dict(host=PG["host"], port=PG["port"], user=PG["user"], database=PG["db"])
        for c in PG["cases"]:
            async def f(c=c):
                conn = await asyncpg.connect(**dsn)
                try:
                    for s in c["pre"]:
                        await conn.execute(s)
                    await conn.execute(c["sql"])
                finally:
                    await conn.close()
            await acase("r5-pg-" + c["case"], f)
        for c in PG["conn"]:
            kw = pgconn(c)
            kw = dict(host=kw["host"], port=kw["port"], user=kw["user"], password=kw["password"] or None,
                      database=kw["dbname"], timeout=2)
            if c.get("ssl"):
                kw["ssl"] = "require"
            await acase("r5-pg-" + c["case"], lambda kw=kw: asyncpg.connect(**kw))

        async def pool():
            p = await asyncpg.create_pool(**dsn, min_size=1, max_size=1)
            c1 = await p.acquire()
            try:
                await p.acquire(timeout=0.5)
            finally:
                await p.release(c1)
                await p.close()
        await acase("r5-pg-pool-timeout", pool, None)

        async def ser():
            a = await asyncpg.connect(**dsn)
            b = await asyncpg.connect(**dsn)
            tr = a.transaction(isolation="repeatable_read")
            await tr.start()
            await a.fetch("SELECT * FROM r5_ser")
            await b.execute("UPDATE r5_ser SET v = v + 1 WHERE id = 1")
            try:
                await a.execute("UPDATE r5_ser SET v = v + 1 WHERE id = 1")
            finally:
                await tr.rollback()
                await a.close()
                await b.close()
        await acase("r5-pg-serialization", ser)

        async def dl():
            a = await asyncpg.connect(**dsn)
            b = await asyncpg.connect(**dsn)
            ta, tb = a.transaction(), b.transaction()
            await ta.start()
            await tb.start()
            await a.execute("UPDATE r5_dl SET v = v + 1 WHERE id = 1")
            await b.execute("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
            r = await asyncio.gather(a.execute("UPDATE r5_dl SET v = v + 1 WHERE id = 2"),
                                     b.execute("UPDATE r5_dl SET v = v + 1 WHERE id = 1"), return_exceptions=True)
            for t in (ta, tb):
                try:
                    await t.rollback()
                except Exception:
                    pass
            await a.close()
            await b.close()
            for x in r:
                if isinstance(x, BaseException):
                    raise x
        await acase("r5-pg-deadlock", dl)
    if MY:
        import aiomysql
        mcode = lambda e: e.args[0] if e.args and isinstance(e.args[0], int) else None  # noqa: E731

        async def mcase(key, fn):
            try:
                await asyncio.wait_for(fn(), 8)
            except asyncio.TimeoutError as e:
                print(f"pyr5: aiomysql {key}: no answer in 8 s", file=sys.stderr)
            except BaseException as e:
                emit("aiomysql", key, e, mcode(e))
        for c in MY["cases"]:
            async def f(c=c):
                conn = await aiomysql.connect(**myconn(MY), autocommit=True)
                try:
                    cur = await conn.cursor()
                    for s in c["pre"]:
                        await cur.execute(s)
                    await cur.execute(c["sql"])
                finally:
                    conn.close()
            await mcase("r5-my-" + c["case"], f)
        for c in MY["conn"]:
            async def g(c=c):
                conn = await aiomysql.connect(**myconn(c), connect_timeout=2)
                cur = await conn.cursor()
                await cur.execute(c.get("sql", "SELECT 1"))
            await mcase("r5-my-" + c["case"], g)
    import aiohttp
    for path, key in [(f"/status/{st}", f"r5-http-{st}") for st in (400, 401, 403, 404, 408, 409, 410, 413, 422, 429, 500, 501, 502, 503, 504)] + \
            [("/reset", "r5-http-reset"), ("/empty", "r5-http-empty"), ("/truncated", "r5-http-truncated"),
             ("/loop", "r5-http-redirect-loop")]:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
                async with s.get(HTTP + path, max_redirects=5) as r:
                    r.raise_for_status()
                    await r.read()
        except BaseException as e:
            emit("aiohttp", key, e, getattr(e, "status", None))
    for url, key in [(f"http://127.0.0.1:{cfg['closed']}/", "r5-http-refused"), (f"http://{cfg['dns']}/", "r5-http-dns"),
                     (f"http://127.0.0.1:{cfg['silent']}/", "r5-http-timeout"), (cfg["tls"], "r5-http-tls-untrusted")]:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.5)) as s:
                async with s.get(url) as r:
                    await r.read()
        except BaseException as e:
            emit("aiohttp", key, e)

    if cfg.get("ca"):
        import ssl
        ctx = ssl.create_default_context(cafile=cfg["ca"])
        for port, key in ((cfg.get("tls_expired"), "r5-http-tls-expired"), (cfg.get("tls_wronghost"), "r5-http-tls-hostname")):
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as s:
                    async with s.get(f"https://localhost:{port}/", ssl=ctx) as r:
                        await r.read()
            except BaseException as e:
                emit("aiohttp", key, e)

asyncio.run(amain())

# ---------------------------------------------------------------- urllib3
import urllib3
from urllib3.util.retry import Retry
pm = urllib3.PoolManager(retries=Retry(total=1, status_forcelist=[429, 500, 502, 503, 504], backoff_factor=0.01,
                                       respect_retry_after_header=False, raise_on_status=True), timeout=2)
for st in (429, 500, 502, 503, 504):
    case("urllib3", f"r5-http-{st}", lambda st=st: pm.request("GET", f"{HTTP}/status/{st}"), lambda e, st=st: st)
for path, key in [("/reset", "r5-http-reset"), ("/empty", "r5-http-empty"), ("/truncated", "r5-http-truncated"),
                  ("/loop", "r5-http-redirect-loop")]:
    case("urllib3", key, lambda path=path: pm.request("GET", HTTP + path, retries=Retry(total=0, redirect=3),
                                                      preload_content=True, enforce_content_length=True))
one = urllib3.PoolManager(retries=False, timeout=1.5)
for url, key in [(f"http://127.0.0.1:{cfg['closed']}/", "r5-http-refused"), (f"http://{cfg['dns']}/", "r5-http-dns"),
                 (f"http://127.0.0.1:{cfg['silent']}/", "r5-http-timeout"), (cfg["tls"], "r5-http-tls-untrusted")]:
    case("urllib3", key, lambda url=url: one.request("GET", url))
if cfg.get("ca"):
    capm = urllib3.PoolManager(ca_certs=cfg["ca"], cert_reqs="CERT_REQUIRED", retries=False, timeout=3)
    for port, key in ((cfg.get("tls_expired"), "r5-http-tls-expired"), (cfg.get("tls_wronghost"), "r5-http-tls-hostname")):
        case("urllib3", key, lambda port=port: capm.request("GET", f"https://localhost:{port}/"))
case("urllib3", "r5-http-pool-timeout", lambda: (lambda p: (p._get_conn(), p._get_conn(timeout=0.5)))(
    urllib3.HTTPConnectionPool("127.0.0.1", int(HTTP.rsplit(":", 1)[1]), maxsize=1, block=True)))

# ---------------------------------------------------------------- paramiko
import paramiko
open(os.path.join(tmp, "r5-bad-key"), "w").write("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n")


def ssh(port=22, host="127.0.0.1", **kw):
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect(host, port=port, username="nobody", password="x", timeout=2, banner_timeout=2, auth_timeout=2,
              look_for_keys=False, allow_agent=False, **kw)
case("paramiko", "r5-ssh-refused", lambda: ssh(cfg["closed"]))
case("paramiko", "r5-ssh-dns", lambda: ssh(host=cfg["dns"]))
case("paramiko", "r5-ssh-banner-timeout", lambda: ssh(cfg["silent"]))
case("paramiko", "r5-ssh-bad-key", lambda: paramiko.RSAKey.from_private_key_file(os.path.join(tmp, "r5-bad-key")))
case("paramiko", "r5-ssh-key-missing", lambda: paramiko.Ed25519Key.from_private_key_file(os.path.join(tmp, "r5-no-such-key")))
