-- Message patterns: the exception and error styles of Python, Java, Go,
-- Node.js, .NET and Ruby, and the generic phrases they share.  These rules
-- classify events that arrive with no domain and no code (a log line, an
-- exception string, a CLI's stderr).
--
-- Each pattern carries a literal (an exception class, a fixed phrase) so the
-- engine's Aho-Corasick prefilter can skip it for unrelated messages.
-- Authorities: each runtime's documented exception hierarchy (Python
-- "Built-in Exceptions", java.lang/java.net/java.nio.file, Go's net,
-- context and os packages, Node.js "Errors" and "Common system errors",
-- .NET System namespace, Ruby core), mapped to the canonical codes by their
-- meaning as defined in grpc/grpc doc/statuscodes.md.

local P_FIRST, P_SPECIFIC, P_GENERIC, P_WRAPPER, P_WEAK = 120, 100, 50, 45, 30
-- P_WRAPPER: exception classes that wrap or generalise a cause
-- (java.sql.SQLTransientConnectionException carrying a server text, undici's
-- "fetch failed", SQLSyntaxErrorException for any 42xxx): text that names the
-- root cause (P_SPECIFIC, P_GENERIC) outranks them; they only decide when
-- nothing more specific is in the message.  See docs/taxonomy.md.

-- Weak words are looked for only on lines that are not stack frames or
-- quoted source: Python prints the code of each frame indented by four
-- spaces ("    urlopen(url, timeout=...)"), Java/Go/Ruby frames start with a
-- tab, Node's with four spaces.  A word in the program's code says nothing
-- about the error (docs/taxonomy.md, "weak words need context").
local function outside_frames(pattern)
  return "(?m)^(?![ ]{4}|\t)[^\n]*?(?:" .. pattern .. ")"
end

local n = 0
local function R(prio, pattern, c)
  n = n + 1
  if prio == P_WEAK then
    rule(string.format("msg-%03d-%s", n, c)) {
      when = { message = re(outside_frames(pattern)) }, category = c, priority = prio,
    }
    return
  end
  -- A bare list of names, \b(?:A|B|C)\b, becomes one rule per name so that
  -- each keeps its own literal for the prefilter.
  local list = pattern:match("^\\b%(%?:([%w_|.\\]+)%)\\b$")
  if list then
    local k = 0
    for word in list:gmatch("[^|]+") do
      k = k + 1
      rule(string.format("msg-%03d%s-%s", n, string.char(96 + k), c)) {
        when = { message = re("\\b" .. word .. "\\b") }, category = c, priority = prio,
      }
    end
    return
  end
  rule(string.format("msg-%03d-%s", n, c)) {
    when = { message = re(pattern) }, category = c, priority = prio,
  }
end
local function C(codes, c)   -- runtime codes carried in `code` by any domain
  n = n + 1
  rule(string.format("code-%03d-%s", n, c)) {
    when = { code = codes }, category = c, priority = 200,
  }
end

---------------------------------------------------------------- first
-- A cancellation caused by a timeout is a timeout.
R(P_FIRST, [[Client\.Timeout exceeded]],                "deadline_exceeded")   -- Go net/http
R(P_FIRST, [[HttpClient\.Timeout]],                     "deadline_exceeded")   -- .NET
R(P_FIRST, [[(?i)aborted due to timeout]],              "deadline_exceeded")   -- WHATWG fetch
R(P_FIRST, [[\bTimeoutError\b]],                        "deadline_exceeded")   -- Python, JS
R(P_WRAPPER, [[(?i)\bfetch failed\b]],                  "unavailable")         -- undici (cause follows)
R(P_FIRST, [[Connection is not available, request timed out]], "resource_exhausted.connections") -- HikariCP

---------------------------------------------------------------- Node.js
C({ "ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL" },           "unavailable.dns")
C({ "ESOCKETTIMEDOUT", "ERR_SOCKET_CONNECTION_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT",
    "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIME" },    "deadline_exceeded")
C({ "UND_ERR_SOCKET", "ERR_STREAM_PREMATURE_CLOSE", "ECONNABORTED" }, "unavailable.connection_reset")
C({ "ERR_INVALID_ARG_TYPE", "ERR_INVALID_ARG_VALUE", "ERR_MISSING_ARGS" }, "invalid_argument")
C({ "ERR_OUT_OF_RANGE" },                                             "out_of_range")
C({ "ERR_MODULE_NOT_FOUND", "MODULE_NOT_FOUND" },                     "failed_precondition")
C({ "ABORT_ERR" },                                                    "cancelled")
C({ "CERT_HAS_EXPIRED", "DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "ERR_TLS_CERT_ALTNAME_INVALID" },                                "unavailable.tls")
C({ "ERR_METHOD_NOT_IMPLEMENTED" },                                   "unimplemented")

R(P_SPECIFIC, [[\bENOTFOUND\b]],                       "unavailable.dns")
R(P_SPECIFIC, [[\bEAI_AGAIN\b]],                       "unavailable.dns")
R(P_SPECIFIC, [[\bESOCKETTIMEDOUT\b]],                 "deadline_exceeded")
R(P_SPECIFIC, [[\bUND_ERR_(?:CONNECT|HEADERS|BODY)_TIMEOUT\b]], "deadline_exceeded")
R(P_SPECIFIC, [[\bUND_ERR_SOCKET\b]],                  "unavailable.connection_reset")
R(P_SPECIFIC, [[(?i)socket hang up]],                  "unavailable.connection_reset")
R(P_SPECIFIC, [[ERR_STREAM_PREMATURE_CLOSE]],          "unavailable.connection_reset")
R(P_SPECIFIC, [[ERR_INVALID_ARG_(?:TYPE|VALUE)]],      "invalid_argument")
R(P_SPECIFIC, [[ERR_OUT_OF_RANGE]],                    "out_of_range")
-- A Node.js error code in brackets ("TypeError [ERR_INVALID_CHAR]: ...") is a
-- code printed inside the text (tier 140-170): it outranks the class name,
-- which for argument validation is a TypeError or RangeError.
R(150, [==[\[ERR_(?:INVALID_ARG_TYPE|INVALID_ARG_VALUE|INVALID_URL|INVALID_URL_SCHEME|INVALID_CHAR|INVALID_HTTP_TOKEN|INVALID_FILE_URL_PATH|INVALID_FILE_URL_HOST|UNKNOWN_ENCODING|UNKNOWN_SIGNAL|MISSING_ARGS|MISSING_OPTION|PARSE_ARGS_\w+)\]]==], "invalid_argument")
R(150, [==[\[ERR_(?:OUT_OF_RANGE|BUFFER_OUT_OF_BOUNDS)\]]==], "out_of_range")
-- The same codes when Node prints them as the error's property
-- ("TypeError: Invalid URL ... {\n  code: 'ERR_INVALID_URL'"), and more of
-- the documented codes (nodejs.org/api/errors.html "Node.js error codes";
-- undici's UND_ERR_* in a fetch's [cause]), by meaning.
local function NODE(codes, c)
  R(150, "(?:\\[|\\bcode: ')(?:UND_)?ERR_(?:" .. codes .. ")(?:\\]|')", c)
end
NODE([[INVALID_ARG_TYPE|INVALID_ARG_VALUE|INVALID_URL|INVALID_URL_SCHEME|INVALID_CHAR|INVALID_HTTP_TOKEN|INVALID_FILE_URL_PATH|INVALID_FILE_URL_HOST|UNKNOWN_ENCODING|UNKNOWN_SIGNAL|MISSING_ARGS|MISSING_OPTION|PARSE_ARGS_\w+|CRYPTO_INVALID_(?:IV|KEYLEN|KEY_OBJECT_TYPE|DIGEST|AUTH_TAG|CURVE|JWK|KEYPAIR)|SOCKET_BAD_PORT|INVALID_IP_ADDRESS|INVALID_ADDRESS_FAMILY|INVALID_PROTOCOL|UNESCAPED_CHARACTERS|INVALID_CURSOR_POS|INVALID_FD|INVALID_FD_TYPE|UNKNOWN_FILE_EXTENSION|UNKNOWN_MODULE_FORMAT|INVALID_PACKAGE_CONFIG|INVALID_MODULE_SPECIFIER|INVALID_MIME_SYNTAX|HTTP_INVALID_HEADER_VALUE|HTTP_INVALID_STATUS_CODE|INVALID_BUFFER_SIZE|ENCODING_INVALID_ENCODED_DATA|INVALID_RETURN_VALUE|INVALID_ARG|INVALID_REPL_INPUT]], "invalid_argument")
NODE([[OUT_OF_RANGE|BUFFER_OUT_OF_BOUNDS|FS_FILE_TOO_LARGE|STRING_TOO_LONG]], "out_of_range")
NODE([[HTTP_HEADERS_SENT|STREAM_WRITE_AFTER_END|STREAM_DESTROYED|STREAM_ALREADY_FINISHED|STREAM_PUSH_AFTER_EOF|STREAM_CANNOT_PIPE|STREAM_NULL_VALUES|SERVER_ALREADY_LISTEN|SERVER_NOT_RUNNING|SOCKET_CLOSED|SOCKET_CLOSED_BEFORE_CONNECTION|SOCKET_DGRAM_NOT_RUNNING|SOCKET_DGRAM_IS_CONNECTED|SOCKET_DGRAM_NOT_CONNECTED|SOCKET_ALREADY_BOUND|DIR_CLOSED|DIR_CONCURRENT_OPERATION|INVALID_STATE|IPC_CHANNEL_CLOSED|IPC_DISCONNECTED|CHILD_CLOSED_BEFORE_REPLY|WORKER_NOT_RUNNING|CRYPTO_HASH_FINALIZED|USE_AFTER_CLOSE|HTTP2_INVALID_SESSION|HTTP2_INVALID_STREAM|ASYNC_CALLBACK|MULTIPLE_CALLBACK|CLOSED]], "failed_precondition")
NODE([[METHOD_NOT_IMPLEMENTED|FEATURE_UNAVAILABLE_ON_PLATFORM|ENCODING_NOT_SUPPORTED|NO_CRYPTO|NO_ICU|NOT_SUPPORTED|HTTP2_NO_SOCKET_MANIPULATION]], "unimplemented")
NODE([[UNKNOWN_BUILTIN_MODULE|CRYPTO_UNKNOWN_CIPHER|CRYPTO_UNKNOWN_DH_GROUP]], "not_found")
NODE([[ABORTED|HTTP2_STREAM_CANCEL]],                  "cancelled")
NODE([[SCRIPT_EXECUTION_TIMEOUT|TLS_HANDSHAKE_TIMEOUT|HTTP_REQUEST_TIMEOUT|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT]], "deadline_exceeded")
NODE([[TLS_CERT_ALTNAME_INVALID|TLS_INVALID_PROTOCOL_VERSION|TLS_PROTOCOL_VERSION_CONFLICT|SSL_\w+|OSSL_\w+]], "unavailable.tls")
NODE([[SOCKET|RES_CONTENT_LENGTH_MISMATCH]],           "unavailable")
NODE([[ASSERTION|INTERNAL_ASSERTION]],                 "internal")
R(150, [==[\bcode: 'ABORT_ERR']==],                     "cancelled")          -- AbortError
R(P_SPECIFIC, [[ERR_MODULE_NOT_FOUND]],                "failed_precondition")
R(P_SPECIFIC, [[Cannot find (?:module|package) ']],     "failed_precondition")
R(P_SPECIFIC, [[JavaScript heap out of memory]],       "resource_exhausted.memory")
R(P_SPECIFIC, [[is not valid JSON]],                   "invalid_argument.parse")
R(P_SPECIFIC, [[Unexpected token .{1,40} in JSON]],    "invalid_argument.parse")
R(P_SPECIFIC, [[(?i)Unexpected end of JSON input]],    "invalid_argument.parse")
R(P_SPECIFIC, [[(?i)Bad control character in string literal in JSON]], "invalid_argument.parse")
R(P_SPECIFIC, [[Maximum call stack size exceeded]],    "internal")
R(P_SPECIFIC, [[Cannot read propert(?:y|ies) of (?:undefined|null)]], "internal")
R(P_SPECIFIC, [[Cannot set propert(?:y|ies) of (?:undefined|null)]], "internal")
R(P_SPECIFIC, [[\bis not a function\b]],               "internal")
R(P_SPECIFIC, [[\bReferenceError\b]],                  "internal")
R(P_SPECIFIC, [[Invalid array length]],                "invalid_argument")
R(P_SPECIFIC, [[\bAbortError\b]],                      "cancelled")
R(P_SPECIFIC, [[(?i)The operation was aborted]],        "cancelled")
R(P_SPECIFIC, [[\bERR_TLS_CERT_ALTNAME_INVALID\b]],    "unavailable.tls")
R(P_SPECIFIC, [[\b(?:CERT_HAS_EXPIRED|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\b]], "unavailable.tls")
R(P_SPECIFIC, [[\bUNABLE_TO_(?:VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT_LOCALLY)\b]], "unavailable.tls")

---------------------------------------------------------------- Python
R(P_SPECIFIC, [[\bConnectionRefusedError\b]],          "unavailable.connection_refused")
R(P_SPECIFIC, [[\b(?:ConnectionResetError|ConnectionAbortedError|BrokenPipeError)\b]], "unavailable.connection_reset")
R(P_SPECIFIC, [[\bRemoteDisconnected\b]],              "unavailable.connection_reset")
R(P_SPECIFIC, [[\bIncompleteRead\b]],                  "unavailable.connection_reset")
R(P_SPECIFIC, [[\bgaierror\b]],                        "unavailable.dns")
R(P_SPECIFIC, [[\bFileNotFoundError\b]],               "not_found.file")
R(P_SPECIFIC, [[\bFileExistsError\b]],                 "already_exists")
R(P_SPECIFIC, [[\b(?:IsADirectoryError|NotADirectoryError)\b]], "failed_precondition")
R(P_SPECIFIC, [[\bPermissionError\b]],                 "permission_denied")
R(P_SPECIFIC, [[\b(?:socket\.timeout|ReadTimeout|ConnectTimeout|ReadTimeoutError|ConnectTimeoutError)\b]], "deadline_exceeded")
R(P_SPECIFIC, [[\bJSONDecodeError\b]],                 "invalid_argument.parse")
R(P_SPECIFIC, [[\bZeroDivisionError\b]],               "invalid_argument")
R(P_SPECIFIC, [[\bMemoryError\b]],                     "resource_exhausted.memory")
R(P_SPECIFIC, [[\bRecursionError\b]],                  "internal")
R(P_SPECIFIC, [[\bKeyError\b]],                        "not_found")
R(P_SPECIFIC, [[\bIndexError\b]],                      "out_of_range")
R(P_SPECIFIC, [[\bOverflowError\b]],                   "out_of_range")
R(P_SPECIFIC, [[\bUnicode(?:De|En)codeError\b]],       "invalid_argument")
R(P_SPECIFIC, [[\bNotImplementedError\b]],             "unimplemented")
R(P_SPECIFIC, [[\bKeyboardInterrupt\b]],               "cancelled")
R(P_SPECIFIC, [[\bCancelledError\b]],                  "cancelled")
R(P_SPECIFIC, [[\b(?:ModuleNotFoundError|ImportError)\b]], "failed_precondition")
R(P_SPECIFIC, [[\b(?:AttributeError|NameError|UnboundLocalError|AssertionError)\b]], "internal")
R(P_SPECIFIC, [[\bTypeError\b(?!: fetch failed)]],     "internal")   -- undici's fetch failed is a wrapper (P_WRAPPER)
R(P_SPECIFIC, [[\bValueError\b]],                      "invalid_argument")
R(P_SPECIFIC, [[returned non-zero exit status]],       "unknown")
R(P_SPECIFIC, [[\bSSLCertVerificationError\b]],        "unavailable.tls")
R(P_SPECIFIC, [[CERTIFICATE_VERIFY_FAILED]],           "unavailable.tls")
R(P_SPECIFIC, [[EOF occurred in violation of protocol]], "unavailable.connection_reset")
R(P_SPECIFIC, [[\bDoesNotExist\b]],                    "not_found")             -- Django
R(P_SPECIFIC, [[\bMultipleObjectsReturned\b]],         "failed_precondition")   -- Django

---------------------------------------------------------------- Java
R(P_SPECIFIC, [[\bSocketTimeoutException\b]],          "deadline_exceeded")
R(P_SPECIFIC, [[\bHttpTimeoutException\b]],            "deadline_exceeded")
R(P_SPECIFIC, [[\bSQLTimeoutException\b]],             "deadline_exceeded")
R(P_SPECIFIC, [[java\.util\.concurrent\.TimeoutException]], "deadline_exceeded")
R(P_SPECIFIC, [[\bUnknownHostException\b]],            "unavailable.dns")
R(P_SPECIFIC, [[\bNoRouteToHostException\b]],          "unavailable")
R(P_WRAPPER, [[\bSQLTransientConnectionException\b]], "unavailable")
R(P_SPECIFIC, [[\bSQLRecoverableException\b]],         "unavailable")
R(P_SPECIFIC, [[\b(?:FileNotFoundException|NoSuchFileException)\b]], "not_found.file")
R(P_SPECIFIC, [[\bFileAlreadyExistsException\b]],      "already_exists")
R(P_SPECIFIC, [[\bDirectoryNotEmptyException\b]],      "failed_precondition")
R(P_SPECIFIC, [[\bAccessDeniedException\b]],           "permission_denied")
R(P_SPECIFIC, [[\bOutOfMemoryError\b]],                "resource_exhausted.memory")
R(P_SPECIFIC, [[\bNumberFormatException\b]],           "invalid_argument.parse")
R(P_SPECIFIC, [[\b(?:JsonParseException|JsonMappingException|MismatchedInputException|JsonSyntaxException)\b]], "invalid_argument.parse")
R(P_SPECIFIC, [[\b(?:Array|String)?IndexOutOfBoundsException\b]], "out_of_range")
R(P_SPECIFIC, [[\bIllegalArgumentException\b]],        "invalid_argument")
R(P_SPECIFIC, [[\bIllegalStateException\b]],           "failed_precondition")
R(P_SPECIFIC, [[\bUnsupportedOperationException\b]],   "unimplemented")
R(P_SPECIFIC, [[\bNullPointerException\b]],            "internal")
R(P_SPECIFIC, [[\b(?:ClassCastException|StackOverflowError|ConcurrentModificationException|ArrayStoreException)\b]], "internal")
R(P_SPECIFIC, [[\bArithmeticException\b]],            "invalid_argument")
R(P_SPECIFIC, [[\b(?:ClassNotFoundException|NoClassDefFoundError)\b]], "failed_precondition")
R(P_SPECIFIC, [[\bCancellationException\b]],           "cancelled")
R(P_SPECIFIC, [[\bInterruptedException\b]],            "cancelled")
R(P_SPECIFIC, [[PKIX path building failed]],           "unavailable.tls")
R(P_SPECIFIC, [[\bSSLHandshakeException\b]],           "unavailable.tls")
R(P_SPECIFIC, [[\b(?:CannotAcquireLockException|PessimisticLockingFailureException|LockTimeoutException)\b]], "aborted.locked")
R(P_SPECIFIC, [[\bDeadlockLoserDataAccessException\b]], "aborted.deadlock")
R(P_SPECIFIC, [[\b(?:OptimisticLockException|OptimisticLockingFailureException|StaleObjectStateException)\b]], "aborted")
R(P_SPECIFIC, [[\b(?:EntityNotFoundException|EmptyResultDataAccessException|NoSuchElementException)\b]], "not_found")
R(P_SPECIFIC, [[\bDataIntegrityViolationException\b]], "failed_precondition")
R(P_WRAPPER, [[\bSQLSyntaxErrorException\b]],         "invalid_argument.parse")
R(P_SPECIFIC, [[\bBadCredentialsException\b]],         "unauthenticated")

---------------------------------------------------------------- Go
R(P_SPECIFIC, [[context deadline exceeded]],           "deadline_exceeded")
R(P_SPECIFIC, [[context canceled]],                    "cancelled")
R(P_SPECIFIC, [[\bi/o timeout\b]],                     "deadline_exceeded")
R(P_SPECIFIC, [[\bno such host\b]],                    "unavailable.dns")
R(P_SPECIFIC, [[\bx509: ]],                            "unavailable.tls")
R(P_SPECIFIC, [[\btls: (?:failed to verify|bad certificate|handshake failure|unknown certificate)]], "unavailable.tls")
R(P_SPECIFIC, [[server gave HTTP response to HTTPS client]], "failed_precondition")
R(P_SPECIFIC, [[sql: no rows in result set]],          "not_found")
R(P_SPECIFIC, [[driver: bad connection]],              "unavailable.connection_reset")
R(P_SPECIFIC, [[use of closed network connection]],    "unavailable.connection_reset")
R(P_SPECIFIC, [[invalid character '.{1,4}' (?:looking for|after|in )]], "invalid_argument.parse")
R(P_SPECIFIC, [[json: cannot unmarshal]],              "invalid_argument.parse")
R(P_SPECIFIC, [[strconv\.\w+: parsing]],               "invalid_argument.parse")
R(P_SPECIFIC, [[\b(?:index|slice bounds) out of range\b]], "out_of_range")
-- a Go panic or fatal runtime error is a program bug whatever words follow
-- ("index out of range", "stack exceeds", "deadlock!")
R(P_FIRST, [[(?m)^panic: ]],                            "internal")
R(P_FIRST, [[(?m)^fatal error: ]],                      "internal")
R(P_FIRST, [[goroutine stack exceeds]],                 "internal")
R(P_FIRST, [[all goroutines are asleep]],               "internal")
R(P_SPECIFIC, [[nil pointer dereference]],             "internal")
R(P_SPECIFIC, [[\bfile does not exist\b]],             "not_found.file")
R(P_SPECIFIC, [[\bfile already exists\b]],             "already_exists")

---------------------------------------------------------------- .NET
R(P_SPECIFIC, [[\bTaskCanceledException\b]],           "cancelled")
R(P_SPECIFIC, [[\bOperationCanceledException\b]],      "cancelled")
R(P_SPECIFIC, [[System\.TimeoutException]],            "deadline_exceeded")
R(P_SPECIFIC, [[\bDirectoryNotFoundException\b]],      "not_found.file")
R(P_SPECIFIC, [[Could not find (?:file|a part of the path)]], "not_found.file")
R(P_SPECIFIC, [[\bUnauthorizedAccessException\b]],     "permission_denied")
R(P_SPECIFIC, [[Access to the path .{1,200} is denied]], "permission_denied")
R(P_SPECIFIC, [[\bArgumentOutOfRangeException\b]],     "out_of_range")
R(P_SPECIFIC, [[\b(?:ArgumentNullException|ArgumentException)\b]], "invalid_argument")
R(P_SPECIFIC, [[\bInvalidOperationException\b]],       "failed_precondition")
R(P_SPECIFIC, [[\b(?:NotImplementedException|NotSupportedException|PlatformNotSupportedException)\b]], "unimplemented")
R(P_SPECIFIC, [[\bNullReferenceException\b]],          "internal")
R(P_SPECIFIC, [[Object reference not set to an instance of an object]], "internal")
R(P_SPECIFIC, [[\bOutOfMemoryException\b]],            "resource_exhausted.memory")
R(P_SPECIFIC, [[\b(?:FormatException|JsonReaderException)\b]], "invalid_argument.parse")
R(P_SPECIFIC, [[System\.Text\.Json\.JsonException]],   "invalid_argument.parse")
R(P_SPECIFIC, [[\bIndexOutOfRangeException\b]],        "out_of_range")
R(P_SPECIFIC, [[\bKeyNotFoundException\b]],            "not_found")
R(P_SPECIFIC, [[\bDivideByZeroException\b]],           "invalid_argument")
R(P_SPECIFIC, [[System\.OverflowException]],           "out_of_range")
R(P_SPECIFIC, [[No such host is known]],               "unavailable.dns")
R(P_SPECIFIC, [[target machine actively refused it]],  "unavailable.connection_refused")
R(P_SPECIFIC, [[forcibly closed by the remote host]],  "unavailable.connection_reset")
R(P_SPECIFIC, [[connected party did not properly respond after a period of time]], "deadline_exceeded")
R(P_SPECIFIC, [[remote certificate is invalid]],       "unavailable.tls")
R(P_SPECIFIC, [[There is not enough space on the disk]], "resource_exhausted.storage_full")
-- SQL Server texts (SqlException)
R(P_SPECIFIC, [[was deadlocked on (?:lock|communication buffer)]], "aborted.deadlock")
R(P_SPECIFIC, [[Login failed for user]],               "unauthenticated")
R(P_SPECIFIC, [[Cannot insert duplicate key]],         "already_exists")
R(P_SPECIFIC, [[Violation of (?:PRIMARY|UNIQUE) KEY constraint]], "already_exists")
R(P_SPECIFIC, [[conflicted with the (?:FOREIGN KEY|REFERENCE) constraint]], "failed_precondition")
R(P_SPECIFIC, [[Invalid object name ']],               "not_found")
R(P_SPECIFIC, [[Incorrect syntax near]],               "invalid_argument.parse")
R(P_SPECIFIC, [[Execution Timeout Expired]],           "deadline_exceeded")

---------------------------------------------------------------- Ruby
R(P_SPECIFIC, [[\bSocketError\b]],                     "unavailable.dns")
R(P_SPECIFIC, [[\bNet::(?:ReadTimeout|OpenTimeout|WriteTimeout)\b]], "deadline_exceeded")
R(P_SPECIFIC, [[\bTimeout::Error\b]],                  "deadline_exceeded")
R(P_SPECIFIC, [[\bexecution expired\b]],               "deadline_exceeded")
R(P_SPECIFIC, [[\bNoMethodError\b]],                   "internal")
R(P_SPECIFIC, [[undefined method [`'].{1,80} for ]],    "internal")
R(P_SPECIFIC, [[uninitialized constant]],              "internal")
R(P_SPECIFIC, [[\bSystemStackError\b]],                "internal")
R(P_SPECIFIC, [[\bFrozenError\b]],                     "internal")
R(P_SPECIFIC, [[\bArgumentError\b]],                   "invalid_argument")
R(P_FIRST, [[wrong number of arguments \(given \d+, expected]], "internal")   -- Ruby: a call site bug
R(P_FIRST, [[No live threads left\. Deadlock\?]],        "internal")          -- Ruby: a program bug
R(P_SPECIFIC, [[\bJSON::ParserError\b]],               "invalid_argument.parse")
R(P_SPECIFIC, [[\bRecordNotFound\b]],                  "not_found")
R(P_SPECIFIC, [[\bRecordNotUnique\b]],                 "already_exists")
R(P_SPECIFIC, [[\bRecordInvalid\b]],                   "invalid_argument")
R(P_SPECIFIC, [[\bStaleObjectError\b]],                "aborted")
R(P_SPECIFIC, [[\bActiveRecord::Deadlocked\b]],        "aborted.deadlock")
R(P_SPECIFIC, [[\bActiveRecord::LockWaitTimeout\b]],   "aborted.locked")
R(P_SPECIFIC, [[\bConnectionNotEstablished\b]],        "unavailable")
R(P_SPECIFIC, [[\bPG::ConnectionBad\b]],               "unavailable")
R(P_SPECIFIC, [[\bPG::UniqueViolation\b]],             "already_exists")
R(P_SPECIFIC, [[\bRedis::CannotConnectError\b]],       "unavailable")
R(P_SPECIFIC, [[\bNoMemoryError\b]],                   "resource_exhausted.memory")
R(P_SPECIFIC, [[failed to allocate memory]],           "resource_exhausted.memory")
R(P_SPECIFIC, [[\bNotImplementedError\b]],             "unimplemented")
R(P_SPECIFIC, [[stack level too deep]],                "internal")
R(P_SPECIFIC, [[divided by 0]],                        "invalid_argument")
R(P_SPECIFIC, [[index \d+ outside of array bounds]],   "out_of_range")
R(P_SPECIFIC, [[key not found: ]],                     "not_found")

---------------------------------------------------------------- shells and tools
R(P_SPECIFIC, [[: command not found\b]],               "not_found")
R(P_SPECIFIC, [[(?i)\bsegmentation fault\b]],          "internal")
R(P_SPECIFIC, [[\bSIGSEGV\b]],                         "internal")
R(P_SPECIFIC, [[\bOOMKilled\b]],                       "resource_exhausted.memory")
R(P_SPECIFIC, [[\bstd::bad_alloc\b]],                  "resource_exhausted.memory")
R(P_SPECIFIC, [[(?i)upstream connect error or disconnect/reset]], "unavailable")   -- Envoy
R(P_SPECIFIC, [[(?i)no healthy upstream]],             "unavailable")              -- Envoy
R(P_SPECIFIC, [[(?i)upstream request timeout]],        "deadline_exceeded")        -- Envoy

---------------------------------------------------------------- generic
-- transport
R(P_GENERIC, [[(?i)connection refused]],               "unavailable.connection_refused")
R(P_GENERIC, [[(?i)actively refused]],                 "unavailable.connection_refused")
R(P_GENERIC, [[(?i)connection (?:was )?reset]],         "unavailable.connection_reset")
R(P_GENERIC, [[(?i)connection (?:was )?(?:closed|aborted|dropped|lost)]], "unavailable.connection_reset")
R(P_GENERIC, [[(?i)closed by (?:the )?(?:remote host|peer|foreign host)]], "unavailable.connection_reset")
R(P_GENERIC, [[(?i)broken pipe]],                      "unavailable.connection_reset")
R(P_GENERIC, [[(?i)unexpectedly closed]],              "unavailable.connection_reset")
-- name resolution
R(P_GENERIC, [[(?i)name or service not known]],        "unavailable.dns")
R(P_GENERIC, [[(?i)nodename nor servname provided]],   "unavailable.dns")
R(P_GENERIC, [[(?i)temporary failure in name resolution]], "unavailable.dns")
R(P_GENERIC, [[(?i)no address associated with hostname]], "unavailable.dns")
R(P_GENERIC, [[(?i)name does not resolve]],            "unavailable.dns")
R(P_GENERIC, [[(?i)could not resolve (?:host|hostname|address)]], "unavailable.dns")
R(P_GENERIC, [[(?i)failed to resolve]],                "unavailable.dns")
R(P_GENERIC, [[(?i)\bgetaddrinfo\b]],                  "unavailable.dns")
R(P_GENERIC, [[(?i)\bdns (?:lookup|resolution|error|failure)]], "unavailable.dns")
-- TLS
R(P_GENERIC, [[(?i)certificate verify failed]],        "unavailable.tls")
R(P_GENERIC, [[(?i)self[- ]signed certificate]],       "unavailable.tls")
R(P_GENERIC, [[(?i)unable to verify the first certificate]], "unavailable.tls")
R(P_GENERIC, [[(?i)unable to get local issuer certificate]], "unavailable.tls")
R(P_GENERIC, [[(?i)certificate has expired]],          "unavailable.tls")
R(P_GENERIC, [[(?i)certificate signed by unknown authority]], "unavailable.tls")
R(P_GENERIC, [[(?i)does not match (?:the )?certificate]], "unavailable.tls")
R(P_GENERIC, [[(?i)wrong version number]],             "unavailable.tls")
R(P_GENERIC, [[(?i)handshake[ _]failure]],             "unavailable.tls")
-- concurrency
R(P_GENERIC, [[(?i)deadlock (?:found|detected)|deadlocked|deadlock victim|\bDeadlock(?:Detected|Exception|Error)\b|resource deadlock]], "aborted.deadlock")
R(P_GENERIC, [[(?i)could not serialize|serialization failure]], "aborted.serialization")
R(P_GENERIC, [[(?i)lock wait timeout|lock timeout|could not obtain lock|lock not available]], "aborted.locked")
-- rate limits and resources
R(P_GENERIC, [[(?i)too many requests]],                "resource_exhausted.rate_limited")
R(P_GENERIC, [[(?i)rate[- ]limit]],                    "resource_exhausted.rate_limited")
R(P_GENERIC, [[(?i)rate exceeded]],                    "resource_exhausted.rate_limited")
R(P_GENERIC, [[(?i)throttl]],                          "resource_exhausted.rate_limited")
R(P_GENERIC, [[(?i)\bslow down\b]],                    "resource_exhausted.rate_limited")
R(P_GENERIC, [[(?i)too many connections]],             "resource_exhausted.connections")
R(P_GENERIC, [[(?i)connection pool (?:exhausted|timeout|is full)]], "resource_exhausted.connections")
R(P_GENERIC, [[(?i)too many open files]],              "resource_exhausted.file_descriptors")
R(P_GENERIC, [[(?i)no space left]],                    "resource_exhausted.storage_full")
R(P_GENERIC, [[(?i)disk (?:is )?full]],                "resource_exhausted.storage_full")
R(P_GENERIC, [[(?i)insufficient (?:disk |storage )?space]], "resource_exhausted.storage_full")
R(P_GENERIC, [[(?i)quota exceeded|exceeded (?:your|the) quota]], "resource_exhausted")
R(P_GENERIC, [[(?i)out of memory]],                    "resource_exhausted.memory")
R(P_GENERIC, [[(?i)cannot allocate memory]],           "resource_exhausted.memory")
R(P_GENERIC, [[(?i)insufficient memory]],              "resource_exhausted.memory")
R(P_GENERIC, [[(?i)memory (?:limit )?exhausted]],      "resource_exhausted.memory")
R(P_GENERIC, [[(?i)resource exhausted]],               "resource_exhausted")
-- timeouts
R(P_GENERIC, [[(?i)timed out]],                        "deadline_exceeded")
R(P_GENERIC, [[(?i)deadline exceeded]],                "deadline_exceeded")
R(P_GENERIC, [[(?i)timeout (?:expired|exceeded|elapsed|reached)]], "deadline_exceeded")
R(P_GENERIC, [[(?i)max_\w*time\w* exceeded|(?:statement|query|execution) time(?:out)? exceeded]], "deadline_exceeded")
-- identity and access
R(P_GENERIC, [[(?i)authentication (?:failed|failure|required|is required)]], "unauthenticated")
R(P_GENERIC, [[(?i)invalid (?:credentials|username or password|password|api[ _-]?key|access token|token)]], "unauthenticated")
R(P_GENERIC, [[(?i)(?:token|credentials|session) (?:has |have )?expired]], "unauthenticated")
R(P_GENERIC, [[(?i)not authenticated]],                "unauthenticated")
R(P_GENERIC, [[(?i)bad credentials]],                  "unauthenticated")
R(P_GENERIC, [[(?i)\bunauthori[sz]ed\b]],              "unauthenticated")
R(P_GENERIC, [[(?i)permission denied]],                "permission_denied")
R(P_GENERIC, [[(?i)access (?:is )?denied]],            "permission_denied")
R(P_GENERIC, [[(?i)\bforbidden\b]],                    "permission_denied")
R(P_GENERIC, [[(?i)not permitted]],                    "permission_denied")
R(P_GENERIC, [[(?i)insufficient (?:privileges?|permissions?)]], "permission_denied")
R(P_GENERIC, [[(?i)not authori[sz]ed to]],             "permission_denied")
R(P_GENERIC, [[(?i)read-only file ?system]],           "permission_denied.read_only")
-- existence
R(P_GENERIC, [[(?i)already exists]],                   "already_exists")
R(P_GENERIC, [[(?i)duplicate (?:key|entry)]],          "already_exists")
R(P_GENERIC, [[(?i)unique (?:constraint|violation|key)]], "already_exists")
R(P_GENERIC, [[(?i)foreign key constraint]],           "failed_precondition")
R(P_GENERIC, [[(?i)precondition failed]],              "failed_precondition")
-- malformed input
R(P_GENERIC, [[\bSyntaxError\b]],                      "invalid_argument.parse")
R(P_GENERIC, [[(?i)syntax error]],                     "invalid_argument.parse")
R(P_GENERIC, [[(?i)invalid syntax]],                   "invalid_argument.parse")
R(P_GENERIC, [[(?i)pars(?:e|ing) error]],              "invalid_argument.parse")
R(P_GENERIC, [[(?i)(?:failed|unable) to parse]],       "invalid_argument.parse")
R(P_GENERIC, [[(?i)could not parse]],                  "invalid_argument.parse")
R(P_GENERIC, [[(?i)\bParse(?:r)?(?:Error|Exception)\b]], "invalid_argument.parse")
R(P_GENERIC, [[(?i)malformed (?:json|xml|yaml|input|request|data)]], "invalid_argument.parse")
R(P_GENERIC, [[(?i)invalid json]],                     "invalid_argument.parse")
R(P_GENERIC, [[(?i)unexpected token]],                 "invalid_argument.parse")
R(P_GENERIC, [[(?i)unexpected character]],             "invalid_argument.parse")
R(P_GENERIC, [[(?i)unexpected end of (?:input|file|stream)]], "invalid_argument.parse")
R(P_GENERIC, [[(?i)unterminated string]],              "invalid_argument.parse")
R(P_GENERIC, [[Expecting (?:value|property name|',' delimiter|':' delimiter)]], "invalid_argument.parse")
R(P_GENERIC, [[(?i)not in a correct format]],          "invalid_argument.parse")
-- capability
R(P_GENERIC, [[(?i)not implemented]],                  "unimplemented")
R(P_GENERIC, [[(?i)not supported]],                    "unimplemented")
R(P_GENERIC, [[(?i)unsupported (?:operation|protocol|method|media type|feature)]], "unimplemented")
R(P_GENERIC, [[(?i)unknown command]],                  "unimplemented")
-- cancellation
R(P_GENERIC, [[(?i)\bcancell?ed\b]],                   "cancelled")
R(P_GENERIC, [[(?i)\bcancell?ation\b]],                "cancelled")
R(P_GENERIC, [[(?i)\baborted by (?:the )?(?:user|client|caller)]], "cancelled")
-- availability
R(P_GENERIC, [[(?i)service unavailable]],              "unavailable")
R(P_GENERIC, [[(?i)temporarily unavailable]],          "unavailable")
R(P_GENERIC, [[(?i)try again later]],                  "unavailable")
R(P_GENERIC, [[(?i)host is unreachable]],              "unavailable")
R(P_GENERIC, [[(?i)network is (?:unreachable|down)]],  "unavailable")
R(P_GENERIC, [[(?i)bad gateway]],                      "unavailable")
R(P_GENERIC, [[(?i)(?:failed|unable) to connect]],     "unavailable")
R(P_GENERIC, [[(?i)(?:could not|can't|cannot|couldn't) connect]], "unavailable")
R(P_GENERIC, [[(?i)connection (?:error|failure|failed)]], "unavailable")
R(P_GENERIC, [[(?i)\bis (?:starting up|shutting down|overloaded)\b]], "unavailable")
R(P_GENERIC, [[(?i)circuit breaker (?:is )?open]],     "unavailable")
R(P_GENERIC, [[\bConnectionError\b]],                  "unavailable")
R(P_GENERIC, [[\bConnectException\b]],                 "unavailable")
R(P_GENERIC, [[\bHttpRequestException\b]],             "unavailable")
R(P_GENERIC, [[(?i)internal server error]],            "internal.server_error")
R(P_GENERIC, [[(?i)division by zero|divide by zero]],  "invalid_argument")
-- ranges
R(P_GENERIC, [[(?i)out of (?:range|bounds)]],          "out_of_range")
R(P_GENERIC, [[(?i)outside (?:of )?the bounds]],       "out_of_range")
R(P_GENERIC, [[(?i)value too (?:large|long)]],         "out_of_range")
R(P_GENERIC, [[(?i)data too long]],                    "out_of_range")
R(P_GENERIC, [[\bRangeError\b]],                       "out_of_range")
-- integrity
R(P_GENERIC, [[(?i)\bcorrupt(?:ed|ion)?\b]],           "data_loss")
R(P_GENERIC, [[(?i)checksum mismatch]],                "data_loss")
R(P_GENERIC, [[(?i)data loss]],                        "data_loss")
-- state
R(P_GENERIC, [[(?i)already in use]],                   "failed_precondition")
R(P_GENERIC, [[(?i)read-only (?:mode|transaction|replica)]], "failed_precondition")
R(P_GENERIC, [[(?i)internal error]],                   "internal")
R(P_GENERIC, [[(?i)assertion failed]],                 "internal")
R(P_GENERIC, [[\bpanic: ]],                            "internal")

---------------------------------------------------------------- weak words
R(P_WEAK, [[(?i)not found]],                           "not_found")
R(P_WEAK, [[(?i)\bno such\b]],                         "not_found")
R(P_WEAK, [[(?i)does ?n[o']t exist]],                  "not_found")
R(P_WEAK, [[(?i)(?:could not|cannot|can't|unable to) find]], "not_found")
R(P_WEAK, [[(?i)\btime ?out\b]],                       "deadline_exceeded")
R(P_WEAK, [[(?i)\btimeout\w*\b]],                      "deadline_exceeded")
R(P_WEAK, [[(?i)\bunavailable\b]],                     "unavailable")
R(P_WEAK, [[(?i)\bunreachable\b]],                     "unavailable")
R(P_WEAK, [[(?i)\binterrupted\b]],                     "cancelled")
R(P_WEAK, [[(?i)\bconflict\b(?!.{0,40}(?:merge|fix|resolve))]], "aborted")
R(P_WEAK, [[(?i)\blocked\b]],                          "aborted.locked")
R(P_WEAK, [[(?i)\bdenied\b]],                          "permission_denied")
R(P_WEAK, [[(?i)\bbad request\b]],                     "invalid_argument")
R(P_WEAK, [[(?i)validation (?:failed|error)]],         "invalid_argument")
R(P_WEAK, [[(?i)\binvalid\b]],                         "invalid_argument")
R(P_WEAK, [[(?i)\b(?:is|are) required\b]],             "invalid_argument")
R(P_WEAK, [[(?i)\bmust (?:be|not)\b]],                 "invalid_argument")
R(P_WEAK, [[(?i)\billegal\b]],                         "invalid_argument")
R(P_WEAK, [[(?i)\boverflow\b]],                        "out_of_range")
