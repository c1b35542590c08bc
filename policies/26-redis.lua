-- Redis error prefixes.
-- Authority: the Redis protocol specification (RESP: "the first word of an
-- error is its kind") and the server's error texts (server.c shared
-- objects); cluster redirections and TRYAGAIN per the Redis Cluster
-- specification; READONLY per the Sentinel client guidelines (reconnect to
-- the new master and retry).

local P_CODE, P_EMBEDDED = 200, 150
local RD = { "redis", "valkey", "keydb" }

-- { prefix, message pattern, category }
local PREFIXES = {
  { "WRONGTYPE",   [[\bWRONGTYPE\b]],                        "failed_precondition" }, -- the key's current type: gRPC's own example of FAILED_PRECONDITION is rmdir on a non-directory
  { "OOM",         [[\bOOM command not allowed]],            "resource_exhausted.memory" },
  { "BUSY",        [[\bBUSY Redis is busy]],                 "unavailable" },
  { "BUSYKEY",     [[\bBUSYKEY\b]],                          "already_exists" },
  { "LOADING",     [[\bLOADING Redis is loading]],           "unavailable" },
  { "READONLY",    [[\bREADONLY You can't write against]],   "unavailable" },
  { "NOAUTH",      [[\bNOAUTH\b]],                           "unauthenticated" },
  { "WRONGPASS",   [[\bWRONGPASS\b]],                        "unauthenticated" },
  { "NOPERM",      [[\bNOPERM\b]],                           "permission_denied" },
  { "MOVED",       [[\bMOVED \d+ \S+:\d+]],                  "unavailable" },
  { "ASK",         [[\bASK \d+ \S+:\d+]],                    "unavailable" },
  { "CLUSTERDOWN", [[\bCLUSTERDOWN\b]],                      "unavailable" },
  { "TRYAGAIN",    [[\bTRYAGAIN\b]],                         "unavailable" },
  { "CROSSSLOT",   [[\bCROSSSLOT\b]],                        "invalid_argument" },
  { "MASTERDOWN",  [[\bMASTERDOWN\b]],                       "unavailable" },
  { "NOREPLICAS",  [[\bNOREPLICAS\b]],                       "unavailable" },
  { "NOSCRIPT",    [[\bNOSCRIPT\b]],                         "not_found" },
  { "NOTBUSY",     [[\bNOTBUSY\b]],                          "failed_precondition" },
  { "EXECABORT",   [[\bEXECABORT\b]],                        "failed_precondition" },
  { "MISCONF",     [[\bMISCONF\b]],                          "failed_precondition" },
  { "UNBLOCKED",   [[\bUNBLOCKED\b]],                        "cancelled" },
  { "NOPROTO",     [[\bNOPROTO\b]],                          "unimplemented" },
}
for _, p in ipairs(PREFIXES) do
  rule("redis-" .. p[1]) {
    when = { domain = RD, code = p[1] }, category = p[3], priority = P_CODE,
  }
  rule("redis-" .. p[1] .. "-in-message") {
    when = { message = re(p[2]) }, category = p[3], priority = P_EMBEDDED,
  }
end

-- Generic "ERR" replies.
local ERR = {
  { "unknown-command", [[\bERR unknown (?:sub)?command\b]],          "unimplemented" },
  { "arity",           [[\bERR wrong number of arguments\b]],        "invalid_argument" },
  { "not-integer",     [[\bERR value is not an? \w+]],                "invalid_argument" },
  { "syntax",          [[\bERR syntax error\b]],                     "invalid_argument.parse" },
  { "max-clients",     [[\bERR max number of clients reached]],      "resource_exhausted.connections" },
  { "no-such-key",     [[\bERR no such key\b]],                      "not_found" },
  { "auth-no-pass",    [[\bERR (?:AUTH|Client sent AUTH)[^\n]*(?:no password is set|without any password configured)]], "failed_precondition" },
  { "invalid-password",[[\bERR invalid password\b]],                 "unauthenticated" },
}
for _, e in ipairs(ERR) do
  rule("redis-err-" .. e[1]) {
    when = { message = re(e[2]) }, category = e[3], priority = P_EMBEDDED,
  }
end
