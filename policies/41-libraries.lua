-- Texts of common libraries, database clients and command-line tools: the
-- exception names and messages their documentation gives, mapped to the
-- canonical codes by meaning (grpc/grpc doc/statuscodes.md).  These are
-- P_SPECIFIC (100) evidence: a text that names the root cause.  Wrapper and
-- base classes stay at P_WRAPPER (45, 40-patterns.lua) so that the cause
-- inside a wrapped message decides.
--
-- Families: compression and archive formats (zlib, gzip, bzip2, xz, zstd, zip,
-- tar), parsers (regex, URL, TOML/YAML, decimal, struct, base64/hex,
-- encodings, dates), database client exception names (psycopg2, PyMySQL,
-- JDBC, PDO), Redis client texts (redis-py strips the RESP prefix), git,
-- coreutils and shells, OpenSSL/ssh, wget, the AWS CLI, and the standard
-- libraries of Python, Java, Go, Node.js, Ruby, PHP and .NET.

local P_FIRST, P_SPECIFIC = 120, 100

local n = 0
local function R(prio, pattern, c)
  n = n + 1
  rule(string.format("lib-%03d-%s", n, c)) {
    when = { message = re(pattern) }, category = c, priority = prio,
  }
end
local function S(pattern, c) R(P_SPECIFIC, pattern, c) end

---------------------------------------------------------------- archives and compression
-- Input that is not in the format at all is an invalid argument; a stream of
-- the right format that is truncated or fails its checksum is data loss
-- (zlib: Z_DATA_ERROR "input data was corrupted").
S([[(?i)incorrect header check]],                          "invalid_argument")   -- zlib Z_DATA_ERROR on the header
S([[(?i)not in gzip format]],                              "invalid_argument")   -- gzip(1), Ruby, Java "Not in GZIP format"
S([[Not a gzipped file]],                                  "invalid_argument")   -- Python gzip.BadGzipFile
S([[gzip: invalid header]],                                "invalid_argument")   -- Go compress/gzip ErrHeader
S([[(?i)zip: not a valid zip file]],                       "invalid_argument")   -- Go archive/zip
S([[File is not a zip file]],                              "invalid_argument")   -- Python zipfile.BadZipFile
S([[zip END header not found]],                            "invalid_argument")   -- java.util.zip.ZipException
S([[End-of-central-directory signature not found]],        "invalid_argument")   -- unzip(1)
S([[This does not look like a tar archive]],               "invalid_argument")   -- GNU tar
S([[file could not be opened successfully]],               "invalid_argument")   -- Python tarfile.ReadError
S([[bad magic number]],                                    "invalid_argument")   -- bzip2(1), openssl enc
S([[File format not recognized]],                          "invalid_argument")   -- xz(1)
S([[Input format not supported by decoder]],               "invalid_argument")   -- Python lzma
S([[Invalid data stream]],                                 "invalid_argument")   -- Python bz2
S([[unsupported format|unknown header]],                   "invalid_argument")   -- zstd(1)
S([[(?:gzip|gunzip|zcat|xz|bzip2|zstd|tar|unzip)\b.{0,200}unexpected end of (?:file|input)]], "data_loss")
S([[Unexpected end of (?:ZLIB )?input(?: stream)?]],       "data_loss")          -- Java, xz
S([[Zlib::GzipFile::Error: unexpected end of file|unexpected end of file \(Zlib::GzipFile::Error\)]], "data_loss")
S([[Compressed (?:file|data) ended before the end-of-stream marker]], "data_loss") -- Python gzip/lzma/bz2
S([[Unfinished stream]],                                   "data_loss")          -- lz4(1) on a truncated frame
S([[Error -5 while decompressing data: incomplete or truncated stream]], "data_loss") -- Python zlib
S([[(?i)file ends unexpectedly|compressed file ends unexpectedly]], "data_loss")  -- bzip2
S([[invalid compressed data--(?:crc error|length error|format violated)]], "data_loss") -- gzip
S([[(?i)data integrity \(CRC\) error]],                    "data_loss")          -- bzip2
S([[Compressed data is corrupt]],                          "data_loss")          -- xz
S([[premature end|Restored data doesn't match checksum]],  "data_loss")          -- zstd
S([[(?i)\bbad CRC\b|CRC (?:error|mismatch)|invalid checksum|checksum (?:error|failed|mismatch)]], "data_loss")
S([[(?i)computed checksums? did NOT match]],               "data_loss")          -- sha256sum -c
S([[(?i)\bgz(?:uncompress|inflate|decode)\(\): data error]], "data_loss")       -- PHP zlib
S([[Unexpected end of ZLIB input stream|invalid (?:stored )?block (?:type|lengths)|invalid distance too far back]], "data_loss")
S([[mismatching "local" filename|bad zipfile offset|invalid zip file with overlapped components]], "data_loss") -- unzip
S([[Not found in archive|filename not matched:]],          "not_found")          -- tar, unzip
S([[name not matched: ]],                                  "not_found")          -- zip
S([[(?:zip|unzip):\s+cannot find or open]],                "not_found")

---------------------------------------------------------------- parsers and encodings
S([[error parsing regexp: ]],                              "invalid_argument")   -- Go regexp
S([[\bre\.error\b|\bPatternSyntaxException\b|\bRegexpError\b]], "invalid_argument")
S([[Invalid regular expression: ]],                        "invalid_argument")   -- JS
S([[(?i)unmatched \( or \\\(|unmatched \[|Unmatched \( or]], "invalid_argument") -- grep
S([[(?:missing|unbalanced|unterminated) (?:\)|parenthesis|subpattern)]], "invalid_argument")
S([[preg_\w+\(\): Compilation failed]],                    "invalid_argument")   -- PHP PCRE
S([[\bparse "[^"]*": ]],                                   "invalid_argument")   -- Go net/url
S([[missing protocol scheme|first path segment in URL cannot contain colon|invalid URL escape]], "invalid_argument")
S([[\bMalformedURLException\b|\bURISyntaxException\b|URI::InvalidURIError|\bURIError\b|bad URI\(is not URI\?\)]], "invalid_argument")
S([[\bInvalidURL\b|\bMissingSchema\b|\bInvalidSchema\b|\bUnsupportedProtocol\b|Invalid URL]], "invalid_argument") -- requests, httpx
S([[(?i)Invalid IPv6 URL|Port out of range 0-65535|Port could not be cast to integer]], "invalid_argument") -- urllib.parse
S([[\bTOMLDecodeError\b|\btoml\.decoder\.TomlDecodeError\b]], "invalid_argument")
S([[\byaml\.(?:scanner|parser|composer|constructor)\.\w+Error\b|\bPsych::SyntaxError\b|\bPsych::DisallowedClass\b|Tried to load unspecified class]], "invalid_argument")
S([[\bJSON::GeneratorError\b|(?:NaN|Infinity) not allowed in JSON]], "invalid_argument")
S([[\bdecimal\.(?:InvalidOperation|ConversionSyntax|DivisionByZero|DivisionUndefined|DivisionImpossible)\b|\bInvalidOperation: \[<class 'decimal]], "invalid_argument")
S([[\bstruct\.error\b|unpack requires a buffer of]],       "invalid_argument")
S([[\bbinascii\.Error\b|Incorrect padding|Non-hexadecimal digit found]], "invalid_argument")
S([[illegal base64 data at input byte|encoding/hex: invalid byte]], "invalid_argument") -- Go
S([[(?i)\binvalid (?:base64|hex)\b|base64: invalid input]], "invalid_argument")
S([[\bMalformedInputException\b|\bUnmappableCharacterException\b|\bCharacterCodingException\b]], "invalid_argument")
S([[\b(?:UnsupportedCharsetException|IllegalCharsetNameException|UnsupportedEncodingException)\b]], "invalid_argument")
S([[\bEncoding::(?:UndefinedConversionError|InvalidByteSequenceError|CompatibilityError|ConverterNotFoundError)\b]], "invalid_argument")
S([[invalid byte sequence in|illegal input sequence at position|cannot convert$|incompatible character encodings]], "invalid_argument")
R(P_FIRST, [[The encoded data was not valid for encoding]], "invalid_argument") -- WHATWG TextDecoder (a TypeError)
S([[\bLookupError: unknown encoding\b]],                   "invalid_argument")
S([[\bDateTimeParseException\b|\bDateTimeException: Invalid value\b|\bDate::Error\b]], "invalid_argument")
S([[parsing time "[^"]*"|time: (?:invalid duration|unknown unit|missing unit)]], "invalid_argument") -- Go time
S([[Failed to parse time string|DateMalformedStringException|Invalid time value]], "invalid_argument") -- PHP, JS
S([[\bInputMismatchException\b|\bNegativeArraySizeException\b]], "invalid_argument")
S([[\bconfigparser\.\w*Error\b|File contains no section headers]], "invalid_argument")
S([[No closing quotation|No escaped character]],           "invalid_argument")   -- Python shlex
S([[\b_csv\.Error\b|\bcsv\.Error\b|\bCSV::MalformedCSVError\b]], "invalid_argument")
S([[\bxml\.etree\.ElementTree\.ParseError\b|\bSAXParseException\b|\bREXML::ParseException\b|mismatched tag: line]], "invalid_argument")
S([[\b_pickle\.UnpicklingError\b|\bUnpicklingError\b|unserialize\(\): Error at offset]], "invalid_argument")
S([[\bJsonException\b|\bJSON_ERROR_SYNTAX\b|json_decode\(\): Syntax error]], "invalid_argument")
S([[\bFloatDomainError\b|\bInvalidToken\b|Fernet key must be]], "invalid_argument")
S([[\bDataCloneError\b|could not be cloned]],              "invalid_argument")
S([[digits argument must be between|toPrecision\(\) argument must be|Invalid array length|Invalid string length]], "invalid_argument")
-- V8/Node texts of a RangeError for an argument outside the accepted set:
-- the argument is wrong (the generic RangeError rule says out_of_range)
S([[Invalid (?:key|IV|auth tag) length|The normalization form should be one of|Invalid time zone specified|Invalid count value: |Invalid code point ]], "invalid_argument")
S([[Decompression failed]],                                "invalid_argument")   -- Node brotli on input that is not brotli
S([[DECODER routines::unsupported|\bno start line\b|failed to find any PEM data]], "invalid_argument")   -- OpenSSL: the input is not a key/PEM it can decode
S([[Digest method not supported|Unknown (?:option or )?message digest|Invalid digest]], "invalid_argument")
S([[\bcannot unpack non-iterable\b|\btoo many values to unpack\b]], "internal")
S([[\bbad decrypt\b]],                                     "invalid_argument")   -- OpenSSL: wrong key / not ciphertext
S([[Could not read (?:certificate|private key|public key|key) from|unable to load (?:certificate|key)]], "invalid_argument") -- openssl(1)
S([[Could not open file or uri for loading]],              "not_found")          -- openssl(1)
S([[Unknown option or|unknown option|unrecognized option|invalid option]], "invalid_argument")
S([[Bad configuration option: ]],                          "invalid_argument")   -- ssh(1)
S([[Can't open user config file .{0,200}No such file]],    "not_found")          -- ssh(1)

---------------------------------------------------------------- Python standard library and popular libraries
S([[\bqueue\.Full\b]],                                     "resource_exhausted")
S([[\bqueue\.Empty\b]],                                    "deadline_exceeded")
S([[\blocale\.Error: unsupported locale setting\b]],       "failed_precondition")
-- an object used in a state that does not allow the operation (closed,
-- already started): FAILED_PRECONDITION, not a transient condition
S([[Cannot operate on a closed (?:database|cursor)|threads can only be started once|Event loop is closed]], "failed_precondition")
S([[redirect error that would lead to an infinite loop|redirect count exceeded|stopped after \d+ redirects|\d+ redirections exceeded]], "failed_precondition") -- urllib, undici, Go net/http, wget
R(P_FIRST, [[\bchr\(\) arg not in range\(]],               "out_of_range")       -- a code point beyond Unicode's range (beats ValueError)
S([[Exec format error]],                                   "failed_precondition") -- ENOEXEC
S([[\bStopIteration\b|\bStopAsyncIteration\b|iteration reached an end]], "out_of_range")
S([[\bconcurrent\.futures\._base\.TimeoutError\b|\bsubprocess\.TimeoutExpired\b|\basyncio\.exceptions\.TimeoutError\b]], "deadline_exceeded")
S([[\bTooManyRedirects\b|Exceeded \d+ redirects|redirected more than]], "failed_precondition")
S([[\brequests\.exceptions\.(?:ReadTimeout|ConnectTimeout|Timeout)\b|\bhttpx\.(?:Read|Connect|Write|Pool)?Timeout\b]], "deadline_exceeded")
S([[\bhttpx\.ConnectError\b]],                              "unavailable")
S([[\bRemoteProtocolError\b|Server disconnected without sending a response|ChunkedEncodingError|Connection broken: IncompleteRead]], "unavailable")
-- psycopg2 names one exception class per SQLSTATE (psycopg2.errors, 2.9): the
-- name is the code, printed in the message, so these sit at the
-- code-in-message tier (145) above server texts; every SQLSTATE psycopg2
-- knows, categorised by 23-postgres.lua's table, else by its class.
-- Generated from psycopg2.errors.lookup() over psycopg2.errorcodes.
-- QueryCanceled (57014) stays a root-cause class: a statement timeout
-- and a cancel request share it, and the text tells them apart.
local function PSYCOPG(cat, names)
  for i = 1, #names, 12 do
    local part = {}
    for j = i, math.min(i + 11, #names) do part[#part + 1] = names[j] end
    R(145, "\\bpsycopg2?\\.errors\\.(?:" .. table.concat(part, "|") .. ")\\b", cat)
  end
end
PSYCOPG("aborted", {
  "StatementCompletionUnknown", "TransactionIntegrityConstraintViolation", "TransactionRollback"
})
PSYCOPG("aborted.deadlock", {
  "DeadlockDetected"
})
PSYCOPG("aborted.locked", {
  "LockNotAvailable"
})
PSYCOPG("aborted.serialization", {
  "SerializationFailure"
})
PSYCOPG("already_exists", {
  "DuplicateAlias", "DuplicateColumn", "DuplicateCursor", "DuplicateDatabase", "DuplicateFile",
  "DuplicateFunction", "DuplicateObject", "DuplicatePreparedStatement", "DuplicateSchema",
  "DuplicateTable", "UniqueViolation"
})
PSYCOPG("data_loss", {
  "DataCorrupted", "IndexCorrupted"
})
PSYCOPG("failed_precondition", {
  "ActiveSqlTransaction", "BranchTransactionAlreadyActive", "CantChangeRuntimeParam",
  "DependentObjectsStillExist", "DependentPrivilegeDescriptorsStillExist", "DiagnosticsException",
  "ExclusionViolation", "ForeignKeyViolation", "HeldCursorRequiresSameIsolationLevel",
  "InFailedSqlTransaction", "InappropriateAccessModeForBranchTransaction",
  "InappropriateIsolationLevelForBranchTransaction", "IntegrityConstraintViolation",
  "InvalidCursorState", "InvalidSavepointSpecification", "InvalidTransactionInitiation",
  "InvalidTransactionState", "InvalidTransactionTermination", "NoActiveSqlTransaction",
  "NoActiveSqlTransactionForBranchTransaction", "ObjectInUse", "ObjectNotInPrerequisiteState",
  "ReadOnlySqlTransaction", "RestrictViolation", "SavepointException",
  "SchemaAndDataStatementMixingNotSupported", "SnapshotTooOld",
  "StackedDiagnosticsAccessedWithoutActiveHandler", "TooManyRows", "TriggeredDataChangeViolation",
  "UnsafeNewEnumValueUsage"
})
PSYCOPG("internal", {
  "AssertFailure", "ConfigFileError", "ContainingSqlNotPermitted", "EventTriggerProtocolViolated",
  "ExternalRoutineException", "ExternalRoutineInvocationException", "FdwColumnNameNotFound",
  "FdwDynamicParameterValueNeeded", "FdwError", "FdwFunctionSequenceError",
  "FdwInconsistentDescriptorInformation", "FdwInvalidAttributeValue", "FdwInvalidColumnName",
  "FdwInvalidColumnNumber", "FdwInvalidDataType", "FdwInvalidDataTypeDescriptors",
  "FdwInvalidDescriptorFieldIdentifier", "FdwInvalidHandle", "FdwInvalidOptionIndex",
  "FdwInvalidOptionName", "FdwInvalidStringFormat", "FdwInvalidStringLengthOrBufferLength",
  "FdwInvalidUseOfNullPointer", "FdwNoSchemas", "FdwOptionNameNotFound", "FdwOutOfMemory",
  "FdwReplyHandle", "FdwSchemaNotFound", "FdwTableNotFound", "FdwTooManyHandles",
  "FdwUnableToCreateExecution", "FdwUnableToCreateReply", "FdwUnableToEstablishConnection",
  "FunctionExecutedNoReturnStatement", "InternalError_", "InvalidSqlstateReturned",
  "LockFileExists", "ModifyingSqlDataNotPermitted", "ModifyingSqlDataNotPermittedExt",
  "NullValueNotAllowedExt", "PlpgsqlError", "ProhibitedSqlStatementAttempted",
  "ProhibitedSqlStatementAttemptedExt", "ProtocolViolation", "ReadingSqlDataNotPermitted",
  "ReadingSqlDataNotPermittedExt", "SqlRoutineException", "SrfProtocolViolated", "SystemError",
  "TriggerProtocolViolated", "TriggeredActionException"
})
PSYCOPG("internal.io", {
  "IoError"
})
PSYCOPG("invalid_argument", {
  "AmbiguousAlias", "AmbiguousColumn", "AmbiguousFunction", "AmbiguousParameter",
  "BadCopyFileFormat", "CannotCoerce", "CardinalityViolation", "CharacterNotInRepertoire",
  "CheckViolation", "CollationMismatch", "DataException", "DatatypeMismatch", "DivisionByZero",
  "DuplicateJsonObjectKeyValue", "ErrorInAssignment", "EscapeCharacterConflict",
  "FloatingPointException", "GeneratedAlways", "GroupingError", "IndeterminateCollation",
  "IndeterminateDatatype", "IndicatorOverflow", "InvalidArgumentForLogarithm",
  "InvalidArgumentForNthValueFunction", "InvalidArgumentForNtileFunction",
  "InvalidArgumentForPowerFunction", "InvalidArgumentForSqlJsonDatetimeFunction",
  "InvalidArgumentForWidthBucketFunction", "InvalidBinaryRepresentation",
  "InvalidCharacterValueForCast", "InvalidColumnDefinition", "InvalidColumnReference",
  "InvalidCursorDefinition", "InvalidDatabaseDefinition", "InvalidEscapeCharacter",
  "InvalidEscapeOctet", "InvalidEscapeSequence", "InvalidForeignKey", "InvalidFunctionDefinition",
  "InvalidIndicatorParameterValue", "InvalidJsonText", "InvalidLocatorSpecification",
  "InvalidName", "InvalidObjectDefinition", "InvalidParameterValue",
  "InvalidPrecedingOrFollowingSize", "InvalidPreparedStatementDefinition", "InvalidRecursion",
  "InvalidRegularExpression", "InvalidRowCountInLimitClause",
  "InvalidRowCountInResultOffsetClause", "InvalidSchemaDefinition", "InvalidSqlJsonSubscript",
  "InvalidTableDefinition", "InvalidTablesampleArgument", "InvalidTablesampleRepeat",
  "InvalidTimeZoneDisplacementValue", "InvalidUseOfEscapeCharacter", "InvalidXmlComment",
  "InvalidXmlContent", "InvalidXmlDocument", "InvalidXmlProcessingInstruction", "LocatorException",
  "MoreThanOneSqlJsonItem", "MostSpecificTypeMismatch", "NameTooLong", "NoSqlJsonItem",
  "NonNumericSqlJsonItem", "NonUniqueKeysInAJsonObject", "NonstandardUseOfEscapeCharacter",
  "NotAnXmlDocument", "NotNullViolation", "NullValueNoIndicatorParameter", "NullValueNotAllowed",
  "ProgramLimitExceeded", "ReservedName", "SequenceGeneratorLimitExceeded",
  "SingletonSqlJsonItemRequired", "SqlJsonArrayNotFound", "SqlJsonItemCannotBeCastToTargetType",
  "SqlJsonMemberNotFound", "SqlJsonNumberNotFound", "SqlJsonObjectNotFound",
  "SqlJsonScalarRequired", "StatementTooComplex", "StringDataLengthMismatch", "SubstringError",
  "SyntaxErrorOrAccessRuleViolation", "TooManyArguments", "TooManyColumns",
  "TooManyJsonArrayElements", "TooManyJsonObjectMembers", "TrimError", "UnterminatedCString",
  "UntranslatableCharacter", "WindowingError", "WithCheckOptionViolation", "WrongObjectType",
  "ZeroLengthCharacterString"
})
PSYCOPG("invalid_argument.parse", {
  "InvalidDatetimeFormat", "InvalidTextRepresentation", "SyntaxError"
})
PSYCOPG("not_found", {
  "CaseNotFound", "DatabaseDropped", "InvalidCatalogName", "InvalidCursorName",
  "InvalidSchemaName", "InvalidSqlStatementName", "NoAdditionalDynamicResultSetsReturned",
  "NoData", "NoDataFound", "UndefinedColumn", "UndefinedFunction", "UndefinedObject",
  "UndefinedParameter", "UndefinedTable"
})
PSYCOPG("not_found.file", {
  "UndefinedFile"
})
PSYCOPG("out_of_range", {
  "ArraySubscriptError", "DatetimeFieldOverflow", "IntervalFieldOverflow",
  "NumericValueOutOfRange", "StringDataRightTruncation"
})
PSYCOPG("permission_denied", {
  "InsufficientPrivilege", "InvalidGrantOperation", "InvalidGrantor", "InvalidRoleSpecification"
})
PSYCOPG("resource_exhausted", {
  "InsufficientResources"
})
PSYCOPG("resource_exhausted.connections", {
  "TooManyConnections"
})
PSYCOPG("resource_exhausted.memory", {
  "OutOfMemory"
})
PSYCOPG("resource_exhausted.quota", {
  "ConfigurationLimitExceeded"
})
PSYCOPG("resource_exhausted.storage_full", {
  "DiskFull"
})
PSYCOPG("unauthenticated", {
  "InvalidAuthorizationSpecification", "InvalidPassword"
})
PSYCOPG("unavailable", {
  "AdminShutdown", "CannotConnectNow", "ConnectionException", "CrashShutdown",
  "OperatorIntervention", "SqlclientUnableToEstablishSqlconnection",
  "SqlserverRejectedEstablishmentOfSqlconnection", "TransactionResolutionUnknown"
})
PSYCOPG("unavailable.connection_reset", {
  "ConnectionDoesNotExist", "ConnectionFailure", "IdleInTransactionSessionTimeout",
  "IdleSessionTimeout"
})
PSYCOPG("unimplemented", {
  "FeatureNotSupported"
})
PSYCOPG("unknown", {
  "RaiseException", "SqlStatementNotYetComplete"
})
S([[\bpsycopg2?\.errors\.(?:QueryCanceled)\b]],            "cancelled")

---------------------------------------------------------------- Redis clients
-- redis-py strips the RESP prefix ("READONLY", "LOADING", "NOPERM" ...) and
-- raises its own classes; the texts stay.
S([[\bReadOnlyError\b|You can't write against a read only replica]], "unavailable")
S([[\bBusyLoadingError\b|Redis is loading the dataset in memory]], "unavailable")
S([[\bNoPermissionError\b|has no permissions to (?:run|access)]], "permission_denied")
S([[\bNoScriptError\b|No matching script\. Please use EVAL]], "not_found")
S([[\bWatchError\b|Watched variable changed]],             "aborted")
S([[\bExecAbortError\b|Transaction discarded because of previous errors]], "invalid_argument")
S([[Cannot issue a WATCH after a MULTI|WATCH inside MULTI is not allowed]], "failed_precondition")
S([[\b(?:EXEC|DISCARD) without MULTI\b|MULTI calls can not be nested]], "failed_precondition")
S([[This instance has cluster support disabled]],          "failed_precondition")
S([[Operation against a key holding the wrong kind of value]], "failed_precondition")
S([[max number of clients reached]],                       "resource_exhausted.connections")
S([[value is not a valid float|value is not an integer or out of range|bit offset is not an integer or out of range|is not an integer or out of range]], "invalid_argument")
S([[increment or decrement would overflow]],               "out_of_range")
S([[string exceeds maximum allowed size]],                 "out_of_range")
S([[\bunknown subcommand\b|\bunknown command '[^']*', with args]], "unimplemented")
S([[wrong number of arguments for '[^']*' command]],       "invalid_argument")
S([[user_script:\d+:|Unknown Redis command called from script|Error (?:running|compiling) script]], "invalid_argument")
S([[Busy(?:Error)?: Redis is busy running a script|BUSY Redis is busy]], "unavailable")
S([[MASTERDOWN Link with MASTER is down]],                 "unavailable")
S([[\bTRYAGAIN\b|\bCLUSTERDOWN\b]],                        "unavailable")
S([[Authentication required\.|\bNOAUTH\b|\bWRONGPASS\b|invalid username-password pair]], "unauthenticated")
S([[\bNOPROTO\b|unsupported protocol version]],            "unimplemented")
S([[DB index is out of range|index out of range$|\bERR index out of range]], "out_of_range")
S([[\bERR no such key\b|\bno such key$]],                  "not_found")

---------------------------------------------------------------- Java
S([[HTTP/1\.1 header parser received no bytes|\bEOFException: EOF reached while reading\b]], "unavailable")
S([[java\.io\.EOFException$|java\.io\.EOFException\n]],    "out_of_range")
-- java.io reports the errno text in parentheses after a FileNotFoundException:
-- the errno names the cause, the class does not.
R(P_FIRST, [[FileNotFoundException: .{0,300}\(Is a directory\)]], "failed_precondition")
R(P_FIRST, [[FileNotFoundException: .{0,300}\(Not a directory\)]], "failed_precondition")
R(P_FIRST, [[FileNotFoundException: .{0,300}\(Permission denied\)]], "permission_denied")
S([[\bjava\.sql\.SQLTimeoutException\b]],                  "deadline_exceeded")
S([[Cannot run program "[^"]*": error=2,]],                "not_found")
S([[Cannot run program "[^"]*": error=13,]],               "permission_denied")

-- java.nio.file and java.util texts that name the cause more precisely than
-- the exception class (ZipException, ArithmeticException,
-- RejectedExecutionException): decisive (P_FIRST)
R(P_FIRST, [[invalid entry CRC|Corrupt GZIP trailer]],       "data_loss")
R(P_FIRST, [[ArithmeticException: (?:integer|long) overflow]], "out_of_range")
R(P_FIRST, [[RejectedExecutionException.{0,400}\[(?:Terminated|Shutting down)]], "failed_precondition") -- a shut-down executor
S([[\bNotLinkException\b]],                                "invalid_argument")   -- EINVAL
S([[\bNoSuchAlgorithmException\b]],                        "invalid_argument")   -- an unknown algorithm name
S([[\b(?:IllegalFormat\w*|UnknownFormatConversion|MissingFormatArgument)Exception\b]], "internal") -- a format string bug
S([[No suitable driver found for]],                        "failed_precondition")-- JDBC: the driver is not deployed

---------------------------------------------------------------- Go
S([[os: process already finished]],                        "not_found")
S([[exec: "[^"]*": executable file not found in \$PATH]],   "not_found")
S([[net/http: invalid method|net/http: invalid header]],   "invalid_argument")
S([[Get "[^"]*": EOF$|: EOF$|^EOF$]],                     "unavailable")
S([[^unexpected EOF$|: unexpected EOF$]],                  "unavailable")
S([[net/http: (?:request canceled|timeout awaiting response headers|TLS handshake timeout)]], "deadline_exceeded")
S([[http: server gave HTTP response to HTTPS client]],     "failed_precondition")
S([[malformed HTTP (?:response|status code)]],             "unavailable")
S([[bind: address already in use]],                        "failed_precondition")

---------------------------------------------------------------- Node.js
S([[ERR_INVALID_URL]],                                     "invalid_argument")
S([[\bERR_OSSL_EVP_UNSUPPORTED\b|\bERR_CRYPTO_INVALID_DIGEST\b]], "invalid_argument")
S([[\bZ_DATA_ERROR\b]],                                    "invalid_argument")
S([[\bZ_BUF_ERROR\b]],                                     "data_loss")
S([[(?m)^Error: unexpected end of file$]],                 "data_loss")          -- Node zlib on a truncated stream
S([[Command failed: ]],                                    "unknown")
S([[Do not know how to serialize a BigInt|Converting circular structure to JSON|Cannot convert a Symbol value|Assignment to constant variable|Cannot assign to read only property]], "internal")
S([[Cannot mix BigInt and other types|Cannot convert \S+ to a BigInt]], "invalid_argument")

---------------------------------------------------------------- Ruby
S([[\bZlib::DataError\b]],                                 "invalid_argument")
S([[\bZlib::BufError\b]],                                  "data_loss")
S([[\bLoadError\b|cannot load such file]],                 "failed_precondition")
S([[\bFiberError\b|attempt to resume a terminated fiber|dead fiber called]], "failed_precondition")
S([[not opened for (?:writing|reading)]],                  "failed_precondition")
S([[\bLocalJumpError\b|no block given \(yield\)]],        "internal")
S([[\bClosedQueueError\b|\bclosed stream \(IOError\)|IOError: closed stream]], "failed_precondition")
S([[\bMath::DomainError\b|Numerical argument is out of domain]], "out_of_range")
S([[\bEOFError: end of file reached|end of file reached \(EOFError\)]], "out_of_range")
S([[Failed to open TCP connection to]],                    "unavailable")
S([[\bOpenSSL::SSL::SSLError\b]],                          "unavailable.tls")

---------------------------------------------------------------- PHP
S([[\bDivisionByZeroError\b|Modulo by zero]],              "invalid_argument")
S([[\bValueError: ]],                                      "invalid_argument")
S([[\bArgumentCountError\b|\bUnhandledMatchError\b|Call to undefined (?:function|method)|Call to a member function \S+ on null|Class "[^"]*" not found|Undefined (?:variable|array key|property|constant)|Cannot modify readonly property|ReflectionException: Class "[^"]*" does not exist]], "internal")
S([[unpack\(\): Type \S+: not enough input]],              "invalid_argument")
S([[\bArithmeticError\b|Division of PHP_INT_MIN by -1]],  "out_of_range")
S([[Allowed memory size of \d+ bytes exhausted]],          "resource_exhausted.memory")
S([[Maximum execution time of \d+ seconds? exceeded]],     "deadline_exceeded")
S([[Failed to open stream: HTTP request failed!]],         "deadline_exceeded")  -- no status line: the stream timed out
S([[Failed to open stream: operation failed]],             "unavailable.tls")    -- PHP's text when the TLS handshake fails
S([[\bOutOfBoundsException\b|\bOutOfRangeException\b|Index invalid or out of range|Can't pop from an empty]], "out_of_range")
S([[SQLSTATE\[08006\] \[7\] .{0,200}fe_sendauth: no password supplied]], "unauthenticated")

---------------------------------------------------------------- git
S([[not a git repository]],                                "failed_precondition")
S([[unknown revision or path not in the working tree|Needed a single revision|bad revision ']], "not_found")
S([[did not match any file\(s\) known to git|not something we can merge|invalid reference: ]], "not_found")
S([[No stash entries found]],                              "not_found")
S([[(?:fatal: )?repository '[^']*' (?:does not exist|not found)]], "not_found")
S([[\[rejected\].*\((?:fetch first|non-fast-forward)\)|Updates were rejected because]], "failed_precondition")
S([[CONFLICT \(\w+\): Merge conflict in|Automatic merge failed; fix conflicts|you have unmerged files|Merging is not possible]], "failed_precondition")
S([[Your local changes to the following files would be overwritten]], "failed_precondition")
S([[cannot (?:rebase|pull with rebase): You have unstaged changes]], "failed_precondition")
S([[patch does not apply|patch failed: ]],                 "failed_precondition")
S([[No valid patches in input|Patch format detection failed]], "invalid_argument")
S([[key does not contain a section|invalid key: ]],        "invalid_argument")
S([[is not a git command]],                                "invalid_argument")
S([[\.lock': File exists\.|Another git process seems to be running]], "aborted.locked")
S([[a branch named '[^']*' already exists|tag '[^']*' already exists|remote \S+ already exists]], "already_exists")
S([[destination path '[^']*' already exists and is not an empty directory]], "already_exists")

S([[nothing to commit|nothing added to commit]],          "failed_precondition")

---------------------------------------------------------------- build tools and package managers
-- GNU make manual, "Errors Generated by Make": a target nobody can make is
-- not found; a makefile that cannot be read is malformed input.
S([[No rule to make target ]],                             "not_found")
S([[No targets specified and no makefile found]],          "not_found")
S([[\*\*\* (?:missing separator|recipe commences before first target|commands commence before first target)]], "invalid_argument")
-- GCC/Clang diagnostics ("file:line:col: error: ..."): the source does not
-- compile, the input is invalid.  A missing header or input file is a
-- "fatal error:" that names the errno text, decided by that text.
S([[(?m)^[^\s:]+:\d+:\d+: error: ]],                        "invalid_argument")
S([[Command line option \S+ is not understood]],           "invalid_argument")   -- apt-get
S([[^E: No packages found]],                               "not_found")          -- apt-cache
S([[is not installed and no information is available]],   "not_found")          -- dpkg-query -s
S([[Hunk #\d+ FAILED|hunks? FAILED]],                      "failed_precondition")-- patch(1): does not apply
S([[Only garbage was found in the patch input]],           "invalid_argument")   -- patch(1)

---------------------------------------------------------------- interpreters and data tools
S([[module '[^']+' not found:]],                           "failed_precondition")-- Lua require: the environment lacks it
S([[Can't call method "[^"]*" on (?:an undefined value|unblessed reference)]], "internal") -- perldiag: a program bug
S([[jq: error \(at [^)]*\): Cannot (?:index|iterate over)]], "invalid_argument")   -- the input has another shape
S([[parser error : |Opening and ending tag mismatch]],     "invalid_argument")   -- libxml2 (xmllint)
S([[no valid OpenPGP data found]],                         "invalid_argument")   -- gpg
S([[is not a public key file]],                            "invalid_argument")   -- ssh-keygen
S([[server certificate verification failed]],              "unavailable.tls")    -- libcurl/GnuTLS (git over https)

---------------------------------------------------------------- coreutils and shells
S([[-r not specified; omitting directory]],                "invalid_argument")   -- cp
S([[cannot move '[^']*' to a subdirectory of itself|Cannot move a directory '[^']*' into itself|cannot copy a directory, '[^']*', into itself]], "invalid_argument") -- mv, cp, Python shutil.move
S([[(?i)must be (?:root|superuser)\b]],                     "permission_denied")
S([[are the same file]],                                   "invalid_argument")
S([[Too many levels of symbolic links]],                   "failed_precondition")-- ELOOP
S([[(?i)target is busy|device or resource busy]],          "failed_precondition")-- EBUSY (umount, rm)
S([[Directory not empty]],                                 "failed_precondition")
S([[can't cd to |cd: .{0,200}: No such file or directory]], "not_found")
S([[: not found$|: command not found$]],                   "not_found")
S("invalid (?:number|time interval|date|floating point argument|number of lines|number of bytes)[: ]", "invalid_argument")
S([[(?i)Try '\S+ --help' for more information]],           "invalid_argument")
S([[unterminated `s' command|unknown command: `|sed: -e expression #\d+]], "invalid_argument")
S([[awk: (?:cmd\. line|line \d+):.{0,200}(?:syntax error|unexpected)]], "invalid_argument")
S([[su: Authentication failure|sudo: \d+ incorrect password]], "unauthenticated")

---------------------------------------------------------------- OpenSSL, ssh, wget, AWS CLI
S([[verify error:num=\d+:|error \d+ at \d+ depth lookup:]], "unavailable.tls")
S([[SSL routines|ssl3_get_record|tlsv1 alert|sslv3 alert]], "unavailable.tls")
S([[BIO_connect:Connection refused|connect:errno=111]],    "unavailable")
S([[kex_exchange_identification: ]],                      "unavailable")
S([[Connection timed out during banner exchange]],         "deadline_exceeded")
S([[Host key verification failed]],                        "unavailable.tls")
S([[Permission denied \((?:publickey|password|keyboard-interactive)]], "unauthenticated")
S([[Unable to establish SSL connection|An unexpected TLS packet was received]], "unavailable.tls") -- wget (GnuTLS)
S([[ERROR: cannot verify \S+'s certificate|The certificate of '[^']*' is not trusted]], "unavailable.tls") -- wget
S([[No data received\.|Read error \(Connection reset by peer\)]], "unavailable") -- wget
S([[Username/Password Authentication Failed]],             "unauthenticated")    -- wget 401
S([[Unable to locate credentials|NoCredentialsError|Partial credentials found]], "unauthenticated") -- AWS CLI / botocore
S([[Could not connect to the endpoint URL]],               "unavailable")        -- botocore EndpointConnectionError
S([[\((?:BucketAlreadyExists|BucketAlreadyOwnedByYou|EntityAlreadyExists)\)]], "already_exists")
-- ResourceInUseException covers "already exists" and "in use by another
-- operation"; the text tells which.
R(170, [[\(ResourceInUseException\).{0,300}already exists]], "already_exists")
rule("lib-aws-resource-in-use-exists") {
  when = { code = "ResourceInUseException", message = re[[already exists]] }, category = "already_exists", priority = 300,
}
S([[\((?:SignatureDoesNotMatch|InvalidAccessKeyId|UnrecognizedClientException|InvalidClientTokenId|ExpiredToken)\)]], "unauthenticated")
S([[\((?:LimitExceededException|ServiceQuotaExceededException)\)]], "resource_exhausted")
S([[\((?:PreconditionFailed|ConditionalCheckFailedException)\)]], "failed_precondition")
S([[\((?:ServiceUnavailable|ServiceUnavailableException)\)]], "unavailable")
S([[the following arguments are required: |aws: error: argument]], "invalid_argument")

---------------------------------------------------------------- Python standard library, by class
-- Tracebacks print the module-qualified class ("zipfile.BadZipFile: ...").
-- The classes below name their cause (Python Library Reference, each
-- module's "Exceptions" section; OSError subclasses by errno through
-- absl::ErrnoToStatusCode).  Base classes whose message carries the cause
-- (sqlite3.OperationalError, zlib.error, tarfile.ReadError, ssl.SSLError)
-- are wrappers (P_WRAPPER): a text inside the message that names the cause
-- decides first, the class only when nothing does.
local P_WRAPPER = 45
local function W(pattern, c) R(P_WRAPPER, pattern, c) end
S([[\bBlockingIOError\b]],                                 "unavailable")        -- EAGAIN
S([[\bInterruptedError\b]],                                "unavailable")        -- EINTR
S([[\bChildProcessError\b]],                               "failed_precondition") -- ECHILD
S([[\bProcessLookupError\b]],                              "not_found")          -- ESRCH
S([[\b(?:IndentationError|TabError)\b]],                   "invalid_argument.parse")
S([[\bUnicode(?:Translate)?Error\b]],                      "invalid_argument")
S([[\bxml\.parsers\.expat\.ExpatError\b|\bpyexpat\.ExpatError\b]], "invalid_argument.parse")
S([[\b(?:argparse\.ArgumentTypeError|getopt\.GetoptError|calendar\.Illegal(?:Month|Weekday)Error|ipaddress\.(?:AddressValueError|NetmaskValueError)|statistics\.StatisticsError|netrc\.NetrcParseError|plistlib\.InvalidFileException|graphlib\.CycleError|email\.errors\.(?:HeaderParseError|MessageParseError|BoundaryError|MultipartConversionError|CharsetError)|multiprocessing\.context\.BufferTooShort)\b]], "invalid_argument")
S([[\bdecimal\.(?:Inexact|Rounded|Clamped|Subnormal|Underflow|FloatOperation|InvalidContext|DecimalException)\b]], "invalid_argument") -- a trapped signal
S([[\b(?:_?pickle\.)?(?:Unpickling|Pickling)Error\b]],     "invalid_argument")
S([[\b(?:asyncio\.(?:exceptions\.)?InvalidStateError|(?:threading|asyncio(?:\.exceptions)?)\.BrokenBarrierError|http\.client\.(?:CannotSendRequest|CannotSendHeader|ResponseNotReady|ImproperConnectionState|NotConnected))\b]], "failed_precondition") -- used in the wrong state
S([[\basyncio(?:\.exceptions)?\.IncompleteReadError\b]],    "unavailable.connection_reset") -- the peer closed before n bytes
S([[\basyncio(?:\.exceptions)?\.SendfileNotAvailableError\b|\bsmtplib\.SMTPNotSupportedError\b]], "unimplemented")
S([[\b(?:asyncio\.(?:queues\.)?QueueFull|queue\.Full)\b]], "resource_exhausted")
S([[\b(?:importlib\.metadata\.PackageNotFoundError|zoneinfo(?:\._common)?\.ZoneInfoNotFoundError)\b]], "not_found")
S([[\bsocket\.herror\b]],                                  "unavailable.dns")    -- resolver (gethostbyaddr)
S([[\bsmtplib\.SMTPAuthenticationError\b]],                "unauthenticated")
S([[\bsmtplib\.SMTPConnectError\b]],                       "unavailable")
S([[\bsmtplib\.SMTPServerDisconnected\b]],                 "unavailable.connection_reset")
S([[\bftplib\.error_temp\b]],                              "unavailable")        -- FTP 4xx: transient
S([[\bssl\.SSLWant(?:Read|Write)Error\b]],                 "unavailable")        -- non-blocking: try again
S([[\bssl\.SSLSyscallError\b]],                            "unavailable.connection_reset")
S([[\btarfile\.(?:TruncatedHeaderError|SubsequentHeaderError)\b|\bunexpected end of data\b]], "data_loss")
S([[\btarfile\.(?:InvalidHeaderError|EmptyHeaderError|StreamError)\b]], "invalid_argument")
S([[\btarfile\.CompressionError\b]],                       "unimplemented")      -- compression method not available
W([[\bssl\.SSLError\b]],                                   "unavailable.tls")
W([[\b(?:zipfile\.BadZipFile|gzip\.BadGzipFile|tarfile\.ReadError|shutil\.ReadError)\b]], "invalid_argument")
W([[\b(?:zlib\.error|_?lzma\.LZMAError)\b]],                "data_loss")
W([[\bsqlite3\.(?:ProgrammingError|InterfaceError|DataError)\b]], "invalid_argument")
W([[\bsqlite3\.IntegrityError\b]],                         "failed_precondition")
W([[\bsqlite3\.NotSupportedError\b]],                      "unimplemented")
W([[\bsqlite3\.InternalError\b]],                          "internal")

---------------------------------------------------------------- Ruby core and standard library, by class
-- Ruby prints "file:line:in `m': message (Class)"; classes from the core and
-- standard-library documentation (ruby-doc.org), by meaning.
S([[\bSecurityError\b]],                                   "permission_denied")
S([[\bUncaughtThrowError\b|\(fatal\)]],                    "internal")           -- program bugs
S([[\bEncodingError\b|\bCSV::Parser::InvalidEncoding\b]],  "invalid_argument")
S([[\bIPAddr::(?:InvalidAddressError|InvalidPrefixError|AddressFamilyError)\b|\bURI::(?:InvalidComponentError|BadURIError)\b]], "invalid_argument")
S([[\bOptionParser::(?:InvalidOption|InvalidArgument|MissingArgument|NeedlessArgument|AmbiguousOption|AmbiguousArgument)\b]], "invalid_argument")
S([[\bJSON::NestingError\b|\bPsych::BadAlias\b]],          "invalid_argument")
S([[\bZlib::GzipFile::(?:CRCError|LengthError|NoFooter)\b]], "data_loss")         -- a truncated or damaged gzip stream
S([[\bZlib::MemError\b]],                                  "resource_exhausted.memory")
S([[\bZlib::NeedDict\b]],                                  "invalid_argument")
S([[\bIO::E(?:AGAIN|WOULDBLOCK|INPROGRESS)Wait(?:Readable|Writable)\b|\bOpenSSL::SSL::SSLErrorWait(?:Readable|Writable)\b]], "unavailable") -- non-blocking: try again
S([[\bResolv::(?:ResolvError|ResolvTimeout|DNS::Config::NXDomain)\b]], "unavailable.dns")
S([[\bNet::ProtoAuthError\b]],                             "unauthenticated")
S([[\bNet::ProtoRetriableError\b]],                        "unavailable")
S([[\bNet::ProtoSyntaxError\b]],                           "invalid_argument")
S([[\bNet::HTTPFatalError\b]],                             "internal.server_error") -- a 5xx response
S([[\bGem::(?:MissingSpecError|MissingSpecVersionError|GemNotFoundException|SpecificGemNotFoundException)\b]], "not_found")
S([[\bGem::FilePermissionError\b]],                        "permission_denied")
W([[\bOpenSSL::(?:PKey(?:::\w+)?|X509|ASN1|PKCS\d+|Netscape)::\w*Error\b]], "invalid_argument") -- key/certificate data that does not parse
W([[\bIOError\b]],                                         "failed_precondition") -- closed stream, not opened for reading/writing
W([[\bThreadError\b]],                                     "failed_precondition") -- mutex/queue used in the wrong state
W([[\bZlib::GzipFile::Error\b]],                           "data_loss")
W([[\bJSON::JSONError\b]],                                 "invalid_argument")

---------------------------------------------------------------- Java platform (java.base, java.sql), by class
-- The JDK API documentation of each class, by meaning; wrappers (SSLException,
-- SocketException, ZipException, the java.sql subclasses) let a cause in the
-- message decide first.
S([[\bjava\.nio\.channels\.(?:NotYetConnected|NotYetBound|AlreadyConnected|AlreadyBound|ConnectionPending|NoConnectionPending|AcceptPending|ReadPending|WritePending|ClosedSelector|CancelledKey|IllegalBlockingMode|NonReadableChannel|NonWritableChannel|OverlappingFileLock|ShutdownChannelGroup)Exception\b|\bjava\.nio\.file\.(?:ClosedDirectoryStream|ClosedFileSystem|ClosedWatchService)Exception\b|\bjava\.util\.FormatterClosedException\b|\bjava\.nio\.InvalidMarkException\b]], "failed_precondition") -- used in the wrong state
S([[\bjava\.lang\.Illegal(?:MonitorState|ThreadState)Exception\b|\bjava\.util\.concurrent\.BrokenBarrierException\b]], "failed_precondition")
S([[\bjava\.nio\.channels\.(?:ClosedByInterrupt|FileLockInterruption)Exception\b]], "cancelled")
S([[\bjava\.nio\.channels\.InterruptedByTimeoutException\b|\bjava\.net\.http\.HttpConnectTimeoutException\b]], "deadline_exceeded")
S([[\bjava\.nio\.channels\.UnresolvedAddressException\b]], "unavailable.dns")
S([[\bjava\.nio\.channels\.UnsupportedAddressTypeException\b|\bjava\.nio\.file\.InvalidPathException\b]], "invalid_argument")
S([[\bjava\.nio\.file\.AtomicMoveNotSupportedException\b|\bjava\.lang\.CloneNotSupportedException\b|\bjava\.net\.UnknownServiceException\b|\bjava\.sql\.SQLFeatureNotSupportedException\b]], "unimplemented")
S([[\bjava\.nio\.file\.NotDirectoryException\b]],          "failed_precondition") -- ENOTDIR
S([[\bjava\.nio\.file\.ReadOnlyFileSystemException\b|\bjava\.nio\.ReadOnlyBufferException\b]], "permission_denied.read_only")
S([[\bjava\.nio\.file\.(?:FileSystemNotFound|ProviderNotFound)Exception\b|\bjava\.nio\.file\.attribute\.UserPrincipalNotFoundException\b|\bjava\.lang\.(?:NoSuchMethod|NoSuchField|EnumConstantNotPresent|TypeNotPresent)Exception\b|\bjava\.util\.MissingResourceException\b|\bjava\.time\.zone\.ZoneRulesException\b]], "not_found")
S([[\bjava\.nio\.file\.FileSystemAlreadyExistsException\b]], "already_exists")
S([[\bjava\.lang\.SecurityException\b|\bjava\.security\.AccessControlException\b]], "permission_denied")
S([[\bjavax\.security\.auth\.login\.(?:FailedLogin|Account(?:Expired|Locked|NotFound)?|Login)Exception\b]], "unauthenticated")
S([[\bjava\.util\.(?:DuplicateFormatFlags|FormatFlagsConversionMismatch|MissingFormatWidth|UnknownFormatFlags|IllformedLocale|InvalidPropertiesFormat)Exception\b|\bjava\.io\.(?:CharConversion|UTFDataFormat|NotSerializable)Exception\b]], "invalid_argument")
S([[\bjavax\.crypto\.(?:BadPadding|IllegalBlockSize|ShortBuffer|AEADBadTag)Exception\b|\bjava\.security\.(?:InvalidKey|InvalidAlgorithmParameter|Signature|Digest)Exception\b|\bjava\.security\.spec\.Invalid(?:KeySpec|ParameterSpec)Exception\b|\bjava\.security\.cert\.Certificate(?:Parsing|Encoding)Exception\b]], "invalid_argument")
S([[\bjava\.security\.cert\.Certificate(?:Expired|NotYetValid|Revoked)Exception\b]], "unavailable.tls")
S([[\bjava\.io\.StreamCorruptedException\b|\bjava\.io\.SyncFailedException\b]], "data_loss")
S([[\bjava\.lang\.(?:InternalError|UnknownError|VirtualMachineError|VerifyError|ClassFormatError|IncompatibleClassChangeError|AbstractMethodError|BootstrapMethodError)\b]], "internal")
S([[\bjava\.lang\.UnsupportedClassVersionError\b]],         "failed_precondition") -- needs a newer runtime
W([[\bjavax\.net\.ssl\.SSL(?:Protocol|Key)?Exception\b|\bjava\.security\.cert\.CertificateException\b]], "unavailable.tls")
W([[\bjava\.net\.SocketException\b]],                      "unavailable")
W([[\bjava\.util\.zip\.(?:ZipException|ZipError)\b|\bjava\.util\.jar\.JarException\b]], "invalid_argument")
W([[\bjava\.util\.zip\.DataFormatException\b]],            "data_loss")
W([[\bjava\.time\.DateTimeException\b]],                   "invalid_argument")
W([[\bjava\.sql\.SQLIntegrityConstraintViolationException\b]], "failed_precondition")
W([[\bjava\.sql\.SQLDataException\b]],                     "invalid_argument")
W([[\bjava\.sql\.SQLInvalidAuthorizationSpecException\b]], "unauthenticated")
W([[\bjava\.sql\.SQLTransactionRollbackException\b]],      "aborted")

---------------------------------------------------------------- git: repository state, objects and refs (git's own messages)
-- The working tree or history is in a state the command refuses: fix the
-- state first (failed_precondition); a name that resolves to nothing is
-- not_found; a ref updated under our feet is a compare-and-swap failure
-- (aborted, retried at a higher level).
S([[pathspec '[^']*' did not match any files|couldn't find remote ref |src refspec \S+ does not match any|fatal: bad object |Not a valid object name |fatal: not a tree object|no tag exactly matches '|No names found, cannot describe anything|does not appear to be a git repository]], "not_found")
S([[could not read (?:Username|Password) for ']],           "unauthenticated")    -- no credentials to offer
S([[refusing to merge unrelated histories|Not possible to fast-forward, aborting|failed to push some refs to|has no upstream branch|untracked working tree files would be overwritten|You have not concluded your (?:merge|cherry-pick|revert)|you need to resolve your current index first|cannot do a partial commit during a merge|You are not currently on a branch|Cannot delete branch '[^']*' checked out at|is not fully merged|could not apply [0-9a-f]{6,}|empty ident name|unable to auto-detect email address|Please tell me who you are]], "failed_precondition")
S([[cannot lock ref '[^']*': is at [0-9a-f]+ but expected]], "aborted")
S([[detected dubious ownership in repository]],            "permission_denied")  -- safe.directory
S([[object file \S+ is empty|fatal: unable to read tree ]], "data_loss")
S([[fatal: bad config line \d+ in file|unknown value for config ']], "invalid_argument")
W([[Could not read from remote repository]],               "unavailable")        -- after the transport's own cause

---------------------------------------------------------------- Go standard library and common packages, texts
R(P_FIRST, [[XML syntax error on line \d+]],               "invalid_argument.parse") -- encoding/xml SyntaxError, before its "unexpected EOF"
S([[\byaml: line \d+: ]],                                  "invalid_argument.parse") -- gopkg.in/yaml
S([[\bwrong number of fields\b]],                          "invalid_argument")   -- encoding/csv ErrFieldCount
S([[\btemplate: [^:\n]+:\d+(?::\d+)?: ]],                  "invalid_argument")   -- text/template and html/template parse/exec errors
S([[\bhttp: request body too large\b]],                    "invalid_argument")   -- MaxBytesReader (HTTP 413)

---------------------------------------------------------------- perl (perldiag), xmllint (libxml2), dpkg, openssl verification, shells
S([[Can't locate \S+\.pm in @INC]],                        "failed_precondition") -- a missing module, like Python's ModuleNotFoundError
S([[Can't locate object method "[^"]*" via package|Not an? (?:ARRAY|HASH|CODE|SCALAR|GLOB) reference at |Can't use (?:string \(.{0,80}\)|an undefined value) as an? \w+ ref|Modification of a read-only value attempted|Undefined subroutine &\S+ called at ]], "internal") -- perldiag: program bugs
S([[Global symbol "[^"]*" requires explicit package name|Execution of \S+ aborted due to compilation errors]], "invalid_argument.parse") -- perldiag: compile errors
S([[failed to load external entity "]],                    "not_found")          -- libxml2 I/O: the file or URL is not there
S([[:\d+: namespace error : ]],                            "invalid_argument.parse")
S([[\S+ fails to validate|does not validate against ]],   "invalid_argument")   -- xmllint --valid / --schema
S([[is not a Debian format archive]],                      "invalid_argument")   -- dpkg-deb
S([[dependency problems prevent (?:configuration|removal) of]], "failed_precondition") -- dpkg
S([[dpkg-query: no packages found matching|is not installed and no information is available|ignoring request to remove \S+ which isn't installed]], "not_found")
S([[needs at least one package archive file argument]],    "invalid_argument")   -- dpkg usage
S([[^\S+: verification failed$|\n\S+: verification failed\b]], "unavailable.tls")  -- openssl verify: the certificate chain does not verify
S([[^(?:Error verifying data|Verification failure|Verify Failure)\b]], "invalid_argument") -- openssl dgst/pkeyutl -verify: the signature does not match the data
S([[you must specify a list of bytes, characters, or fields]], "invalid_argument") -- cut(1)
S([[: division by 0 \(error token is]],                    "invalid_argument")   -- bash arithmetic
S([[: unbound variable$|: unbound variable\n]],            "internal")           -- bash set -u: a script bug
S([[<urlopen error unknown url type: ]],                   "unimplemented")      -- urllib: a scheme no handler knows (as curl 1, CURLE_UNSUPPORTED_PROTOCOL)
S([[RuntimeError: (?:release unlocked lock|cannot release un-acquired lock)]], "failed_precondition") -- threading: a lock in the wrong state
-- MariaDB Connector/J and MySQL Connector/J client texts
S([[\(socket was closed by server\)|Communications link failure]], "unavailable.connection_reset")
S([[\(conn=\d+\) (?:Connection|Statement|ResultSet) is closed\b|\bNo operations allowed after (?:connection|statement) closed]], "failed_precondition") -- used after close
S([[\bCRC check failed\b]],                                "data_loss")          -- Python gzip: a damaged member
S([[too many SQL variables|too many terms in compound SELECT|too many columns on \S+|too many arguments on function]], "invalid_argument") -- SQLite limits (sqlite3_limit): the statement is too big
S([[\b(?:dictionary|set|OrderedDict) changed size during iteration|deque mutated during iteration|dictionary keys changed during iteration]], "internal") -- a program bug
S([[cannot be called from a running event loop|cannot schedule new futures after (?:interpreter )?shutdown]], "failed_precondition") -- asyncio / concurrent.futures used in the wrong state
R(P_FIRST, [[I/O operation on closed file|I/O operation on closed socket]], "failed_precondition") -- Python's ValueError for a closed file: the text decides over the class

---------------------------------------------------------------- OpenSSL 3 error queue and the openssl(1) command
-- "<hex>:error:<code>:<library> routines:<function>:<reason>:<file>:<line>":
-- the decoding libraries (ASN.1, PEM, the DECODER and OBJ layers, X.509
-- parsing) fail on input that is not in the format they read.
S([[:error:[0-9A-F]{8}:(?:asn1 encoding|PEM|DECODER|OBJ|x509 certificate) routines:]], "invalid_argument")
S([[Could not read (?:CRL|certificate request|parameters) from|Unable to load (?:CRL|X509 request)|Error reading (?:S/MIME message|SMIME Content Info)|Error loading file \S+|Error setting RSA length|error reading input file]], "invalid_argument") -- openssl(1)

---------------------------------------------------------------- TLS peers, mail and file transfer, tool chains (capture round 4)
-- Certificate and handshake failures in the words of IO::Socket::SSL,
-- libcurl (git, curl) and GnuTLS; a peer that rejects the client's
-- certificate sends a fatal alert.
S([[hostname verification failed]],                        "unavailable.tls")    -- IO::Socket::SSL
S([[certificate subject name .{0,200}does not match target host name]], "unavailable.tls") -- libcurl
S([[A TLS fatal alert has been received|GnuTLS recv error \(-\d+\)]], "unavailable.tls") -- GnuTLS (git, wget)
-- Mail and FTP texts without a reply code (29-mail-ftp.lua has the codes).
S([[(?i)\blogin incorrect\b]],                              "unauthenticated")    -- FTP 530's usual text, PAM
R(P_FIRST, [[smtplib\.SMTPServerDisconnected: please run connect\(\) first]], "failed_precondition") -- used before connect
-- Object files and assemblers (binutils): input that is not in the format.
S([[(?i)file format not recognized]],                      "invalid_argument")   -- ar, strip, objdump, ld
R(P_FIRST, [[Error: (?:no such instruction|junk at end of line|bad register name|invalid operands)]], "invalid_argument") -- GNU as
-- Runtimes: the text names the cause, whatever the class around it.
R(P_FIRST, [[java\.net\.BindException: Permission denied]],  "permission_denied") -- a privileged port
R(P_FIRST, [[TypeError(?: \[ERR_\w+\])?: Invalid (?:URL|digest|hash|cipher|key length|IV length)\b]], "invalid_argument") -- Node.js argument checks
S([[Unsupported state or unable to authenticate data]],    "invalid_argument")   -- Node.js: a GCM tag that does not match (as "bad decrypt")
S([[Unsupported digest algorithm]],                        "invalid_argument")   -- Ruby OpenSSL::Digest
S([[AF_UNIX path too long]],                               "invalid_argument")   -- a socket path beyond sun_path
S([[Expression tree is too large \(maximum depth \d+\)]],  "invalid_argument")   -- SQLite's SQLITE_MAX_EXPR_DEPTH: the statement
R(P_FIRST, [[Attempt to use ZIP archive that was already closed]], "failed_precondition") -- Python zipfile (a ValueError: the text decides)
R(P_FIRST, [[\bqueue full\b]],                             "resource_exhausted") -- Ruby SizedQueue non-blocking push
R(P_FIRST, [[\bno such service \S+/(?:tcp|udp)\b]],        "not_found")          -- getservbyname
S([[Can't (?:shift|pop) from an empty datastructure]],     "out_of_range")       -- PHP SplDoublyLinkedList
S([[\bPerl v[\d.]+ required--this is only v[\d.]+]],        "failed_precondition") -- `use VERSION`
R(P_FIRST, [[\bnetip\.Parse\w+\(|\bParseAddr\("]],          "invalid_argument")   -- Go net/netip: a value that does not parse
R(P_FIRST, [[executing "[^"]*" at <[^>]*>: map has no entry for key]], "not_found") -- Go text/template, missingkey=error
R(P_FIRST, [[executing "[^"]*" at <[^>]*>: can't evaluate field \w+ in type]], "internal") -- Go text/template: the template is wrong
S([[\bjson: Unmarshal\((?:non-pointer|nil)\b]],            "internal")           -- Go InvalidUnmarshalError: a program bug
S([[(?:MySQL |MariaDB )?[Ss]erver has gone away]],         "unavailable")        -- CR_SERVER_GONE_ERROR (2006) without its number

---------------------------------------------------------------- HTTP and database client libraries (capture round 5)
-- A response cut short: the peer closed before the body was complete (as
-- curl's CURLE_PARTIAL_FILE, 27-curl.lua): a transport failure, retried.
S([[Response payload is not completed]],                   "unavailable.connection_reset") -- aiohttp ClientPayloadError
S([[ResponseContentLengthMismatchError|Response body length does not match content-length header]], "unavailable.connection_reset") -- undici
S([[AxiosError: stream has been aborted|The server aborted pending request]], "unavailable.connection_reset") -- axios, got ReadError
-- The certificate check names the cause, whatever wraps it (Faraday::SSLError,
-- ssl.SSLError, urllib3.exceptions.SSLError).
R(P_FIRST, [[(?i)certificate verify failed]],              "unavailable.tls")
S([[hostname '[^']*' doesn't match ']],                    "unavailable.tls")    -- Python ssl.match_hostname / urllib3
-- Connection pools that are full: the caller may wait and try again.
S([[\bEmptyPoolError\b|Pool reached maximum size and no more connections are allowed]], "resource_exhausted") -- urllib3
-- Server texts that outrank the client's exception class.
R(P_FIRST, [[\bfailed: timeout expired\b]],                "deadline_exceeded")  -- libpq connect_timeout (PG::ConnectionBad)
