-- POSIX errno: names, Linux numbers and glibc strerror() texts.
-- Authority: Abseil absl::ErrnoToStatusCode (absl/status/status.cc), the
-- published errno -> canonical-code mapping; refinements and the few
-- deviations are documented in docs/taxonomy.md.

local P_CODE, P_EMBEDDED, P_TEXT = 200, 150, 70

local function esc(s) return (s:gsub("[%^%$%(%)%.%[%]%*%+%-%?%{%}%|\\/]", "\\%0")) end

-- { name, Linux number, glibc strerror text, category }
local ERRNO = {
  { "EPERM",        1, "Operation not permitted",            "permission_denied" },
  { "ENOENT",       2, "No such file or directory",          "not_found.file" },
  { "ESRCH",        3, "No such process",                    "not_found" },
  { "EINTR",        4, "Interrupted system call",            "unavailable" },
  { "EIO",          5, "Input/output error",                 "internal.io" },
  { "ENXIO",        6, "No such device or address",          "not_found" },
  { "E2BIG",        7, "Argument list too long",             "invalid_argument" },
  { "EBADF",        9, "Bad file descriptor",                "failed_precondition" },
  { "ECHILD",      10, "No child processes",                 "failed_precondition" },
  { "EAGAIN",      11, "Resource temporarily unavailable",   "unavailable" },
  { "EWOULDBLOCK", 11, nil,                                  "unavailable" },
  { "ENOMEM",      12, "Cannot allocate memory",             "resource_exhausted.memory" },
  { "EACCES",      13, "Permission denied",                  "permission_denied" },
  { "EFAULT",      14, "Bad address",                        "invalid_argument" },
  { "ENOTBLK",     15, "Block device required",              "failed_precondition" },
  { "EBUSY",       16, "Device or resource busy",            "failed_precondition" },
  { "EEXIST",      17, "File exists",                        "already_exists" },
  { "EXDEV",       18, "Invalid cross-device link",          "unimplemented" },
  { "ENODEV",      19, "No such device",                     "not_found" },
  { "ENOTDIR",     20, "Not a directory",                    "failed_precondition" },
  { "EISDIR",      21, "Is a directory",                     "failed_precondition" },
  { "EINVAL",      22, "Invalid argument",                   "invalid_argument" },
  { "ENFILE",      23, "Too many open files in system",      "resource_exhausted.file_descriptors" },
  { "EMFILE",      24, "Too many open files",                "resource_exhausted.file_descriptors" },
  { "ENOTTY",      25, "Inappropriate ioctl for device",     "invalid_argument" },
  { "ETXTBSY",     26, "Text file busy",                     "failed_precondition" },
  { "EFBIG",       27, "File too large",                     "out_of_range" },
  { "ENOSPC",      28, "No space left on device",            "resource_exhausted.storage_full" },
  { "ESPIPE",      29, "Illegal seek",                       "invalid_argument" },
  { "EROFS",       30, "Read-only file system",              "permission_denied.read_only" },
  { "EMLINK",      31, "Too many links",                     "resource_exhausted.quota" },
  { "EPIPE",       32, "Broken pipe",                        "unavailable.connection_reset" },
  { "EDOM",        33, "Numerical argument out of domain",   "invalid_argument" },
  { "ERANGE",      34, "Numerical result out of range",      "out_of_range" },
  { "EDEADLK",     35, "Resource deadlock avoided",          "aborted.deadlock" },
  { "EDEADLOCK",   35, nil,                                  "aborted.deadlock" },
  { "ENAMETOOLONG",36, "File name too long",                 "invalid_argument" },
  { "ENOLCK",      37, "No locks available",                 "unavailable" },
  { "ENOSYS",      38, "Function not implemented",           "unimplemented" },
  { "ENOTEMPTY",   39, "Directory not empty",                "failed_precondition" },
  { "ECHRNG",      44, "Channel number out of range",        "out_of_range" },
  { "EUNATCH",     49, "Protocol driver not attached",       "failed_precondition" },
  { "ETIME",       62, "Timer expired",                      "deadline_exceeded" },
  { "ENONET",      64, "Machine is not on the network",      "unavailable" },
  { "ENOPKG",      65, "Package not installed",              "unimplemented" },
  { "ENOLINK",     67, "Link has been severed",              "unavailable" },
  { "ECOMM",       70, "Communication error on send",        "unavailable" },
  { "EOVERFLOW",   75, "Value too large for defined data type", "out_of_range" },
  { "ENOTUNIQ",    76, "Name not unique on network",         "already_exists" },
  { "EBADFD",      77, "File descriptor in bad state",       "failed_precondition" },
  { "EILSEQ",      84, "Invalid or incomplete multibyte or wide character", "invalid_argument" },
  { "EUSERS",      87, "Too many users",                     "resource_exhausted" },
  { "ENOTSOCK",    88, "Socket operation on non-socket",     "invalid_argument" },
  { "EDESTADDRREQ",89, "Destination address required",       "invalid_argument" },
  { "EMSGSIZE",    90, "Message too long",                   "invalid_argument" },
  { "EPROTOTYPE",  91, "Protocol wrong type for socket",     "invalid_argument" },
  { "ENOPROTOOPT", 92, "Protocol not available",             "invalid_argument" },
  { "EPROTONOSUPPORT", 93, "Protocol not supported",         "unimplemented" },
  { "ESOCKTNOSUPPORT", 94, "Socket type not supported",      "unimplemented" },
  { "ENOTSUP",     95, "Operation not supported",            "unimplemented" },
  { "EOPNOTSUPP",  95, nil,                                  "unimplemented" },
  { "EPFNOSUPPORT",96, "Protocol family not supported",      "unimplemented" },
  { "EAFNOSUPPORT",97, "Address family not supported by protocol", "unimplemented" },
  { "EADDRINUSE",  98, "Address already in use",             "failed_precondition" },
  { "EADDRNOTAVAIL",99, "Cannot assign requested address",   "unavailable" },
  { "ENETDOWN",   100, "Network is down",                    "unavailable" },
  { "ENETUNREACH",101, "Network is unreachable",             "unavailable" },
  { "ENETRESET",  102, "Network dropped connection on reset","unavailable.connection_reset" },
  { "ECONNABORTED",103,"Software caused connection abort",   "unavailable.connection_reset" },
  { "ECONNRESET", 104, "Connection reset by peer",           "unavailable.connection_reset" },
  { "ENOBUFS",    105, "No buffer space available",          "resource_exhausted" },
  { "EISCONN",    106, "Transport endpoint is already connected", "failed_precondition" },
  { "ENOTCONN",   107, "Transport endpoint is not connected","failed_precondition" },
  { "ESHUTDOWN",  108, "Cannot send after transport endpoint shutdown", "failed_precondition" },
  { "ETIMEDOUT",  110, "Connection timed out",               "deadline_exceeded" },
  { "ECONNREFUSED",111,"Connection refused",                 "unavailable.connection_refused" },
  { "EHOSTDOWN",  112, "Host is down",                       "unavailable" },
  { "EHOSTUNREACH",113,"No route to host",                   "unavailable" },
  { "EALREADY",   114, "Operation already in progress",      "already_exists" },
  { "ESTALE",     116, "Stale file handle",                  "aborted" },
  { "EUCLEAN",    117, "Structure needs cleaning",           "data_loss" },
  { "EISNAM",     120, "Is a named type file",               "failed_precondition" },
  { "EDQUOT",     122, "Disk quota exceeded",                "resource_exhausted.storage_full" },
  { "ENOMEDIUM",  123, "No medium found",                    "not_found" },
  { "ECANCELED",  125, "Operation canceled",                 "cancelled" },
  { "ENOKEY",     126, "Required key not available",         "permission_denied" },
}

local DOMAINS = { "posix", "errno", "linux", "libc", "os" }

for _, e in ipairs(ERRNO) do
  local name, num, text, c = e[1], e[2], e[3], e[4]
  -- errno names are distinctive: accept them as the code of any domain
  -- (node's err.code, Ruby's Errno::X, Python's errno.errorcode, ...).
  rule("posix-" .. name) {
    when = { code = name }, category = c, priority = P_CODE,
  }
  rule("posix-" .. name .. "-in-message") {
    when = { message = re("\\b" .. name .. "\\b") }, category = c, priority = P_EMBEDDED,
  }
  if text then
    rule("posix-" .. num) {
      when = { domain = DOMAINS, code = num }, category = c, priority = P_CODE,
    }
    rule("posix-text-" .. name) {
      when = { message = re("(?i)" .. esc(text)) }, category = c, priority = P_TEXT,
    }
  end
end
