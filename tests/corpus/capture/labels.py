"""Labels from the authorities, independent of the stock pack's rules.

Every function here maps what a failing program *reported* (an SQLSTATE, a
MySQL/MariaDB error number, an errno name, an HTTP status, a RESP error
prefix) to the canonical category that the authority's semantics give, and
returns the authority as text.  The categories and refinements are the ones
docs/taxonomy.md defines; retryability follows from the category.
"""

RETRYABLE = {
    "deadline_exceeded", "resource_exhausted", "resource_exhausted.rate_limited",
    "resource_exhausted.connections", "aborted", "aborted.deadlock", "aborted.serialization",
    "aborted.locked", "internal.server_error", "unavailable", "unavailable.connection_refused",
    "unavailable.connection_reset", "unavailable.dns",
}


def retryable(cat):
    return cat in RETRYABLE


# ---------------------------------------------------------------- SQLSTATE
# PostgreSQL Appendix A: the class gives the category, a few conditions refine it.
PG_CLASS = {
    "08": "unavailable", "0A": "unimplemented", "0B": "failed_precondition",
    "21": "invalid_argument", "22": "invalid_argument", "23": "failed_precondition",
    "24": "failed_precondition", "25": "failed_precondition", "26": "not_found",
    "27": "failed_precondition", "28": "unauthenticated", "2B": "failed_precondition",
    "2D": "failed_precondition", "2F": "internal", "34": "not_found", "38": "internal",
    "39": "internal", "3B": "failed_precondition", "3D": "not_found", "3F": "not_found",
    "40": "aborted", "42": "invalid_argument", "44": "failed_precondition",
    "53": "resource_exhausted", "54": "invalid_argument", "55": "failed_precondition",
    "57": "unavailable", "58": "internal", "72": "failed_precondition", "F0": "internal",
    "HV": "internal", "P0": "internal", "XX": "internal",
}
PG_CODE = {
    # data exceptions: values beyond a type's range (ERANGE semantics)
    "22003": "out_of_range", "22008": "out_of_range", "22001": "out_of_range",
    "2202E": "out_of_range", "22015": "out_of_range",
    # integrity constraints: the value itself is the problem for NOT NULL / CHECK
    "23505": "already_exists", "23502": "invalid_argument", "23514": "invalid_argument",
    # class 42: missing objects, duplicates, privileges
    "42501": "permission_denied", "42P01": "not_found", "42703": "not_found",
    "42883": "not_found", "42704": "not_found", "42P02": "not_found", "42P07": "already_exists",
    "42710": "already_exists", "42P04": "already_exists", "42P06": "already_exists",
    "42723": "already_exists", "42701": "already_exists", "42P03": "already_exists",
    "42P05": "already_exists", "42712": "already_exists",
    # class 40 refinements
    "40001": "aborted.serialization", "40P01": "aborted.deadlock",
    # class 53 refinements
    "53100": "resource_exhausted.storage_full", "53200": "resource_exhausted.memory",
    "53300": "resource_exhausted.connections", "53400": "resource_exhausted.quota",
    # class 55: lock_not_available is a transient lock conflict
    "55P03": "aborted.locked",
    # class 57: query_canceled is a cancellation (statement_timeout: see below)
    "57014": "cancelled", "57P04": "not_found",
    # class 58 / XX
    "58P01": "not_found", "58P02": "already_exists", "XX001": "data_loss", "XX002": "data_loss",
    # PL/pgSQL
    "P0001": "unknown", "P0002": "not_found", "P0003": "failed_precondition",
    "P0004": "internal",
}


def pg_label(state, text=""):
    state = (state or "").upper()
    if state == "57014" and "statement timeout" in text:
        return "deadline_exceeded", "PostgreSQL 57014 query_canceled raised by statement_timeout: a deadline"
    if state in PG_CODE:
        return PG_CODE[state], f"PostgreSQL Appendix A: SQLSTATE {state}"
    if state[:2] in PG_CLASS:
        return PG_CLASS[state[:2]], f"PostgreSQL Appendix A: SQLSTATE class {state[:2]}"
    return None, None


# ---------------------------------------------------------------- MySQL / MariaDB
# MySQL server/client error reference and MariaDB error codes, by meaning.
MY_CODE = {
    1007: "already_exists", 1008: "not_found", 1044: "permission_denied",
    1045: "unauthenticated", 1046: "failed_precondition", 1048: "invalid_argument",
    1049: "not_found", 1050: "already_exists", 1051: "not_found", 1054: "not_found",
    1060: "already_exists", 1061: "already_exists", 1062: "already_exists",
    1064: "invalid_argument", 1065: "invalid_argument", 1067: "invalid_argument",
    1068: "invalid_argument", 1071: "invalid_argument", 1074: "invalid_argument",
    1075: "invalid_argument", 1091: "not_found", 1093: "invalid_argument",
    1094: "not_found", 1101: "invalid_argument", 1109: "not_found", 1111: "invalid_argument",
    1113: "invalid_argument", 1117: "invalid_argument", 1118: "invalid_argument",
    1136: "invalid_argument", 1140: "invalid_argument", 1142: "permission_denied",
    1143: "permission_denied", 1146: "not_found", 1149: "invalid_argument",
    1166: "invalid_argument", 1172: "failed_precondition", 1175: "failed_precondition",
    1176: "not_found", 1193: "not_found", 1205: "aborted.locked", 1213: "aborted.deadlock",
    1216: "failed_precondition", 1217: "failed_precondition", 1222: "invalid_argument",
    1226: "resource_exhausted.quota", 1227: "permission_denied", 1231: "invalid_argument",
    1232: "invalid_argument", 1235: "unimplemented", 1241: "invalid_argument",
    1242: "invalid_argument", 1248: "invalid_argument", 1264: "out_of_range",
    1265: "invalid_argument", 1292: "invalid_argument", 1295: "unimplemented",
    1305: "not_found", 1317: "cancelled", 1318: "invalid_argument", 1329: "not_found",
    1364: "invalid_argument", 1365: "invalid_argument", 1366: "invalid_argument",
    1367: "invalid_argument", 1406: "out_of_range", 1411: "invalid_argument",
    1415: "invalid_argument", 1451: "failed_precondition", 1452: "failed_precondition",
    1525: "invalid_argument", 1582: "invalid_argument", 1583: "invalid_argument",
    1630: "not_found", 1644: "unknown", 1690: "out_of_range", 1792: "failed_precondition",
    1054: "not_found", 1040: "resource_exhausted.connections", 1203: "resource_exhausted.connections",
    1969: "deadline_exceeded", 3024: "deadline_exceeded", 4025: "invalid_argument",
    4078: "invalid_argument", 1146: "not_found", 1347: "invalid_argument",
    1359: "already_exists", 1360: "not_found", 1304: "already_exists", 1356: "invalid_argument",
    1396: "failed_precondition", 1133: "not_found", 1141: "not_found", 1227: "permission_denied",
    1290: "failed_precondition", 1357: "failed_precondition", 1064: "invalid_argument",
    1327: "not_found", 1146: "not_found", 1216: "failed_precondition", 1062: "already_exists",
    1179: "failed_precondition", 1568: "failed_precondition", 1195: "data_loss",
    1030: "internal", 1105: "unknown", 1120: "unimplemented", 1192: "failed_precondition",
    1178: "unimplemented", 1286: "unimplemented", 1050: "already_exists",
    2002: "unavailable", 2003: "unavailable", 2005: "unavailable.dns", 2006: "unavailable",
    2013: "unavailable", 2026: "unavailable.tls", 1159: "deadline_exceeded",
    1158: "unavailable", 1153: "invalid_argument", 1030: "internal", 1114: "resource_exhausted.storage_full",
    1021: "resource_exhausted.storage_full", 1038: "resource_exhausted.memory",
    1041: "resource_exhausted.memory", 1037: "resource_exhausted.memory",
    3819: "invalid_argument", 1698: "unauthenticated", 1370: "permission_denied",
    1449: "not_found", 1644: "unknown", 1054: "not_found", 1410: "permission_denied",
    1227: "permission_denied", 1095: "permission_denied", 1053: "unavailable",
    1927: "unavailable", 4031: "unavailable", 1139: "invalid_argument", 1115: "invalid_argument",
    1298: "invalid_argument", 1273: "invalid_argument", 1397: "not_found", 1400: "failed_precondition",
    1100: "failed_precondition", 1106: "not_found",
}


def my_label(code):
    try:
        code = int(code)
    except (TypeError, ValueError):
        return None, None
    if code in MY_CODE:
        return MY_CODE[code], f"MariaDB/MySQL error reference: error {code}"
    return None, None


# ---------------------------------------------------------------- errno
# absl::ErrnoToStatusCode, with the three deviations docs/taxonomy.md states
# (EPIPE and EADDRNOTAVAIL on connect -> unavailable, EIO -> internal.io).
ERRNO = {
    "EINVAL": "invalid_argument", "ENAMETOOLONG": "invalid_argument", "E2BIG": "invalid_argument",
    "EDESTADDRREQ": "invalid_argument", "EDOM": "invalid_argument", "EFAULT": "invalid_argument",
    "EILSEQ": "invalid_argument", "ENOPROTOOPT": "invalid_argument", "ENOTSOCK": "invalid_argument",
    "ENOTTY": "invalid_argument", "EPROTOTYPE": "invalid_argument", "ESPIPE": "invalid_argument",
    "ETIMEDOUT": "deadline_exceeded", "ETIME": "deadline_exceeded",
    "ENODEV": "not_found", "ENOENT": "not_found", "ENXIO": "not_found", "ESRCH": "not_found",
    "EEXIST": "already_exists", "EALREADY": "already_exists",
    "EPERM": "permission_denied", "EACCES": "permission_denied", "EROFS": "permission_denied.read_only",
    "ENOTEMPTY": "failed_precondition", "EISDIR": "failed_precondition", "ENOTDIR": "failed_precondition",
    "EADDRINUSE": "failed_precondition", "EBADF": "failed_precondition", "EBUSY": "failed_precondition",
    "ECHILD": "failed_precondition", "EISCONN": "failed_precondition", "ENOTCONN": "failed_precondition",
    "ETXTBSY": "failed_precondition", "ESHUTDOWN": "failed_precondition",
    "ENOSPC": "resource_exhausted.storage_full", "EDQUOT": "resource_exhausted.storage_full",
    "EMFILE": "resource_exhausted.file_descriptors", "ENFILE": "resource_exhausted.file_descriptors",
    "EMLINK": "resource_exhausted.quota", "ENOBUFS": "resource_exhausted", "ENOMEM": "resource_exhausted.memory",
    "EFBIG": "out_of_range", "EOVERFLOW": "out_of_range", "ERANGE": "out_of_range",
    "ENOSYS": "unimplemented", "ENOTSUP": "unimplemented", "EOPNOTSUPP": "unimplemented",
    "EAFNOSUPPORT": "unimplemented", "EPROTONOSUPPORT": "unimplemented", "EXDEV": "unimplemented",
    "EAGAIN": "unavailable", "ECONNREFUSED": "unavailable", "ECONNABORTED": "unavailable",
    "ECONNRESET": "unavailable", "EINTR": "unavailable", "EHOSTDOWN": "unavailable",
    "EHOSTUNREACH": "unavailable", "ENETDOWN": "unavailable", "ENETUNREACH": "unavailable",
    "ENETRESET": "unavailable", "ENOLCK": "unavailable", "EPIPE": "unavailable",
    "EADDRNOTAVAIL": "unavailable", "EIO": "internal.io", "EDEADLK": "aborted",
}


def errno_label(name):
    if name in ERRNO:
        return ERRNO[name], f"absl::ErrnoToStatusCode: {name}"
    return None, None


# ---------------------------------------------------------------- HTTP
HTTP = {
    400: ("invalid_argument", "google.rpc.Code: INVALID_ARGUMENT <-> HTTP 400"),
    401: ("unauthenticated", "gRPC HTTP-to-status mapping: 401 -> UNAUTHENTICATED"),
    403: ("permission_denied", "gRPC HTTP-to-status mapping: 403 -> PERMISSION_DENIED"),
    404: ("not_found", "google.rpc.Code: NOT_FOUND <-> HTTP 404"),
    405: ("unimplemented", "RFC 9110 15.5.6: method not supported by the target"),
    408: ("deadline_exceeded", "RFC 9110 15.5.9 Request Timeout"),
    409: ("aborted", "google.rpc.Code: ABORTED <-> HTTP 409"),
    410: ("not_found", "RFC 9110 15.5.11 Gone"),
    412: ("failed_precondition", "RFC 9110 15.5.13 Precondition Failed"),
    413: ("invalid_argument", "RFC 9110 15.5.14 Content Too Large"),
    415: ("invalid_argument", "RFC 9110 15.5.16 Unsupported Media Type"),
    416: ("out_of_range", "RFC 9110 15.5.17 Range Not Satisfiable"),
    422: ("invalid_argument", "RFC 9110 15.5.21 Unprocessable Content"),
    429: ("resource_exhausted.rate_limited", "RFC 6585 4 Too Many Requests"),
    500: ("internal.server_error", "google.rpc.Code INTERNAL <-> 500; AWS SDK standard retry mode retries 500"),
    501: ("unimplemented", "google.rpc.Code UNIMPLEMENTED <-> 501"),
    502: ("unavailable", "gRPC HTTP-to-status mapping: 502 -> UNAVAILABLE"),
    503: ("unavailable", "gRPC HTTP-to-status mapping: 503 -> UNAVAILABLE"),
    504: ("unavailable", "gRPC HTTP-to-status mapping: 504 -> UNAVAILABLE"),
    507: ("resource_exhausted.storage_full", "RFC 4918 11.5 Insufficient Storage"),
}

# Refinements whose retryability differs from their parent's are kept; the
# others are reduced to the canonical category (the corpus test accepts any
# refinement of a label, so a label never asks for more than the authority says).
KEEP = {"unavailable.tls", "resource_exhausted.storage_full", "resource_exhausted.memory",
        "resource_exhausted.file_descriptors", "resource_exhausted.quota", "internal.server_error"}


def norm(cat):
    if cat in KEEP or "." not in cat:
        return cat
    return cat.split(".", 1)[0]
