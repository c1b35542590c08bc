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
  [1007] = { "already_exists", [[Can't create database '[^']*'; database exists]] },
  [1008] = { "not_found", [[Can't drop database '[^']*'; database doesn't exist]] },
  [1060] = { "already_exists", [[Duplicate column name ']] },
  [1061] = { "already_exists", [[Duplicate key name ']] },
  [1065] = { "invalid_argument", [[Query was empty]] },
  [1067] = { "invalid_argument", [[Invalid default value for ']] },
  [1068] = { "invalid_argument", [[Multiple primary key defined]] },
  [1071] = { "invalid_argument", [[Specified key was too long]] },
  [1074] = { "invalid_argument", [[Column length too big for column]] },
  [1091] = { "not_found", [[Can't DROP (?:INDEX |COLUMN |CONSTRAINT |FOREIGN KEY )?`[^`]*`; check that it exists]] },
  [1093] = { "invalid_argument", [[Table '[^']*' is specified twice]] },
  [1094] = { "not_found", [[Unknown thread id: ]] },
  [1095] = { "permission_denied", [[You are not owner of thread]] },
  [1100] = { "failed_precondition", [[was not locked with LOCK TABLES]] },
  [1101] = { "invalid_argument", [[can't have a default value]] },
  [1106] = { "not_found", [[Unknown procedure ']] },
  [1109] = { "not_found", [[Unknown table '[^']*' in]] },
  [1111] = { "invalid_argument", [[Invalid use of group function]] },
  [1113] = { "invalid_argument", [[A table must have at least 1 column]] },
  [1115] = { "invalid_argument", [[Unknown character set: ']] },
  [1117] = { "invalid_argument", [[Too many columns]] },
  [1118] = { "invalid_argument", [[Row size too large]] },
  [1133] = { "not_found", [[Can't find any matching row in the user table]] },
  [1136] = { "invalid_argument", [[Column count doesn't match value count]] },
  [1139] = { "invalid_argument", [[Got error '[^']*' from regexp|Regex error ']] },
  [1140] = { "invalid_argument", [[Mixing of GROUP columns]] },
  [1141] = { "not_found", [[There is no such grant defined]] },
  [1149] = { "invalid_argument.parse", false },
  [1166] = { "invalid_argument", [[Incorrect column name ']] },
  [1172] = { "failed_precondition", [[Result consisted of more than one row]] },
  [1175] = { "failed_precondition", [[You are using safe update mode]] },
  [1176] = { "not_found", [[Key '[^']*' doesn't exist in table]] },
  [1192] = { "failed_precondition", [[Can't execute the given command because you have active locked tables]] },
  [1193] = { "not_found", [[Unknown system variable ']] },
  [1222] = { "invalid_argument", [[The used SELECT statements have a different number of columns]] },
  [1231] = { "invalid_argument", [[Variable '[^']*' can't be set to the value of]] },
  [1232] = { "invalid_argument", [[Incorrect argument type to variable]] },
  [1241] = { "invalid_argument", [[Operand should contain \d+ column]] },
  [1242] = { "invalid_argument", [[Subquery returns more than 1 row]] },
  [1248] = { "invalid_argument", [[Every derived table must have its own alias]] },
  [1265] = { "invalid_argument", [[Data truncated for column]] },
  [1273] = { "invalid_argument", [[Unknown collation: ']] },
  [1286] = { "unimplemented", [[Unknown storage engine ']] },
  [1298] = { "invalid_argument", [[Unknown or incorrect time zone: ']] },
  [1304] = { "already_exists", [[(?:PROCEDURE|FUNCTION) \S+ already exists]] },
  [1305] = { "not_found", [[(?:PROCEDURE|FUNCTION) \S+ does not exist]] },
  [1318] = { "invalid_argument", [[Incorrect number of arguments for (?:PROCEDURE|FUNCTION)]] },
  [1327] = { "not_found", [[Undeclared variable: ]] },
  [1329] = { "not_found", [[No data - zero rows fetched]] },
  [1347] = { "invalid_argument", [['[^']*' is not (?:of type )?(?:VIEW|BASE TABLE)]] },
  [1357] = { "failed_precondition", false },
  [1359] = { "already_exists", [[Trigger already exists|Trigger '[^']*' already exists]] },
  [1360] = { "not_found", [[Trigger does not exist]] },
  [1365] = { "invalid_argument", [[Division by 0]] },
  [1367] = { "invalid_argument", [[Illegal \w+ '.*' value found during parsing]] },
  [1370] = { "permission_denied", [[execute command denied to user]] },
  [1396] = { "failed_precondition", [[Operation (?:CREATE|DROP|ALTER|RENAME) USER failed for]] },
  [1397] = { "not_found", [[XAER_NOTA: Unknown XID]] },
  [1399] = { "failed_precondition", [[XAER_RMFAIL]] },
  [1400] = { "failed_precondition", [[XAER_OUTSIDE]] },
  [1410] = { "permission_denied", [[You are not allowed to create a user with GRANT]] },
  [1411] = { "invalid_argument", [[Incorrect \w+ value: '.*' for function]] },
  [1415] = { "invalid_argument", [[Not allowed to return a result set from a]] },
  [1449] = { "not_found", [[The user specified as a definer \('[^']*'@'[^']*'\) does not exist]] },
  [1525] = { "invalid_argument", [[Incorrect \w+ value: ']] },
  [1582] = { "invalid_argument", [[Incorrect parameter count in the call to native function]] },
  [1583] = { "invalid_argument", [[Incorrect parameters in the call to native function]] },
  [1630] = { "not_found", [[FUNCTION \S+ does not exist\. Check the 'Function Name Parsing and Resolution']] },
  [1644] = { "unknown", false },
  [1690] = { "out_of_range", [[(?:BIGINT|DOUBLE|DECIMAL)(?: UNSIGNED)? value is out of range in]] },
  [1698] = { "unauthenticated", [[Access denied for user '[^']*'@'[^']*'$]] },
  [1969] = { "deadline_exceeded", [[Query execution was interrupted \(max_statement_time exceeded\)]] },
  [3819] = { "invalid_argument", [[Check constraint '[^']*' is violated]] },
  [4031] = { "unavailable.connection_reset", [[The client was disconnected by the server because of inactivity]] },
  [4078] = { "invalid_argument", [[Illegal parameter data types? \S+ and \S+ for operation]] },
  [1044] = { "permission_denied", [[Access denied for user '[^']*'@'[^']*' to database]] },
  [1045] = { "unauthenticated", [[Access denied for user '[^']*'@'[^']*' \(using password]] },
  [1046] = { "failed_precondition", [[No database selected]] },
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
  rule("mysql-" .. n .. "-pdo") {   -- PHP PDO: "SQLSTATE[42S02]: Base table or view not found: 1146 ..."
    when = { message = re("SQLSTATE\\[[0-9A-Z]{5}\\]: [^:\n]{1,60}: " .. n .. " ") }, category = c, priority = P_EMBEDDED,
  }
  if text then
    -- A server text stands for its own error number: it decides only when
    -- the event carries no code.  An event whose code is present but not in
    -- this table is not decided by the text of another number (MariaDB 1969
    -- "max_statement_time exceeded" must not become 1317 "interrupted").
    rule("mysql-text-" .. n) {
      when = { message = re(text), code = absent }, category = c, priority = P_SPECIFIC,
    }
  end
end
