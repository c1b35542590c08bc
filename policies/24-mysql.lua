-- MySQL and MariaDB error numbers and texts.
-- Authority: MySQL Server Error Message Reference (mysqld_error.h) and
-- Client Error Message Reference (errmsg.h); MariaDB shares these numbers.
-- The server marks 1205 and 1213 "try restarting transaction".

local P_CODE, P_EMBEDDED, P_SPECIFIC = 200, 150, 100
local MY = { "mysql", "mariadb" }

-- number = { category, message pattern (server text) or false }
local ERR = {
  [1020] = { "aborted", [[Record has changed since last read]] },
  [1021] = { "resource_exhausted.storage_full", [[Disk full \(]] },
  [1037] = { "resource_exhausted.memory", false },
  [1038] = { "resource_exhausted.memory", [[Out of sort memory]] },
  [1040] = { "resource_exhausted.connections", [[\bToo many connections]] },
  [1041] = { "resource_exhausted.memory", false },
  [1044] = { "permission_denied", [[Access denied for user '[^']*'@'[^']*' to database]] },
  [1045] = { "unauthenticated", [[Access denied for user '[^']*'@'[^']*' \(using password]] },
  [1046] = { "invalid_argument", [[No database selected]] },
  [1047] = { "unimplemented", [[Unknown command]] },
  [1048] = { "invalid_argument", [[Column '[^']*' cannot be null]] },
  [1049] = { "not_found", [[Unknown database ']] },
  [1050] = { "already_exists", [[Table '[^']*' already exists]] },
  [1051] = { "not_found", [[Unknown table ']] },
  [1053] = { "unavailable", [[Server shutdown in progress]] },
  [1054] = { "not_found", [[Unknown column '[^']*' in ']] },
  [1062] = { "already_exists", [[Duplicate entry '.*' for key]] },
  [1064] = { "invalid_argument.parse", [[You have an error in your SQL syntax]] },
  [1105] = { "unknown", false },
  [1114] = { "resource_exhausted.storage_full", [[The table '[^']*' is full]] },
  [1129] = { "permission_denied", [[is blocked because of many connection errors]] },
  [1130] = { "permission_denied", [[is not allowed to connect to this (?:MySQL|MariaDB) server]] },
  [1135] = { "resource_exhausted.memory", [[Can't create a new thread]] },
  [1142] = { "permission_denied", [[command denied to user]] },
  [1143] = { "permission_denied", false },
  [1146] = { "not_found", [[Table '[^']*' doesn't exist]] },
  [1153] = { "invalid_argument", [[Got a packet bigger than 'max_allowed_packet']] },
  [1158] = { "unavailable.connection_reset", false },
  [1159] = { "deadline_exceeded", false },
  [1160] = { "unavailable.connection_reset", false },
  [1161] = { "deadline_exceeded", false },
  [1180] = { "aborted", false },
  [1203] = { "resource_exhausted.connections", [[already has more than 'max_user_connections']] },
  [1205] = { "aborted.locked", [[Lock wait timeout exceeded]] },
  [1206] = { "resource_exhausted.memory", [[The total number of locks exceeds the lock table size]] },
  [1213] = { "aborted.deadlock", [[Deadlock found when trying to get lock]] },
  [1216] = { "failed_precondition", false },
  [1217] = { "failed_precondition", false },
  [1226] = { "resource_exhausted.quota", [[has exceeded the '[^']*' resource]] },
  [1227] = { "permission_denied", [[Access denied; you need \(at least one of\) the]] },
  [1235] = { "unimplemented", [[doesn't yet support]] },
  [1264] = { "out_of_range", [[Out of range value for column]] },
  [1290] = { "failed_precondition", [[is running with the --read-only option]] },
  [1292] = { "invalid_argument", [[Incorrect \w+ value: ']] },
  [1317] = { "cancelled", [[Query execution was interrupted(?!, maximum)]] },
  [1364] = { "invalid_argument", [[Field '[^']*' doesn't have a default value]] },
  [1366] = { "invalid_argument", [[Incorrect \w+ value: '.*' for column]] },
  [1406] = { "out_of_range", [[Data too long for column]] },
  [1451] = { "failed_precondition", [[Cannot delete or update a parent row: a foreign key constraint fails]] },
  [1452] = { "failed_precondition", [[Cannot add or update a child row: a foreign key constraint fails]] },
  [1792] = { "failed_precondition", [[Cannot execute statement in a READ ONLY transaction]] },
  [1836] = { "failed_precondition", [[Running in read-only mode]] },
  [3024] = { "deadline_exceeded", [[maximum statement execution time exceeded]] },
  [3572] = { "aborted.locked", [[NOWAIT is set]] },
  [4025] = { "invalid_argument", [[CONSTRAINT `[^`]*` failed for]] },
  -- client errors (errmsg.h)
  [2002] = { "unavailable.connection_refused", [[Can't connect to local (?:MySQL|MariaDB) server through socket]] },
  [2003] = { "unavailable", [[Can't connect to (?:MySQL|MariaDB) server on]] },
  [2005] = { "unavailable.dns", [[Unknown (?:MySQL|MariaDB) server host]] },
  [2006] = { "unavailable.connection_reset", [[(?:MySQL|MariaDB) server has gone away]] },
  [2013] = { "unavailable.connection_reset", [[Lost connection to (?:MySQL|MariaDB) server]] },
  [2026] = { "unavailable.tls", false },
  [2055] = { "unavailable.connection_reset", false },
}

local nums = {}
for n in pairs(ERR) do nums[#nums + 1] = n end
table.sort(nums)
for _, n in ipairs(nums) do
  local c, text = ERR[n][1], ERR[n][2]
  rule("mysql-" .. n) {
    when = { domain = MY, code = n }, category = c, priority = P_CODE,
  }
  -- mysql CLI "ERROR 1213 (40001): ...", Go driver "Error 1213 (40001): ...",
  -- Connector/Python "1213 (40001): ..." (the -sqlstate rule), PyMySQL
  -- "(1213, 'Deadlock ...')".  Each pattern is one literal for the prefilter.
  rule("mysql-" .. n .. "-cli") {   -- older Go driver: "Error 1213: ..."
    when = { message = re("(?i)error " .. n .. ": ") }, category = c, priority = P_EMBEDDED,
  }
  rule("mysql-" .. n .. "-sqlstate") {
    when = { message = re("\\b" .. n .. " \\([0-9A-Z]{5}\\)") }, category = c, priority = P_EMBEDDED,
  }
  rule("mysql-" .. n .. "-pymysql") {
    when = { message = re("\\(" .. n .. ", [\"']") }, category = c, priority = P_EMBEDDED,
  }
  if text then
    rule("mysql-text-" .. n) {
      when = { message = re(text) }, category = c, priority = P_SPECIFIC,
    }
  end
end
