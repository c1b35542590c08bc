-- gRPC status codes, by name and number.
-- Authority: grpc/grpc doc/statuscodes.md (the canonical codes are the
-- categories themselves).  Recognised in a message as each runtime prints
-- them: Go "rpc error: code = Unavailable desc = ...", Python
-- "StatusCode.UNAVAILABLE", Java "StatusRuntimeException: UNAVAILABLE: ...",
-- Node "14 UNAVAILABLE: ...".

local P_CODE, P_EMBEDDED = 200, 150

-- { number, NAME, Go String() name, category }
local CODES = {
  { 1,  "CANCELLED",           "Canceled",           "cancelled" },
  { 2,  "UNKNOWN",             "Unknown",            "unknown" },
  { 3,  "INVALID_ARGUMENT",    "InvalidArgument",    "invalid_argument" },
  { 4,  "DEADLINE_EXCEEDED",   "DeadlineExceeded",   "deadline_exceeded" },
  { 5,  "NOT_FOUND",           "NotFound",           "not_found" },
  { 6,  "ALREADY_EXISTS",      "AlreadyExists",      "already_exists" },
  { 7,  "PERMISSION_DENIED",   "PermissionDenied",   "permission_denied" },
  { 8,  "RESOURCE_EXHAUSTED",  "ResourceExhausted",  "resource_exhausted" },
  { 9,  "FAILED_PRECONDITION", "FailedPrecondition", "failed_precondition" },
  { 10, "ABORTED",             "Aborted",            "aborted" },
  { 11, "OUT_OF_RANGE",        "OutOfRange",         "out_of_range" },
  { 12, "UNIMPLEMENTED",       "Unimplemented",      "unimplemented" },
  { 13, "INTERNAL",            "Internal",           "internal" },
  { 14, "UNAVAILABLE",         "Unavailable",        "unavailable" },
  { 15, "DATA_LOSS",           "DataLoss",           "data_loss" },
  { 16, "UNAUTHENTICATED",     "Unauthenticated",    "unauthenticated" },
}

for _, g in ipairs(CODES) do
  local num, NAME, Go, c = g[1], g[2], g[3], g[4]
  rule("grpc-" .. NAME) {
    when = { domain = { "grpc", "grpc-web", "connect" },
             code = { num, NAME, Go, NAME:lower() } },
    category = c, priority = P_CODE,
  }
  rule("grpc-" .. NAME .. "-go") {
    when = { message = re("code = " .. Go .. "\\b") }, category = c, priority = P_EMBEDDED,
  }
  rule("grpc-" .. NAME .. "-python") {
    when = { message = re("StatusCode\\." .. NAME .. "\\b") }, category = c, priority = P_EMBEDDED,
  }
  rule("grpc-" .. NAME .. "-java") {
    when = { message = re("(?:Status(?:Runtime)?Exception): " .. NAME .. "\\b") },
    category = c, priority = P_EMBEDDED,
  }
  rule("grpc-" .. NAME .. "-node") {
    when = { message = re("\\b" .. num .. " " .. NAME .. ": ") }, category = c, priority = P_EMBEDDED,
  }
end
-- Go spells CANCELLED "Canceled"; some ports print "Cancelled".
rule("grpc-CANCELLED-go-uk") {
  when = { message = re"code = Cancelled\b" }, category = "cancelled", priority = P_EMBEDDED,
}
