-- SMTP and FTP reply codes.
-- Authorities: RFC 5321 §4.2 (SMTP reply codes: 4yz is a transient negative
-- completion, 5yz a permanent one), RFC 4954 §6 (AUTH: 530, 534, 535, 538),
-- RFC 3463 (the enhanced status code "x.y.z" printed after the reply code),
-- RFC 959 §4.2 (FTP reply codes), mapped to the canonical codes by meaning
-- (grpc/grpc doc/statuscodes.md).
--
-- Events carry the reply as code in domain "smtp" or "ftp"; without a domain
-- the reply is found in the shapes client libraries print: Python smtplib
-- "(552, b'5.2.2 ...')" and ftplib "error_perm: 530 ...", Ruby and Perl
-- "Net::SMTP...: 421 ...", curl "RCPT failed: 452", and the bare SMTP reply
-- line "552 5.2.2 ..." (a reply code followed by an enhanced status code,
-- which only SMTP prints).

local P_COMBO, P_CODE, P_EMBEDDED, P_CLASS = 300, 200, 150, 40

local SMTP = {
  [421] = "unavailable",                     -- service not available, closing channel
  [450] = "unavailable",                     -- mailbox busy / temporarily unavailable
  [451] = "unavailable",                     -- local error in processing (transient)
  [452] = "resource_exhausted",              -- insufficient system storage (transient)
  [455] = "unavailable",                     -- unable to accommodate parameters now
  [500] = "invalid_argument",                -- syntax error, command unrecognised
  [501] = "invalid_argument",                -- syntax error in parameters
  [502] = "unimplemented",                   -- command not implemented
  [503] = "failed_precondition",             -- bad sequence of commands
  [504] = "unimplemented",                   -- parameter not implemented
  [530] = "unauthenticated",                 -- authentication required (RFC 4954)
  [534] = "unauthenticated",                 -- mechanism too weak (RFC 4954)
  [535] = "unauthenticated",                 -- credentials invalid (RFC 4954)
  [538] = "failed_precondition",             -- encryption required (RFC 4954)
  [550] = "not_found",                       -- mailbox unavailable (not found)
  [551] = "not_found",                       -- user not local
  [552] = "resource_exhausted.storage_full", -- exceeded storage allocation
  [553] = "invalid_argument",                -- mailbox name not allowed (syntax)
  [555] = "invalid_argument",                -- MAIL/RCPT parameters not recognised
}

local FTP = {
  [421] = "unavailable",                     -- service not available, closing connection
  [425] = "unavailable",                     -- can't open data connection
  [426] = "unavailable",                     -- connection closed, transfer aborted
  [450] = "unavailable",                     -- file unavailable (busy)
  [451] = "unavailable",                     -- local error in processing
  [452] = "resource_exhausted",              -- insufficient storage space
  [500] = "invalid_argument",                -- syntax error, command unrecognised
  [501] = "invalid_argument",                -- syntax error in parameters
  [502] = "unimplemented",                   -- command not implemented
  [503] = "failed_precondition",             -- bad sequence of commands
  [504] = "unimplemented",                   -- parameter not implemented
  [530] = "unauthenticated",                 -- not logged in
  [532] = "unauthenticated",                 -- need account for storing files
  [550] = "not_found",                       -- file unavailable (not found, no access)
  [551] = "invalid_argument",                -- page type unknown
  [552] = "resource_exhausted.storage_full", -- exceeded storage allocation
  [553] = "invalid_argument",                -- file name not allowed
}

local function sorted(t)
  local k = {}
  for c in pairs(t) do k[#k + 1] = c end
  table.sort(k)
  return k
end

-- One rule per shape so that each pattern keeps its own literal for the
-- prefilter (see 21-http.lua).
for _, s in ipairs(sorted(SMTP)) do
  local c, n = SMTP[s], tostring(s)
  rule("smtp-" .. n) { when = { domain = "smtp", code = s }, category = c, priority = P_CODE }
  local shapes = {
    -- "552 5.2.2 ..." (RFC 3463: the enhanced code's class is the reply's
    -- first digit); "552-5.2.2" on a continued reply.  Written out so that
    -- the literal is "552 5." (a bare "552" would send every message with
    -- that number in it to PCRE2: +40 ns a decision on bench_decide).
    { "enhanced", "\\b" .. n .. " " .. n:sub(1, 1) .. "\\.\\d{1,3}\\.\\d{1,3}\\b" },
    { "enhanced-cont", "\\b" .. n .. "-" .. n:sub(1, 1) .. "\\.\\d{1,3}\\.\\d{1,3}\\b" },
    { "smtplib",  "smtplib\\.SMTP\\w*: .{0,200}?\\(" .. n .. ", b['\"]" },     -- Python smtplib
    { "net",      "Net::SMTP\\w*: " .. n .. "\\b" },                          -- Ruby and Perl Net::SMTP
  }
  for _, sh in ipairs(shapes) do
    rule("smtp-" .. n .. "-" .. sh[1]) { when = { message = re(sh[2]) }, category = c, priority = P_EMBEDDED }
  end
  -- curl reports a refused SMTP command as CURLE_SEND_ERROR (55) or
  -- CURLE_RECV_ERROR (56) with the reply in the text: the reply names the
  -- cause, the curl code only says that the transfer stopped.
  rule("smtp-" .. n .. "-command") {
    when = { message = re("\\b(?:MAIL|RCPT|DATA|AUTH|EHLO|HELO|STARTTLS) failed: " .. n .. "\\b") },
    category = c, priority = P_COMBO,
  }
end

for _, s in ipairs(sorted(FTP)) do
  local c, n = FTP[s], tostring(s)
  rule("ftp-" .. n) { when = { domain = "ftp", code = s }, category = c, priority = P_CODE }
  local shapes = {
    { "ftplib", "ftplib\\.error_(?:perm|temp|reply|proto): " .. n .. "\\b" },  -- Python ftplib
    { "net",    "Net::FTP\\w*: " .. n .. "\\b" },                              -- Ruby Net::FTP
    { "rb",     "(?s)\\b" .. n .. " [^\\n]{0,200}\\n? ?\\(Net::FTP\\w*\\)" },  -- Ruby's message line
  }
  for _, sh in ipairs(shapes) do
    rule("ftp-" .. n .. "-" .. sh[1]) { when = { message = re(sh[2]) }, category = c, priority = P_EMBEDDED }
  end
end

-- Replies not listed: the class decides (RFC 5321 §4.2.1, RFC 959 §4.2.1):
-- a transient negative completion may succeed when repeated, a permanent one
-- will not.
rule("mail-ftp-4xx") { when = { domain = { "smtp", "ftp" }, code = range(400, 499) }, category = "unavailable", priority = P_CLASS }
rule("mail-ftp-5xx") { when = { domain = { "smtp", "ftp" }, code = range(500, 599) }, category = "failed_precondition", priority = P_CLASS }
