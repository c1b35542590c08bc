-- PostgreSQL SQLSTATE codes and server texts.
-- Authority: PostgreSQL documentation, Appendix A "PostgreSQL Error Codes"
-- (classes and condition names).  Class 40 (transaction rollback) and the
-- connection/operator-intervention conditions are the transient ones that
-- drivers and ORMs retry (serialization_failure 40001, deadlock_detected
-- 40P01, admin_shutdown 57P01, cannot_connect_now 57P03,
-- too_many_connections 53300, query_canceled 57014 by statement_timeout).

-- P_CLASS: the class of a code that is present but missing from the table.
-- It is code evidence, so it sits above every text (100) and generic phrase
-- (50): "an unknown code lets no other code's text win" (docs/taxonomy.md).
local P_COMBO, P_CODE, P_SPECIFIC, P_CLASS = 300, 200, 100, 130
local PG = { "postgres", "postgresql", "pg", "psql", "sqlstate" }

local SQLSTATE = {
  -- class 08 connection exception
  ["08000"] = "unavailable", ["08003"] = "unavailable.connection_reset",
  ["08006"] = "unavailable.connection_reset", ["08001"] = "unavailable",
  ["08004"] = "unavailable", ["08007"] = "unavailable", ["08P01"] = "internal",
  ["0A000"] = "unimplemented",
  -- class 22 data exception
  ["22001"] = "out_of_range", ["22003"] = "out_of_range", ["22008"] = "out_of_range",
  ["22012"] = "invalid_argument", ["22P02"] = "invalid_argument.parse",
  ["22007"] = "invalid_argument.parse", ["22P05"] = "invalid_argument",
  ["22023"] = "invalid_argument", ["2202E"] = "out_of_range",
  ["22015"] = "out_of_range",  -- interval_field_overflow: an overflow, like 22008
  -- class 23 integrity constraint violation
  ["23000"] = "failed_precondition", ["23001"] = "failed_precondition",
  ["23502"] = "invalid_argument", ["23503"] = "failed_precondition",
  ["23505"] = "already_exists", ["23514"] = "invalid_argument",
  ["23P01"] = "failed_precondition",
  -- class 25 invalid transaction state
  ["25006"] = "failed_precondition", ["25P02"] = "failed_precondition",
  ["25P03"] = "failed_precondition", -- idle_in_transaction_session_timeout: the client held a transaction open and idle (class 25)
  -- class 28 invalid authorization specification
  ["28000"] = "unauthenticated", ["28P01"] = "unauthenticated",
  -- class 3D / 3F
  ["3D000"] = "not_found", ["3F000"] = "not_found",
  -- class 40 transaction rollback
  ["40000"] = "aborted", ["40001"] = "aborted.serialization", ["40002"] = "aborted",
  ["40003"] = "aborted", ["40P01"] = "aborted.deadlock",
  -- class 42 syntax error or access rule violation
  ["42601"] = "invalid_argument.parse", ["42501"] = "permission_denied",
  ["42P01"] = "not_found", ["42703"] = "not_found", ["42883"] = "not_found",
  ["42704"] = "not_found", ["42P02"] = "not_found", ["26000"] = "not_found",
  ["42P07"] = "already_exists", ["42710"] = "already_exists", ["42P04"] = "already_exists",
  ["42P06"] = "already_exists", ["42723"] = "already_exists", ["42701"] = "already_exists",
  ["42712"] = "already_exists", ["42P03"] = "already_exists", ["42P05"] = "already_exists", -- duplicate alias/cursor/prepared statement
  ["42804"] = "invalid_argument", ["42846"] = "invalid_argument",
  -- class 53 insufficient resources
  ["53000"] = "resource_exhausted", ["53100"] = "resource_exhausted.storage_full",
  ["53200"] = "resource_exhausted.memory", ["53300"] = "resource_exhausted.connections",
  ["53400"] = "resource_exhausted.quota",
  -- class 54 program limit exceeded
  ["54000"] = "invalid_argument", ["54001"] = "invalid_argument", ["54011"] = "invalid_argument",
  ["54023"] = "invalid_argument",
  -- class 55 object not in prerequisite state
  ["55000"] = "failed_precondition", ["55006"] = "failed_precondition",
  ["55P02"] = "failed_precondition", ["55P03"] = "aborted.locked",
  ["55P04"] = "failed_precondition",
  -- class 57 operator intervention
  ["57000"] = "unavailable", ["57014"] = "cancelled", ["57P01"] = "unavailable",
  ["57P02"] = "unavailable", ["57P03"] = "unavailable", ["57P04"] = "not_found",
  ["57P05"] = "unavailable.connection_reset",
  -- class 58 system error
  ["58000"] = "internal", ["58030"] = "internal.io", ["58P01"] = "not_found.file",
  ["58P02"] = "already_exists",
  -- class 72, F0, HV, P0, XX
  ["72000"] = "failed_precondition",
  ["P0001"] = "unknown", ["P0002"] = "not_found", ["P0003"] = "failed_precondition",
  ["P0004"] = "internal",
  ["XX000"] = "internal", ["XX001"] = "data_loss", ["XX002"] = "data_loss",
}

local keys = {}
for k in pairs(SQLSTATE) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do
  rule("pg-" .. k) {
    when = { domain = PG, code = k }, category = SQLSTATE[k], priority = P_CODE,
  }
end

-- A SQLSTATE printed in the message: psql with VERBOSITY verbose
-- ("ERROR:  23505: duplicate key ...") and PHP PDO ("SQLSTATE[23505]: Unique
-- violation: 7 ERROR:  ..."; the 7 is libpq's PGRES_FATAL_ERROR, which keeps
-- MySQL's PDO messages out).  Below MySQL's embedded numbers (150), above texts.
for _, k in ipairs(keys) do
  rule("pg-" .. k .. "-in-message") {
    when = { message = re("(?:(?:ERROR|FATAL|PANIC):  " .. k .. ": |SQLSTATE\\[" .. k .. "\\]: [^:\n]{1,60}: 7 )") },
    category = SQLSTATE[k], priority = 140,
  }
end

-- 57014 query_canceled is raised both by a cancel request and by
-- statement_timeout; the text tells them apart.
rule("pg-57014-statement-timeout") {
  when = { domain = PG, code = "57014", message = re"(?i)statement timeout" },
  category = "deadline_exceeded", priority = P_COMBO,
}
rule("pg-57014-lock-timeout") {
  when = { domain = PG, code = { "57014", "55P03" }, message = re"(?i)lock timeout" },
  category = "aborted.locked", priority = P_COMBO,
}

-- The same combinations when the SQLSTATE is printed in the message (PDO
-- "SQLSTATE[57014]: Query canceled: 7 ERROR:  canceling statement due to
-- statement timeout", psql verbose "ERROR:  57014: ..."): code and text
-- together outrank the code alone (140).
rule("pg-57014-statement-timeout-in-message") {
  when = { message = re"(?:SQLSTATE\\[57014\\]|(?:ERROR|FATAL):  57014: )[^\n]{0,200}statement timeout" },
  category = "deadline_exceeded", priority = P_COMBO,
}
rule("pg-lock-timeout-in-message") {
  when = { message = re"(?:SQLSTATE\\[(?:57014|55P03)\\]|(?:ERROR|FATAL):  (?:57014|55P03): )[^\n]{0,200}lock timeout" },
  category = "aborted.locked", priority = P_COMBO,
}

-- Classes, for the codes not listed above.
local CLASS = {
  ["00"] = "unknown", ["01"] = "unknown", ["02"] = "not_found", ["03"] = "unknown",
  ["08"] = "unavailable", ["09"] = "internal", ["0A"] = "unimplemented",
  ["0B"] = "failed_precondition", ["0F"] = "invalid_argument", ["0L"] = "permission_denied",
  ["0P"] = "permission_denied", ["0Z"] = "failed_precondition", ["20"] = "not_found",
  ["21"] = "invalid_argument", ["22"] = "invalid_argument", ["23"] = "failed_precondition",
  ["24"] = "failed_precondition", ["25"] = "failed_precondition", ["26"] = "not_found",
  ["27"] = "failed_precondition", ["28"] = "unauthenticated", ["2B"] = "failed_precondition",
  ["2D"] = "failed_precondition", ["2F"] = "internal", ["34"] = "not_found",
  ["38"] = "internal", ["39"] = "internal", ["3B"] = "failed_precondition",
  ["3D"] = "not_found", ["3F"] = "not_found", ["40"] = "aborted",
  ["42"] = "invalid_argument", ["44"] = "invalid_argument", ["53"] = "resource_exhausted",
  ["54"] = "invalid_argument", ["55"] = "failed_precondition", ["57"] = "unavailable",
  ["58"] = "internal", ["72"] = "failed_precondition", ["F0"] = "internal",
  ["HV"] = "internal", ["P0"] = "internal", ["XX"] = "internal",
}
local ckeys = {}
for k in pairs(CLASS) do ckeys[#ckeys + 1] = k end
table.sort(ckeys)
for _, k in ipairs(ckeys) do
  rule("pg-class-" .. k) {
    when = { domain = PG, code = re("^" .. k .. "[0-9A-Z]{3}$") },
    category = CLASS[k], priority = P_CLASS,
  }
end
-- A SQLSTATE printed in the message but missing from the table above decides
-- by its class, below the listed codes (140) and above the server texts (100):
-- a text written for another code must not decide an event whose code says
-- otherwise (docs/taxonomy.md, "an unknown code lets no other code's text win").
for _, k in ipairs(ckeys) do
  rule("pg-class-" .. k .. "-in-message") {
    when = { message = re("(?:(?:ERROR|FATAL|PANIC):  " .. k .. "[0-9A-Z]{3}: |SQLSTATE\\[" .. k .. "[0-9A-Z]{3}\\]: [^:\n]{1,60}: 7 )") },
    category = CLASS[k], priority = 130,
  }
end

-- Server and libpq texts (message only, or a driver without the SQLSTATE).
local TEXTS = {
  { "serialization", [[could not serialize access]],                      "aborted.serialization" },
  { "recovery-conflict", [[canceling statement due to conflict with recovery]], "aborted" },
  { "statement-timeout", [[canceling statement due to statement timeout]], "deadline_exceeded" },
  { "lock-timeout",  [[canceling statement due to lock timeout]],          "aborted.locked" },
  { "user-cancel",   [[canceling statement due to user request]],          "cancelled" },
  { "no-lock",       [[could not obtain lock on]],                         "aborted.locked" },
  { "admin-shutdown",[[terminating connection due to administrator command]], "unavailable" },
  { "idle-timeout",  [[terminating connection due to idle(?: session)? timeout|terminating connection due to idle-session timeout]], "unavailable.connection_reset" }, -- 57P05
  { "idle-in-tx",    [[terminating connection due to idle-in-transaction timeout]], "failed_precondition" }, -- 25P03 (class 25)
  { "starting-up",   [[the database system is (?:starting up|shutting down|in recovery mode|not yet accepting connections)]], "unavailable" },
  { "too-many-clients", [[sorry, too many clients already]],               "resource_exhausted.connections" },
  { "reserved-slots",[[remaining connection slots are reserved]],         "resource_exhausted.connections" },
  { "role-conn-limit",[[too many connections for (?:role|database)]],     "resource_exhausted.connections" },
  { "password",      [[password authentication failed for user]],          "unauthenticated" },
  { "pg-hba",        [[no pg_hba\.conf entry for]],                        "unauthenticated" },
  { "role-missing",  [[FATAL:\s+role "[^"]*" does not exist]],           "unauthenticated" }, -- 28000 at connection time
  { "db-missing",    [[database "[^"]*" does not exist]],                 "not_found" },
  { "relation-missing", [[relation "[^"]*" does not exist]],              "not_found" },
  { "column-missing",[[column "[^"]*"(?: of relation "[^"]*")? does not exist]], "not_found" },
  { "unique",        [[duplicate key value violates unique constraint]],   "already_exists" },
  { "fk",            [[violates foreign key constraint]],                  "failed_precondition" },
  { "not-null",      [[violates not-null constraint]],                     "invalid_argument" },
  { "check",         [[violates check constraint]],                        "invalid_argument" },
  { "exclusion",     [[violates exclusion constraint]],                    "failed_precondition" },
  { "syntax",        [[syntax error at (?:or near|end of input)]],         "invalid_argument.parse" },
  { "input-syntax",  [[invalid input syntax for]],                         "invalid_argument.parse" },
  { "too-long",      [[value too long for type]],                          "out_of_range" },
  { "overflow",      [[numeric field overflow]],                           "out_of_range" },
  { "read-only-tx",  [[cannot execute \w+(?: \w+)? in a read-only transaction]], "failed_precondition" },
  { "tx-aborted",    [[current transaction is aborted, commands ignored]], "failed_precondition" },
  { "server-closed", [[server closed the connection unexpectedly]],        "unavailable.connection_reset" },
  { "no-connection", [[\bno connection to the server\b]],                "unavailable.connection_reset" }, -- libpq, 08003
  { "ssl-syscall",   [[SSL SYSCALL error: (?:EOF detected|Connection reset)]], "unavailable.connection_reset" },
  { "no-host",       [[could not translate host name]],                    "unavailable.dns" },
  { "shared-memory", [[out of shared memory]],                             "resource_exhausted.memory" },
  { "invalid-page",  [[invalid page in block]],                            "data_loss" },
  -- more server texts, by their condition (Appendix A)
  { "guc-missing",   [[unrecognized configuration parameter "]],           "not_found" },          -- 42704
  { "subquery-rows", [[more than one row returned by a subquery]],         "invalid_argument" },   -- 21000
  { "ambiguous",     [[(?:column|function|operator) reference "[^"]*" is ambiguous|is ambiguous$]], "invalid_argument" }, -- 42702
  { "no-rows",       [[query returned no rows]],                           "not_found" },          -- P0002
  { "too-many-rows", [[query returned more than one row]],                 "failed_precondition" },-- P0003
  -- wrong_object_type (42809): the statement names an object of another kind;
  -- before "not-supported", whose words the DETAIL line of 42809 repeats
  { "wrong-object",  [[ALTER action [A-Z ]+ cannot be performed on relation|"[^"]*" is not an? (?:table|view|index|sequence|type|domain|composite type|foreign table|materialized view|partitioned table|typed table)\b]], "invalid_argument" },
  { "for-update-agg",[[FOR (?:UPDATE|SHARE|NO KEY UPDATE|KEY SHARE) is not allowed with]], "unimplemented" }, -- 0A000
  { "not-supported", [[is not supported|are not supported]],               "unimplemented" },      -- 0A000
  { "seq-limit",     [[nextval: reached (?:maximum|minimum) value of sequence]], "invalid_argument" }, -- 2200H
  { "substring",     [[negative substring length not allowed]],            "invalid_argument" },   -- 22011
  { "null-not-allowed", [[dimension values cannot be null|null value not allowed]], "invalid_argument" }, -- 22004
  { "copy-format",   [[extra data after last expected column|missing data for column|unterminated CSV quoted field]], "invalid_argument" }, -- 22P04
  { "no-partition",  [[no partition of relation "[^"]*" found for row]],   "invalid_argument" },   -- 23514
  { "target-list",   [[target lists can have at most \d+ entries|tables can have at most \d+ columns]], "invalid_argument" }, -- 54011
  { "function-missing", [[function \S+\(.*\) does not exist]],            "not_found" },          -- 42883
  { "schema-missing",[[schema "[^"]*" does not exist]],                   "not_found" },          -- 3F000
  { "type-missing",  [[type "[^"]*" does not exist]],                     "not_found" },          -- 42704
  { "prepared-missing", [[prepared statement "[^"]*" does not exist]],    "not_found" },          -- 26000
  { "cursor-missing",[[cursor "[^"]*" does not exist]],                   "not_found" },          -- 34000
  { "tablespace-missing", [[tablespace "[^"]*" does not exist]],          "not_found" },          -- 42704
  { "already-exists",[[(?:relation|schema|role|database|type|function|index|sequence|view|prepared statement|cursor|extension|constraint) "[^"]*"(?: of relation "[^"]*")? already exists]], "already_exists" },
  { "permission",    [[permission denied for (?:table|relation|schema|sequence|database|function|view|language)]], "permission_denied" }, -- 42501
  { "must-be-owner", [[must be owner of]],                                 "permission_denied" },  -- 42501
  { "superuser",     [[must be superuser|permission denied to]],           "permission_denied" },  -- 42501
  { "division",      [[division by zero]],                                 "invalid_argument" },   -- 22012
  { "out-of-range",  [[(?:integer|bigint|smallint) out of range|value out of range|field value out of range|is out of range for type]], "out_of_range" }, -- 22003/22008
  { "operator-missing", [[operator does not exist: ]],                  "not_found" },          -- 42883 undefined_function
  { "datatype-mismatch", [[cannot cast type|argument of \w+ must be type]], "invalid_argument" }, -- 42883/42846/42804
  { "grouping",      [[must appear in the GROUP BY clause]],               "invalid_argument" },   -- 42803
  { "regex",         [[invalid regular expression]],                       "invalid_argument" },   -- 2201B
  { "json",          [[invalid input syntax for type json|Token "[^"]*" is invalid]], "invalid_argument" }, -- 22P02
  { "datetime",      [[date/time field value out of range]],               "out_of_range" },       -- 22008
  { "object-in-use", [[is being accessed by other users|cannot drop the currently open database]], "failed_precondition" }, -- 55006
  { "dependent",     [[cannot drop \S+ \S+ because other objects depend on it]], "failed_precondition" }, -- 2BP01
  { "active-tx",     [[cannot run inside a transaction block]],            "failed_precondition" },-- 25001
  { "no-password",   [[fe_sendauth: no password supplied]],                "unauthenticated" },    -- 28P01
  { "conn-limit",    [[too many connections for role|connection limit exceeded for non-superusers]], "resource_exhausted.connections" }, -- 53300
  { "undefined-file",[[could not open file "[^"]*" for reading: No such file]], "not_found" },  -- 58P01
  { "assert",        [[CONTEXT:\s+PL/pgSQL function .* at ASSERT|\bat ASSERT\b]], "internal" },  -- P0004
  { "limit-negative",[[LIMIT must not be negative|OFFSET must not be negative]], "invalid_argument" }, -- 2201W
  { "log-zero",      [[cannot take logarithm of (?:zero|a negative number)]], "invalid_argument" }, -- 2201E
  { "untranslatable",[[has no equivalent in encoding|invalid byte sequence for encoding]], "invalid_argument" }, -- 22P05/22021
  { "generated",     [[cannot insert (?:a non-DEFAULT value )?into column "[^"]*"]], "invalid_argument" }, -- 428C9
  { "interval",      [[invalid input syntax for type interval|invalid interval]], "invalid_argument" },
  { "escape",        [[invalid escape string|invalid escape sequence]],    "invalid_argument" },   -- 22025
  { "width-bucket",  [[count must be greater than zero]],                  "invalid_argument" },   -- 2201G
  { "regexp-flags",  [[invalid regular expression option]],                "invalid_argument" },   -- 22023
  { "reserved-name", [[is reserved|unacceptable schema name]],             "invalid_argument" },   -- 42939
  { "multiple-pk",   [[multiple primary keys for table]],                  "invalid_argument" },   -- 42P16
  { "xml",           [[unsupported XML feature|invalid XML (?:document|content)]], "invalid_argument" },
  { "json-path-key", [[JSON object does not contain key]],                 "invalid_argument" },   -- 2203A
  { "duplicate-alias", [[table name "[^"]*" specified more than once]],    "already_exists" },     -- 42712
  { "tx-block-only", [[can only be used in transaction blocks]],           "failed_precondition" },-- 25P01
  { "too-many-args", [[cannot pass more than \d+ arguments to a function]], "invalid_argument" }, -- 54023
  { "no-return",     [[control reached end of function without RETURN]],   "internal" },           -- 2F005
  { "no-parameter",  [[there is no parameter \$\d+]],                      "not_found" },          -- 42P02
  { "truncate-fk",   [[cannot truncate a table referenced in a foreign key constraint]], "unimplemented" }, -- 0A000
  { "power",         [[cannot take square root of a negative number|zero raised to a negative power is undefined|a negative number raised to a non-integer power]], "invalid_argument" }, -- 2201F
  -- object not in prerequisite state (55000/55P02), savepoints (3B001),
  -- transaction state (25001): the session's state, not the statement, is wrong
  { "not-yet-defined", [[(?:currval of sequence "[^"]*"|lastval) is not yet defined in this session]], "failed_precondition" }, -- 55000
  { "view-dml",      [[cannot (?:insert into|update|delete from) view "]],  "failed_precondition" }, -- 55000
  { "cursor-forward",[[cursor can only scan forward]],                     "failed_precondition" }, -- 55000
  { "guc-fixed",     [[parameter "[^"]*" cannot be (?:changed|set)\b]],    "failed_precondition" }, -- 55P02
  { "savepoint-missing", [[savepoint "[^"]*" does not exist]],           "failed_precondition" }, -- 3B001
  { "before-any-query", [[must be called before any query|must not be called in a subtransaction]], "failed_precondition" }, -- 25001
  -- undefined_table (42P01) said about a query's FROM list
  { "from-missing",  [[(?:missing|invalid reference to) FROM-clause entry for table]], "not_found" },
  -- program_limit_exceeded (class 54): the statement is too big for a limit,
  -- retrying it fails the same way (the last-resort "exceeds" would retry)
  { "stack-depth",   [[stack depth limit exceeded]],                       "invalid_argument" },   -- 54001
  { "size-limit",    [[exceeds the maximum allowed \(|index row size \d+ exceeds maximum|index row requires \d+ bytes, maximum size is|row is too big: size \d+|number of columns \(\d+\) exceeds limit]], "invalid_argument" }, -- 54000/54011
  { "temp-file-limit", [[temporary file size exceeds temp_file_limit]],    "resource_exhausted.quota" }, -- 53400
  -- syntax_error and its neighbours in class 42: the statement is wrong
  { "unterminated",  [[unterminated (?:quoted string|quoted identifier|dollar-quoted string|/\* comment|bit string literal|hexadecimal string literal)]], "invalid_argument.parse" }, -- 42601
  { "column-count",  [[INSERT has more (?:expressions than target columns|target columns than expressions)|each \w+ query must have the same number of columns]], "invalid_argument" }, -- 42601
  { "from-alias",    [[(?:subquery|VALUES) in FROM must have an alias]],    "invalid_argument" },   -- 42601
  { "no-destination",[[query has no destination for result data]],         "invalid_argument" },   -- 42601 (PL/pgSQL)
  { "type-mismatch", [[is of type \S+(?: [a-z]+)* but expression is of type|cannot be cast automatically to type]], "invalid_argument" }, -- 42804
  { "indeterminate", [[could not determine data type (?:of parameter|for argument)]], "invalid_argument" }, -- 42P18
  { "not-unique",    [[(?:function|operator|procedure|aggregate name|function name) \S.* is not unique|operator is not unique]], "invalid_argument" }, -- 42725
  { "agg-window",    [[(?:aggregate|window) functions are not allowed in]], "invalid_argument" },   -- 42803/42P20
  { "fk-no-unique",  [[there is no unique constraint matching given keys for referenced table]], "invalid_argument" }, -- 42830
  { "on-conflict",   [[there is no unique or exclusion constraint matching the ON CONFLICT specification]], "invalid_argument" }, -- 42P10
  { "second-time",   [[command cannot affect row a second time]],          "invalid_argument" },   -- 21000
  { "dup-column",    [[(?:column|column name|WITH query name|cycle column|search column) "[^"]*" specified more than once]], "already_exists" }, -- 42701/42712
  { "rls",           [[new row violates row-level security policy]],       "permission_denied" },  -- 42501
  { "not-implemented", [[(?:is|are) not (?:yet )?implemented|\bnot yet implemented]], "unimplemented" }, -- 0A000
  -- data exceptions (class 22)
  { "bad-literal",   [[malformed (?:array|record|range|multirange) literal]], "invalid_argument.parse" }, -- 22P02
  { "bad-guc-value", [[invalid value for parameter "|parameter "[^"]*" requires a (?:Boolean|numeric) value]], "invalid_argument" }, -- 22023
  { "domain-null",   [[domain \S+ does not allow null values]],             "invalid_argument" },   -- 23502
  { "unique-index",  [[could not create unique index "]],                   "already_exists" },     -- 23505
  { "subscript",     [[array subscript out of range|(?:timestamp|date|time|interval|OID|"char") out of range]], "out_of_range" }, -- 2202E/22008/22003
  -- more conditions of Appendix A, by the server's texts (postgres.mo)
  { "case-not-found",[[\bcase not found\b]],                              "not_found" },          -- 20000 (PL/pgSQL CASE)
  { "cursor-position", [[cursor "[^"]*" is not positioned on a row]],     "failed_precondition" },-- 24000
  { "dependent-role",[[cannot be dropped because some objects depend on it]], "failed_precondition" }, -- 2BP01
  { "tx-termination",[[invalid transaction termination]],                  "failed_precondition" },-- 2D000
  { "triggered-change", [[was already modified by an operation triggered by the current command]], "failed_precondition" }, -- 27000
  { "login-not-permitted", [[role "[^"]*" is not permitted to log in]],   "unauthenticated" },    -- 28000
  { "role-member",   [[must be member of role "|must have admin option on role "|must have CREATEROLE privilege]], "permission_denied" }, -- 42501
  { "enum-unsafe",   [[unsafe use of new value "[^"]*" of enum type]],    "failed_precondition" },-- 55P04
  { "snapshot-old",  [[\bsnapshot too old\b]],                            "failed_precondition" },-- 72000
  { "bit-length",    [[bit string length \d+ does not match type bit]],   "invalid_argument" },   -- 22026
  { "time-zone",     [[time zone "[^"]*" not recognized]],                 "invalid_argument" },   -- 22023
  { "window-args",   [[argument of (?:ntile|nth_value) must be greater than zero|frame (?:starting|ending) offset must not be (?:negative|null)]], "invalid_argument" }, -- 22014/22016/22013
  { "precision",     [[(?:precision|scale) -?\d+ must be between|must be between \d+ and \d+]], "invalid_argument" }, -- 22023
  { "tablesample",   [[sample percentage must be between|TABLESAMPLE REPEATABLE parameter cannot be null]], "invalid_argument" }, -- 2202H/2202G
  { "jsonpath",      [[\bjsonpath (?:array accessor|array subscript|member accessor|wildcard (?:array|member) accessor|item method)]], "invalid_argument" }, -- 22033/2203A/...
  { "xml-kind",      [[not an XML document|invalid XML (?:comment|processing instruction)]], "invalid_argument" }, -- 2200L/2200S/2200T
  { "binary-format", [[incorrect binary data format|insufficient data left in message]], "invalid_argument" }, -- 22P03/08P01
  { "name-syntax",   [[invalid name syntax|improper qualified name \(too many dotted names\)]], "invalid_argument" }, -- 42602/42601
  { "collation",     [[collation mismatch between (?:explicit|implicit) collations|could not determine which collation to use]], "invalid_argument" }, -- 42P21/42P22
  { "select-list",   [[ORDER BY expressions must appear in (?:select|argument) list|position \d+ is not in select list]], "invalid_argument" }, -- 42P10
  { "types-match",   [[types \S+(?: [a-z]+)* and \S+(?: [a-z]+)* cannot be matched]], "invalid_argument" }, -- 42804
  { "table-ambiguous", [[table reference "[^"]*" is ambiguous]],          "invalid_argument" },   -- 42P09
  { "default-only",  [[column "[^"]*" can only be updated to DEFAULT]],     "invalid_argument" },   -- 428C9
  { "function-def",  [[return type mismatch in function declared to return|cannot change return type of existing function]], "invalid_argument" }, -- 42P13
  { "immutable",     [[functions in (?:index expression|index predicate|partition key expression) must be marked IMMUTABLE]], "invalid_argument" }, -- 42P17
  { "recursion",     [[recursive reference to query "[^"]*" must not appear]], "invalid_argument" }, -- 42P19
  { "tz-displacement", [[time zone displacement out of range]],           "invalid_argument" }, -- 22009 invalid_time_zone_displacement_value
  { "bit-sizes",     [[cannot (?:AND|OR|XOR) bit strings of different sizes]], "invalid_argument" }, -- 22026 string_data_length_mismatch
  { "array-dims",    [[multidimensional arrays must have array expressions with matching dimensions]], "out_of_range" }, -- 2202E array_subscript_error
  { "prepared-params", [[wrong number of parameters for prepared statement]], "invalid_argument" }, -- 08P01/42601: the statement as sent is wrong
  { "key-twice",     [[column "[^"]*" appears twice in (?:primary key|unique) constraint]], "already_exists" }, -- 42701 duplicate_column
}
-- Each text stands for one condition: it decides events without a code
-- (code = absent); an event whose code is missing from the table goes to its
-- class instead of to the text of another code.
for _, t in ipairs(TEXTS) do
  rule("pg-text-" .. t[1]) {
    when = { code = absent, message = re("(?i)" .. t[2]) }, category = t[3], priority = P_SPECIFIC,
  }
end
