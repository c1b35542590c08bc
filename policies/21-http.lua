-- HTTP status codes.
-- Authorities: gRPC "HTTP to gRPC Status Code Mapping"
-- (doc/http-grpc-status-mapping.md: 401, 403, 429, 502, 503, 504) and the
-- HTTP equivalents documented for each code in google/rpc/code.proto (400,
-- 404, 409, 412, 416, 499, 500, 501, 504) where the gRPC transport table
-- would turn a REST client error into INTERNAL/UNIMPLEMENTED; RFC 9110 for the
-- semantics of the rest (408, 421, 425 via RFC 8470, 507 via RFC 4918).
-- Retry-After is honoured by the recoveries declared in 10-categories.lua.

local P_COMBO, P_CODE, P_EMBEDDED, P_CLASS = 300, 200, 150, 40

-- status = { category, reason phrase (RFC 9110 / IANA registry) }
local STATUS = {
  [400] = { "invalid_argument", "Bad Request" },
  [401] = { "unauthenticated", "Unauthorized" },
  [402] = { "failed_precondition", "Payment Required" },
  [403] = { "permission_denied", "Forbidden" },
  [404] = { "not_found", "Not Found" },
  [405] = { "unimplemented", "Method Not Allowed" },
  [406] = { "invalid_argument", "Not Acceptable" },
  [407] = { "unauthenticated", "Proxy Authentication Required" },
  [408] = { "deadline_exceeded", "Request Timeout" },
  [409] = { "aborted", "Conflict" },
  [410] = { "not_found", "Gone" },
  [411] = { "invalid_argument", "Length Required" },
  [412] = { "failed_precondition", "Precondition Failed" },
  [413] = { "invalid_argument", "Content Too Large" },
  [414] = { "invalid_argument", "URI Too Long" },
  [415] = { "invalid_argument", "Unsupported Media Type" },
  [416] = { "out_of_range", "Range Not Satisfiable" },
  [417] = { "failed_precondition", "Expectation Failed" },
  [421] = { "unavailable", "Misdirected Request" },
  [422] = { "invalid_argument", "Unprocessable Content" },
  [423] = { "aborted.locked", "Locked" },
  [424] = { "failed_precondition", "Failed Dependency" },
  [425] = { "unavailable", "Too Early" },
  [426] = { "failed_precondition", "Upgrade Required" },
  [428] = { "failed_precondition", "Precondition Required" },
  [429] = { "resource_exhausted.rate_limited", "Too Many Requests" },
  [431] = { "invalid_argument", "Request Header Fields Too Large" },
  [451] = { "permission_denied", "Unavailable For Legal Reasons" },
  [499] = { "cancelled", "Client Closed Request" },
  [500] = { "internal.server_error", "Internal Server Error" },
  [501] = { "unimplemented", "Not Implemented" },
  [502] = { "unavailable", "Bad Gateway" },
  [503] = { "unavailable", "Service Unavailable" },
  [504] = { "unavailable", "Gateway Timeout" },
  [505] = { "unimplemented", "HTTP Version Not Supported" },
  [507] = { "resource_exhausted.storage_full", "Insufficient Storage" },
  [508] = { "internal", "Loop Detected" },
  [511] = { "unauthenticated", "Network Authentication Required" },
}
-- Older reason phrases still printed by many servers and clients.
local ALIASES = {
  [413] = { "Payload Too Large", "Request Entity Too Large" },
  [414] = { "Request-URI Too Long" },
  [416] = { "Requested Range Not Satisfiable" },
  [422] = { "Unprocessable Entity" },
}

local HTTP_DOMAINS = { "http", "https", "rest", "fetch" }

local codes = {}
for s in pairs(STATUS) do codes[#codes + 1] = s end
table.sort(codes)

for _, s in ipairs(codes) do
  local c, phrase = STATUS[s][1], STATUS[s][2]
  local n = tostring(s)
  rule("http-" .. n) {
    when = { domain = HTTP_DOMAINS, code = s }, category = c, priority = P_CODE,
  }
  -- A status in a client library's message.  One rule per shape so each
  -- pattern keeps a literal for the prefilter.
  local phrases = { phrase }
  for _, a in ipairs(ALIASES[s] or {}) do phrases[#phrases + 1] = a end
  for i, p in ipairs(phrases) do
    -- "HTTP/1.1 503 Service Unavailable", "404 Not Found", "(503 Service Unavailable)"
    rule("http-" .. n .. "-status-line-" .. i) {
      when = { message = re("(?i)\\b" .. n .. " " .. p .. "\\b") },
      category = c, priority = P_EMBEDDED,
    }
  end
  -- (each shape is a single literal, so the prefilter keeps them apart)
  local shapes = {
    { "urllib",  "HTTP Error " .. n .. "\\b" },                        -- Python urllib
    { "requests", "\\b" .. n .. (s < 500 and " Client Error\\b" or " Server Error\\b") }, -- requests
    { "curl22",  "returned error: " .. n .. "\\b" },                  -- curl (22)
    { "statuscode", "(?i)status code " .. n .. "\\b" },              -- axios, Go, Java
    { "statuscode2", "(?i)status code: " .. n .. "\\b" },
    { "dotnet",  "does not indicate success: " .. n .. "\\b" },       -- .NET HttpClient
    { "status",  "(?i)status: " .. n .. "\\b" },                      -- "status: 503"
    { "status2", "(?i)status=" .. n .. "\\b" },                       -- "status=503"
    { "http",    "\\bHTTP " .. n .. "\\b" },                          -- "HTTP 429"
    { "got",     "(?i)\\bgot " .. n .. "\\b" },                       -- "got 503 from upstream"
    { "response", "(?i)response code: " .. n .. "\\b" },            -- Java HttpURLConnection
    { "aiohttp", "ClientResponseError: " .. n .. ", message=" },       -- Python aiohttp raise_for_status
    { "faraday", "the server responded with status " .. n .. "\\b" },  -- Ruby Faraday
    { "gotjs",   "Response code " .. n .. " \\(" },                     -- Node got HTTPError
    { "ws",      "Unexpected server response: " .. n .. "\\b" },        -- Node ws upgrade refused
    { "urllib3", "too many " .. n .. " error responses" },              -- urllib3 retries used up on a status
  }
  for _, sh in ipairs(shapes) do
    rule("http-" .. n .. "-" .. sh[1]) {
      when = { message = re(sh[2]) }, category = c, priority = P_EMBEDDED,
    }
  end
end

-- Statuses not listed above: the class decides (RFC 9110 §15).  Client
-- errors are not worth repeating unchanged; server errors are treated like
-- 500 (AWS SDK standard mode and Envoy's `5xx` retry-on retry them).
rule("http-4xx") {
  when = { domain = HTTP_DOMAINS, code = range(400, 499) },
  category = "invalid_argument", priority = P_CLASS,
}
rule("http-5xx") {
  when = { domain = HTTP_DOMAINS, code = range(500, 599) },
  category = "internal.server_error", priority = P_CLASS,
}
