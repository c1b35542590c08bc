-- MySQL and MariaDB error numbers and texts.
-- Authority: MySQL Server Error Message Reference (mysqld_error.h) and
-- Client Error Message Reference (errmsg.h); MariaDB shares these numbers.
-- The server marks 1205 and 1213 "try restarting transaction".

local P_CODE, P_EMBEDDED, P_SPECIFIC = 200, 150, 100
-- A server text is the error number in words: it outranks a client
-- library's exception class (P_FIRST 120 in 40/41: a client's TimeoutError
-- around 1205 "Lock wait timeout exceeded"), as a number in the text does.
local P_SERVER_TEXT = 130
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
  [1357] = { "failed_precondition", [[Can't drop or alter a [^\n]{0,200}? from within another stored routine]] },
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
  [1158] = { "unavailable.connection_reset", [[Got an error reading communication packets]] },
  [1159] = { "deadline_exceeded", [[Got timeout reading communication packets]] },
  [1160] = { "unavailable.connection_reset", [[Got an error writing communication packets]] },
  [1161] = { "deadline_exceeded", [[Got timeout writing communication packets]] },
  [1180] = { "aborted", [[Got error [^\n]{0,200}? during COMMIT]] },
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
  -- 1317's text is a prefix of MariaDB 1969's and MySQL 3024's: it must not
  -- decide them (the longer text names the cause, a statement time limit)
  [1317] = { "cancelled", [[Query execution was interrupted(?!, maximum| \(max_statement_time exceeded\))]] },
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
  -- More server errors, by their meaning in the MariaDB error reference; the
  -- texts are the English server messages (errmsg.sys of MariaDB 10.11) with
  -- each format directive widened to a bounded wildcard.
  [1022] = { "already_exists", [[Can't write; duplicate key in table ']] },  -- Can't write; duplicate key in table '%-.192s'
  [1030] = { "internal", [[Got error [^\n]{0,200}? from storage engine]] },  -- Got error %M from storage engine %s
  [1032] = { "not_found", [[Can't find record in ']] },  -- Can't find record in '%-.192s'
  [1036] = { "permission_denied.read_only", [[Table '[^\n]{0,200}?' is read only]] },  -- Table '%-.192s' is read only
  [1052] = { "invalid_argument", [[Column '[^\n]{0,200}?' in [^\n]{0,200}? is ambiguous]] },  -- Column '%-.192s' in %-.192s is ambiguous
  [1066] = { "invalid_argument", [[Not unique table/alias: ']] },  -- Not unique table/alias: '%-.192s'
  [1072] = { "not_found", [[Key column '[^\n]{0,200}?' doesn't exist in table]] },  -- Key column '%-.192s' doesn't exist in table
  [1075] = { "invalid_argument", [[Incorrect table definition; there can be only one auto column and it must be defined as a key]] },  -- Incorrect table definition; there can be only one auto colum
  [1102] = { "invalid_argument", [[Incorrect database name ']] },  -- Incorrect database name '%-.100T'
  [1103] = { "invalid_argument", [[Incorrect table name ']] },  -- Incorrect table name '%-.100s'
  [1110] = { "invalid_argument", [[Column '[^\n]{0,200}?' specified twice]] },  -- Column '%-.192s' specified twice
  [1120] = { "invalid_argument", [[Cross dependency found in OUTER JOIN; examine your ON conditions]] },  -- Cross dependency found in OUTER JOIN; examine your ON condit
  [1147] = { "not_found", [[There is no such grant defined for user '[^\n]{0,200}?' on host '[^\n]{0,200}?' on table ']] },  -- There is no such grant defined for user '%-.48s' on host '%-
  [1152] = { "unavailable.connection_reset", [[Aborted connection [^\n]{0,200}? to db: '[^\n]{0,200}?' user: '[^\n]{0,200}?' \([^\n]{0,200}?\)]] },  -- Aborted connection %ld to db: '%-.192s' user: '%-.48s' (%-.6
  [1157] = { "unavailable", [[Couldn't uncompress communication packet]] },  -- Couldn't uncompress communication packet
  [1178] = { "unimplemented", [[The storage engine for the table doesn't support]] },  -- The storage engine for the table doesn't support %s
  [1179] = { "failed_precondition", [[You are not allowed to execute this command in a transaction]] },  -- You are not allowed to execute this command in a transaction
  [1194] = { "data_loss", [[Table '[^\n]{0,200}?' is marked as crashed and should be repaired]] },  -- Table '%-.192s' is marked as crashed and should be repaired
  [1195] = { "data_loss", [[Table '[^\n]{0,200}?' is marked as crashed and last \(automatic\?\) repair failed]] },  -- Table '%-.192s' is marked as crashed and last (automatic?) r
  [1215] = { "invalid_argument", [[Cannot add foreign key constraint for `]] },  -- Cannot add foreign key constraint for `%s`
  [1223] = { "failed_precondition", [[Can't execute the query because you have a conflicting read lock]] },  -- Can't execute the query because you have a conflicting read 
  [1228] = { "invalid_argument", [[Variable '[^\n]{0,200}?' is a SESSION variable and can't be used with SET GLOBAL]] },  -- Variable '%-.64s' is a SESSION variable and can't be used wi
  [1229] = { "invalid_argument", [[Variable '[^\n]{0,200}?' is a GLOBAL variable and should be set with SET GLOBAL]] },  -- Variable '%-.64s' is a GLOBAL variable and should be set wit
  [1238] = { "invalid_argument", false },  -- Variable '%-.192s' is a %s variable
  [1243] = { "not_found", [[Unknown prepared statement handler \([^\n]{0,200}?\) given to]] },  -- Unknown prepared statement handler (%.*s) given to %s
  [1253] = { "invalid_argument", [[COLLATION '[^\n]{0,200}?' is not valid for CHARACTER SET ']] },  -- COLLATION '%s' is not valid for CHARACTER SET '%s'
  [1267] = { "invalid_argument", [[Illegal mix of collations \([^\n]{0,200}?,[^\n]{0,200}?\) and \([^\n]{0,200}?,[^\n]{0,200}?\) for operation ']] },  -- Illegal mix of collations (%s,%s) and (%s,%s) for operation 
  [1288] = { "invalid_argument", [[The target table [^\n]{0,200}? of the [^\n]{0,200}? is not updatable]] },  -- The target table %-.100s of the %s is not updatable
  [1295] = { "unimplemented", [[This command is not supported in the prepared statement protocol yet]] },  -- This command is not supported in the prepared statement prot
  [1299] = { "invalid_argument", [[Invalid TIMESTAMP value in column '[^\n]{0,200}?' at row]] },  -- Invalid TIMESTAMP value in column '%s' at row %lu
  [1300] = { "invalid_argument", [[Invalid [^\n]{0,200}? character string: ']] },  -- Invalid %s character string: '%.64T'
  [1319] = { "not_found", [[Undefined CONDITION:]] },  -- Undefined CONDITION: %s
  [1320] = { "internal", [[No RETURN found in FUNCTION]] },  -- No RETURN found in FUNCTION %s
  [1321] = { "internal", [[FUNCTION [^\n]{0,200}? ended without RETURN]] },  -- FUNCTION %s ended without RETURN
  [1324] = { "not_found", [[Undefined CURSOR:]] },  -- Undefined CURSOR: %s
  [1325] = { "failed_precondition", [[Cursor is already open]] },  -- Cursor is already open
  [1326] = { "failed_precondition", [[Cursor is not open]] },  -- Cursor is not open
  [1339] = { "not_found", [[Case not found for CASE statement]] },  -- Case not found for CASE statement
  [1348] = { "invalid_argument", [[Column '[^\n]{0,200}?' is not updatable]] },  -- Column '%-.192s' is not updatable
  [1353] = { "invalid_argument", [[View's SELECT and view's field list have different column counts]] },  -- View's SELECT and view's field list have different column co
  [1356] = { "invalid_argument", [[View '[^\n]{0,200}?\.[^\n]{0,200}?' references invalid table\(s\) or column\(s\) or function\(s\) or definer/invoker of view lack rights to use them]] },  -- View '%-.192s.%-.192s' references invalid table(s) or column
  [1368] = { "invalid_argument", [[CHECK OPTION on non-updatable view [^\n]{0,200}?\.]] },  -- CHECK OPTION on non-updatable view %`-.192s.%`-.192s
  [1369] = { "invalid_argument", [[CHECK OPTION failed [^\n]{0,200}?\.]] },  -- CHECK OPTION failed %`-.192s.%`-.192s
  [1381] = { "failed_precondition", [[You are not using binary logging]] },  -- You are not using binary logging
  [1412] = { "aborted", [[Table definition has changed, please retry transaction]] },  -- Table definition has changed, please retry transaction
  [1420] = { "failed_precondition", [[You can't execute a prepared statement which has an open cursor associated with it\. Reset the statement to re-execute it]] },  -- You can't execute a prepared statement which has an open cur
  [1436] = { "invalid_argument", [[Thread stack overrun:  [^\n]{0,200}? bytes used of a [^\n]{0,200}? byte stack, and [^\n]{0,200}? bytes needed\. Consider increasing the thread_stack system variable\.]] },  -- Thread stack overrun:  %ld bytes used of a %ld byte stack, a
  [1439] = { "out_of_range", [[Display width out of range for '[^\n]{0,200}?' \(max = [^\n]{0,200}?\)]] },  -- Display width out of range for '%-.192s' (max = %lu)
  [1441] = { "out_of_range", [[Datetime function: [^\n]{0,200}? field overflow]] },  -- Datetime function: %-.32s field overflow
  [1442] = { "invalid_argument", [[Can't update table '[^\n]{0,200}?' in stored function/trigger because it is already used by statement which invoked this stored function/trigger]] },  -- Can't update table '%-.192s' in stored function/trigger beca
  [1456] = { "invalid_argument", [[Recursive limit [^\n]{0,200}? \(as set by the max_sp_recursion_depth variable\) was exceeded for routine]] },  -- Recursive limit %d (as set by the max_sp_recursion_depth var
  [1461] = { "resource_exhausted", [[Can't create more than max_prepared_stmt_count statements \(current value: [^\n]{0,200}?\)]] },  -- Can't create more than max_prepared_stmt_count statements (c
  [1471] = { "invalid_argument", [[The target table [^\n]{0,200}? of the [^\n]{0,200}? is not insertable-into]] },  -- The target table %-.100s of the %s is not insertable-into
  [1568] = { "failed_precondition", [[Transaction characteristics can't be changed while a transaction is in progress]] },  -- Transaction characteristics can't be changed while a transac
  [1701] = { "failed_precondition", false },  -- Cannot truncate a table referenced in a foreign key constraint (the PostgreSQL text rule decides the text)
  [1712] = { "data_loss", [[Index [^\n]{0,200}? is corrupted]] },  -- Index %s is corrupted
  [1828] = { "failed_precondition", [[Cannot drop column '[^\n]{0,200}?': needed in a foreign key constraint ']] },  -- Cannot drop column '%-.192s': needed in a foreign key constr
  [1832] = { "failed_precondition", [[Cannot change column '[^\n]{0,200}?': used in a foreign key constraint ']] },  -- Cannot change column '%-.192s': used in a foreign key constr
  [1874] = { "failed_precondition", [[InnoDB is in read only mode]] },  -- InnoDB is in read only mode
  [1927] = { "unavailable.connection_reset", [[Connection was killed]] },  -- Connection was killed
  -- client errors (errmsg.h)
  [2002] = { "unavailable.connection_refused", [[Can't connect to local (?:MySQL|MariaDB) server through socket]] },
  [2003] = { "unavailable", [[Can't connect to (?:MySQL|MariaDB) server on]] },
  [2005] = { "unavailable.dns", [[Unknown (?:MySQL|MariaDB) server host]] },
  [2006] = { "unavailable.connection_reset", [[(?:MySQL|MariaDB) server has gone away]] },
  [2013] = { "unavailable.connection_reset", [[Lost connection to (?:MySQL|MariaDB) server]] },
  [2014] = { "failed_precondition", [[Commands out of sync; you can't run this command now|Cannot execute queries while other unbuffered queries are active]] }, -- CR_COMMANDS_OUT_OF_SYNC (PDO's text for it)
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
      when = { message = re(text), code = absent }, category = c, priority = P_SERVER_TEXT,
    }
  end
end
