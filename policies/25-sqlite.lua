-- SQLite result codes (primary and extended) and texts.
-- Authority: "Result and Error Codes" (sqlite.org/rescode.html) and the
-- texts of sqlite3_errstr(); SQLITE_BUSY/SQLITE_LOCKED are the documented
-- "try again" conditions (a busy handler retries them).

local P_CODE, P_EMBEDDED, P_SPECIFIC, P_CLASS = 200, 150, 100, 40
local SQ = { "sqlite", "sqlite3" }

-- { code, NAME, errstr text or false, category }
local CODES = {
  { 1,  "SQLITE_ERROR",      false,                                   "invalid_argument" },
  { 2,  "SQLITE_INTERNAL",   false,                                   "internal" },
  { 3,  "SQLITE_PERM",       [[access permission denied]],            "permission_denied" },
  { 4,  "SQLITE_ABORT",      [[query aborted]],                       "aborted" },
  { 5,  "SQLITE_BUSY",       [[database is locked]],                  "aborted.locked" },
  { 6,  "SQLITE_LOCKED",     [[database table is locked]],            "aborted.locked" },
  { 7,  "SQLITE_NOMEM",      false,                                   "resource_exhausted.memory" },
  { 8,  "SQLITE_READONLY",   [[attempt to write a readonly database]], "permission_denied.read_only" },
  { 9,  "SQLITE_INTERRUPT",  false,                                   "cancelled" },
  { 10, "SQLITE_IOERR",      [[disk I/O error]],                      "internal.io" },
  { 11, "SQLITE_CORRUPT",    [[database disk image is malformed]],    "data_loss" },
  { 12, "SQLITE_NOTFOUND",   false,                                   "not_found" },
  { 13, "SQLITE_FULL",       [[database or disk is full]],            "resource_exhausted.storage_full" },
  { 14, "SQLITE_CANTOPEN",   [[unable to open database file]],        "not_found.file" },
  { 15, "SQLITE_PROTOCOL",   [[locking protocol]],                    "aborted.locked" },
  { 16, "SQLITE_EMPTY",      false,                                   "internal" },
  { 17, "SQLITE_SCHEMA",     [[database schema has changed]],         "aborted" },
  { 18, "SQLITE_TOOBIG",     [[string or blob too big]],              "out_of_range" },
  { 19, "SQLITE_CONSTRAINT", false,                                   "failed_precondition" },
  { 20, "SQLITE_MISMATCH",   [[datatype mismatch]],                   "invalid_argument" },
  { 21, "SQLITE_MISUSE",     [[bad parameter or other API misuse]],   "internal" },
  { 22, "SQLITE_NOLFS",      [[large file support is disabled]],      "unimplemented" },
  { 23, "SQLITE_AUTH",       [[authorization denied]],                "permission_denied" },
  { 25, "SQLITE_RANGE",      [[column index out of range]],           "out_of_range" },
  { 26, "SQLITE_NOTADB",     [[file is not a database]],              "invalid_argument" }, -- input not in the format (as "not in gzip format")
  -- extended codes
  { 261,  "SQLITE_BUSY_RECOVERY",        false, "aborted.locked" },
  { 517,  "SQLITE_BUSY_SNAPSHOT",        false, "aborted.serialization" },
  { 773,  "SQLITE_BUSY_TIMEOUT",         false, "aborted.locked" },
  { 262,  "SQLITE_LOCKED_SHAREDCACHE",   false, "aborted.locked" },
  { 264,  "SQLITE_READONLY_RECOVERY",    false, "permission_denied.read_only" },
  { 520,  "SQLITE_READONLY_CANTLOCK",    false, "permission_denied.read_only" },
  { 1032, "SQLITE_READONLY_DBMOVED",     false, "permission_denied.read_only" },
  { 266,  "SQLITE_IOERR_READ",           false, "internal.io" },
  { 522,  "SQLITE_IOERR_SHORT_READ",     false, "internal.io" },
  { 778,  "SQLITE_IOERR_WRITE",          false, "internal.io" },
  { 3338, "SQLITE_IOERR_NOMEM",          false, "resource_exhausted.memory" },
  { 275,  "SQLITE_CONSTRAINT_CHECK",     false, "invalid_argument" },
  { 531,  "SQLITE_CONSTRAINT_COMMITHOOK",false, "aborted" },
  { 787,  "SQLITE_CONSTRAINT_FOREIGNKEY",false, "failed_precondition" },
  { 1043, "SQLITE_CONSTRAINT_FUNCTION",  false, "failed_precondition" },
  { 1299, "SQLITE_CONSTRAINT_NOTNULL",   false, "invalid_argument" },
  { 1555, "SQLITE_CONSTRAINT_PRIMARYKEY",false, "already_exists" },
  { 1811, "SQLITE_CONSTRAINT_TRIGGER",   false, "failed_precondition" },
  { 2067, "SQLITE_CONSTRAINT_UNIQUE",    false, "already_exists" },
  { 2323, "SQLITE_CONSTRAINT_VTAB",      false, "failed_precondition" },
  { 2579, "SQLITE_CONSTRAINT_ROWID",     false, "already_exists" },
  { 3091, "SQLITE_CONSTRAINT_DATATYPE",  false, "invalid_argument" },
  { 1038, "SQLITE_CANTOPEN_CONVPATH",    false, "not_found.file" },
  { 267,  "SQLITE_CORRUPT_VTAB",         false, "data_loss" },
  { 523,  "SQLITE_ABORT_ROLLBACK",       false, "aborted" },
}

for _, e in ipairs(CODES) do
  local num, NAME, text, c = e[1], e[2], e[3], e[4]
  rule("sqlite-" .. NAME) {
    when = { domain = SQ, code = { num, NAME } }, category = c, priority = P_CODE,
  }
  rule("sqlite-" .. NAME .. "-in-message") {
    when = { message = re("\\b" .. NAME .. "\\b") }, category = c, priority = P_EMBEDDED,
  }
  if text then
    rule("sqlite-text-" .. NAME) {
      when = { message = re("(?i)" .. text) }, category = c, priority = P_SPECIFIC,
    }
  end
end

-- The texts that SQLITE_ERROR and SQLITE_CONSTRAINT carry tell more than
-- the primary code, so they are tried before the code itself.
local TEXTS = {
  { "unique",      [[UNIQUE constraint failed]],      "already_exists" },
  { "primarykey",  [[PRIMARY KEY must be unique]],    "already_exists" },
  { "notnull",     [[NOT NULL constraint failed]],    "invalid_argument" },
  { "check",       [[CHECK constraint failed]],       "invalid_argument" },
  { "foreignkey",  [[FOREIGN KEY constraint failed]], "failed_precondition" },
  { "no-table",    [[no such table]],                 "not_found" },
  { "no-column",   [[no such column]],                "not_found" },
  { "no-function", [[no such function]],              "not_found" },
  { "table-exists",[[table \S+ already exists]],      "already_exists" },
  { "syntax",      [[near "[^"]*": syntax error]],    "invalid_argument.parse" },
  { "datatype",    [[cannot store \w+ value in \w+ column]], "invalid_argument" },
  { "incomplete",  [[incomplete input]],              "invalid_argument.parse" },
}
for _, t in ipairs(TEXTS) do
  rule("sqlite-text-" .. t[1]) {
    when = { message = re(t[2]) }, category = t[3], priority = P_CODE + 10,
  }
end
-- Primary codes carried as numbers in the sqlite3 shell's "(19)" suffix.
rule("sqlite-shell-constraint") {
  when = { message = re[[constraint failed.* \(19\)$]] }, category = "failed_precondition",
  priority = P_EMBEDDED,
}
