-- libcurl error codes (CURLcode) and texts.
-- Authority: libcurl-errors(3) and curl_easy_strerror(); transient codes as
-- in curl's own --retry ("timeout, HTTP 408, 429, 500, 502, 503, 504") plus
-- connection failures.  CURLE_HTTP_RETURNED_ERROR (22) is classified by the
-- HTTP status inside its text ("The requested URL returned error: 404"),
-- which the rules of 21-http.lua recognise; only a 22 without a status
-- falls back to the rule below.

local P_CODE, P_EMBEDDED, P_SPECIFIC, P_CLASS = 200, 150, 100, 40
local CU = { "curl", "libcurl" }

-- { code, CURLE name, curl_easy_strerror() text, category }
local CODES = {
  { 1,  "UNSUPPORTED_PROTOCOL", [[Unsupported protocol]],              "unimplemented" },
  { 2,  "FAILED_INIT",          [[Failed initialization]],             "internal" },
  { 3,  "URL_MALFORMAT",        [[URL using bad/illegal format or missing URL]], "invalid_argument" },
  { 4,  "NOT_BUILT_IN",         [[was not found built-in in this libcurl]], "unimplemented" },
  { 5,  "COULDNT_RESOLVE_PROXY",[[Couldn't resolve proxy name]],       "unavailable.dns" },
  { 6,  "COULDNT_RESOLVE_HOST", [[Couldn't resolve host name]],        "unavailable.dns" },
  { 7,  "COULDNT_CONNECT",      [[Couldn't connect to server]],        "unavailable" },
  { 8,  "WEIRD_SERVER_REPLY",   [[Weird server reply]],                "unavailable" },
  { 9,  "REMOTE_ACCESS_DENIED", [[Access denied to remote resource]],  "permission_denied" },
  { 16, "HTTP2",                [[Error in the HTTP2 framing layer]],  "unavailable" },
  { 18, "PARTIAL_FILE",         [[Transferred a partial file]],        "unavailable.connection_reset" },
  { 23, "WRITE_ERROR",          [[Failed writing received data]],      "internal.io" },
  { 25, "UPLOAD_FAILED",        [[Upload failed]],                     "unavailable" },
  { 26, "READ_ERROR",           [[Failed to open/read local data]],    "internal.io" },
  { 27, "OUT_OF_MEMORY",        false,                                 "resource_exhausted.memory" },
  { 28, "OPERATION_TIMEDOUT",   [[Timeout was reached]],               "deadline_exceeded" },
  { 33, "RANGE_ERROR",          [[Requested range was not delivered]], "out_of_range" },
  { 35, "SSL_CONNECT_ERROR",    [[SSL connect error]],                 "unavailable.tls" },
  { 37, "FILE_COULDNT_READ_FILE", [[Couldn't read a file:// file]],    "not_found.file" },
  { 42, "ABORTED_BY_CALLBACK",  [[Operation was aborted by an application callback]], "cancelled" },
  { 43, "BAD_FUNCTION_ARGUMENT",[[A libcurl function was given a bad argument]], "internal" },
  { 45, "INTERFACE_FAILED",     [[Failed binding local connection end]], "unavailable" },
  { 47, "TOO_MANY_REDIRECTS",   [[Number of redirects hit maximum amount]], "failed_precondition" },
  { 48, "UNKNOWN_OPTION",       [[An unknown option was passed in to libcurl]], "invalid_argument" },
  { 49, "SETOPT_OPTION_SYNTAX", false,                                 "invalid_argument" },
  { 52, "GOT_NOTHING",          [[Server returned nothing \(no headers, no data\)]], "unavailable.connection_reset" },
  { 53, "SSL_ENGINE_NOTFOUND",  false,                                 "failed_precondition" },
  { 55, "SEND_ERROR",           [[Failed sending data to the peer]],   "unavailable.connection_reset" },
  { 56, "RECV_ERROR",           [[Failure when receiving data from the peer]], "unavailable.connection_reset" },
  { 58, "SSL_CERTPROBLEM",      [[Problem with the local SSL certificate]], "unavailable.tls" },
  { 59, "SSL_CIPHER",           [[Couldn't use specified SSL cipher]], "unavailable.tls" },
  { 60, "PEER_FAILED_VERIFICATION", [[SSL peer certificate or SSH remote key was not OK]], "unavailable.tls" },
  { 61, "BAD_CONTENT_ENCODING", [[Unrecognized or bad HTTP Content or Transfer-Encoding]], "invalid_argument" },
  { 63, "FILESIZE_EXCEEDED",    [[Maximum file size exceeded]],        "out_of_range" },
  { 67, "LOGIN_DENIED",         [[Login denied]],                      "unauthenticated" },
  { 77, "SSL_CACERT_BADFILE",   [[Problem with the SSL CA cert]],      "unavailable.tls" },
  { 78, "REMOTE_FILE_NOT_FOUND",[[Remote file not found]],             "not_found" },
  { 79, "SSH",                  false,                                 "unavailable" },
  { 80, "SSL_SHUTDOWN_FAILED",  false,                                 "unavailable" },
  { 83, "SSL_ISSUER_ERROR",     false,                                 "unavailable.tls" },
  { 90, "SSL_PINNEDPUBKEYNOTMATCH", false,                             "unavailable.tls" },
  { 91, "SSL_INVALIDCERTSTATUS",false,                                 "unavailable.tls" },
  { 92, "HTTP2_STREAM",         [[Stream error in the HTTP/2 framing layer]], "unavailable" },
  { 94, "AUTH_ERROR",           [[An authentication function returned an error]], "unauthenticated" },
  { 95, "HTTP3",                [[HTTP/3 error]],                      "unavailable" },
  { 97, "PROXY",                [[proxy handshake error]],             "unavailable" },
  -- the rest of libcurl-errors(3), by meaning (the CLI prints "curl: (N) ...")
  { 10, "FTP_ACCEPT_FAILED",    false,                                 "unavailable" },
  { 11, "FTP_WEIRD_PASS_REPLY", false,                                 "unavailable" },
  { 12, "FTP_ACCEPT_TIMEOUT",   false,                                 "deadline_exceeded" },
  { 13, "FTP_WEIRD_PASV_REPLY", false,                                 "unavailable" },
  { 14, "FTP_WEIRD_227_FORMAT", false,                                 "unavailable" },
  { 15, "FTP_CANT_GET_HOST",    false,                                 "unavailable.dns" },
  { 17, "FTP_COULDNT_SET_TYPE", false,                                 "unavailable" },
  { 19, "FTP_COULDNT_RETR_FILE",false,                                 "not_found" },
  { 30, "FTP_PORT_FAILED",      false,                                 "unavailable" },
  { 31, "FTP_COULDNT_USE_REST", false,                                 "unimplemented" },
  { 34, "HTTP_POST_ERROR",      false,                                 "internal" },
  { 36, "BAD_DOWNLOAD_RESUME",  false,                                 "out_of_range" },      -- resume offset past the file's end
  { 38, "LDAP_CANNOT_BIND",     false,                                 "unauthenticated" },
  { 41, "FUNCTION_NOT_FOUND",   false,                                 "unimplemented" },
  { 54, "SSL_ENGINE_SETFAILED", false,                                 "failed_precondition" },
  { 64, "USE_SSL_FAILED",       false,                                 "unavailable.tls" },
  { 65, "SEND_FAIL_REWIND",     false,                                 "failed_precondition" },
  { 66, "SSL_ENGINE_INITFAILED",false,                                 "failed_precondition" },
  { 68, "TFTP_NOTFOUND",        false,                                 "not_found" },
  { 69, "TFTP_PERM",            false,                                 "permission_denied" },
  { 70, "REMOTE_DISK_FULL",     false,                                 "resource_exhausted.storage_full" },
  { 71, "TFTP_ILLEGAL",         false,                                 "invalid_argument" },
  { 72, "TFTP_UNKNOWNID",       false,                                 "not_found" },
  { 73, "REMOTE_FILE_EXISTS",   false,                                 "already_exists" },
  { 74, "TFTP_NOSUCHUSER",      false,                                 "not_found" },
  { 81, "AGAIN",                false,                                 "unavailable" },       -- socket not ready: try again
  { 82, "SSL_CRL_BADFILE",      false,                                 "unavailable.tls" },
  { 84, "FTP_PRET_FAILED",      false,                                 "unimplemented" },
  { 88, "CHUNK_FAILED",         false,                                 "internal" },
  { 89, "NO_CONNECTION_AVAILABLE", false,                              "unavailable" },
  { 93, "RECURSIVE_API_CALL",   false,                                 "internal" },
  { 96, "QUIC_CONNECT_ERROR",   false,                                 "unavailable" },
  { 98, "SSL_CLIENTCERT",       false,                                 "unavailable.tls" },
  { 99, "UNRECOVERABLE_POLL",   false,                                 "internal" },
}

for _, e in ipairs(CODES) do
  local num, NAME, text, c = e[1], e[2], e[3], e[4]
  rule("curl-" .. num) {
    when = { domain = CU, code = { num, "CURLE_" .. NAME } }, category = c, priority = P_CODE,
  }
  -- the curl command: "curl: (7) Failed to connect to ..."
  rule("curl-" .. num .. "-cli") {
    when = { message = re("curl: \\(" .. num .. "\\)") }, category = c, priority = P_EMBEDDED,
  }
  -- PHP's curl_error() and Guzzle: "cURL error 18: transfer closed ..."
  rule("curl-" .. num .. "-php") {
    when = { message = re("cURL error " .. num .. ": ") }, category = c, priority = P_EMBEDDED,
  }
  rule("curl-" .. num .. "-name") {
    when = { message = re("\\bCURLE_" .. NAME .. "\\b") }, category = c, priority = P_EMBEDDED,
  }
  if text then
    rule("curl-text-" .. num) {
      when = { message = re(text) }, category = c, priority = P_SPECIFIC,
    }
  end
end

-- The error buffer texts of the curl command and of libcurl.
local TEXTS = {
  { "resolve",      [[Could not resolve (?:host|proxy): ]],              "unavailable.dns" },
  { "op-timeout",   [[(?:Operation|Connection|Resolving) timed out after \d+ milli]], "deadline_exceeded" },
  { "empty-reply",  [[Empty reply from server]],                         "unavailable.connection_reset" },
  { "partial",      [[transfer closed with (?:\d+ bytes|outstanding read data) remaining to read]], "unavailable.connection_reset" }, -- 18
  { "ssl-cert",     [[SSL certificate problem: ]],                       "unavailable.tls" },
  { "no-alt-name",  [[SSL: no alternative certificate subject name matches]], "unavailable.tls" },
  { "redirects",    [[Maximum \(\d+\) redirects followed]],              "failed_precondition" },
  { "url-rejected", [[URL rejected: ]],                                  "invalid_argument" },
  { "protocol",     [[Protocol "[^"]*" not supported]],                  "unimplemented" },
  { "url-position", [[ in URL position \d+]],                           "invalid_argument" },
  { "open-file",    [[Couldn't open file ]],                             "not_found.file" },
  { "write-out",    [[Failure writing output to destination]],           "internal.io" },
}
for _, t in ipairs(TEXTS) do
  rule("curl-text-" .. t[1]) {
    when = { message = re(t[2]) }, category = t[3], priority = P_SPECIFIC,
  }
end

-- 22 without a recognisable status, and codes not listed: unknown.
rule("curl-22") {
  when = { domain = CU, code = { 22, "CURLE_HTTP_RETURNED_ERROR" } },
  category = "unknown", priority = P_CLASS,
}
