-- faultline stock policy pack.
--
-- Files are loaded in name order:
--   00  the policy itself           10  categories and recovery defaults
--   20  POSIX errno                 21  HTTP status
--   22  gRPC codes                  23  PostgreSQL SQLSTATE
--   24  MySQL / MariaDB             25  SQLite
--   26  Redis                       27  libcurl
--   28  AWS error codes             40  message patterns (languages, runtimes)
--   90+ user messages (en, fr, de)  99  examples
--
-- Rule priorities (higher is tried first; the first match wins).  Exact
-- domain+code rules are hash-indexed; message rules are chosen so that each
-- pattern carries a literal the engine can prefilter on.
--
--   300  domain+code+message combinations (curl 22 with its HTTP status, ...)
--   200  exact domain + code
--   150  a code embedded in the message ("ECONNREFUSED", "curl: (7)",
--        "code = Unavailable", "HTTP Error 404", "ERROR 1213", "WRONGTYPE", ...)
--   100  specific message texts (database server texts, runtime exceptions)
--    70  glibc strerror() texts
--    50  generic message patterns
--    30  weak generic words ("not found", "timed out", ...)
--    40  domain + code class fallbacks (SQLSTATE class, HTTP 4xx/5xx, ...)
-- See docs/taxonomy.md for the categories and the authority behind each map.

policy {
  name = "stock",
  version = "1.0.0",
  default_locale = "en",
  max_message_len = 280,
}
