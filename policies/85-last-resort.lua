-- The last-resort layer: generic signals, tried only when no specific rule
-- matched (priority 10, below every domain, code, text and weak-word rule;
-- the loader orders rules by priority, so this file's position does not
-- matter).  They make fewer events end `unknown` and keep retryability right
-- for the rest: a timeout is retried, a corrupt file is not.  Rule names start
-- with "last-resort-": `faultline triage` treats a decision by one of them as
-- low-confidence and suggests its category for a new specific rule.

local P_LAST = 10
local n = 0
local function L(pattern, c)
  n = n + 1
  rule(string.format("last-resort-%02d-%s", n, c)) {
    -- not on stack-frame or quoted-source lines (see 40-patterns.lua)
    when = { message = re("(?m)^(?![ ]{4}|\\t)[^\\n]*?(?:" .. pattern .. ")") }, category = c, priority = P_LAST,
  }
end

L([[(?i)\btim(?:ed|ing) ?out\b|\btimeout\b]],              "deadline_exceeded")
L([[(?i)\brefused\b]],                                     "unavailable")
L([[(?i)\breset by\b|\bconnection reset\b|\breset\b.{0,20}\bconnection]], "unavailable")
L([[(?i)\b(?:disconnected|hang ?up|hung up|closed the connection|connection closed)\b]], "unavailable")
L([[(?i)\b(?:unreachable|unavailable|no route to host|not reachable)\b]], "unavailable")
L([[(?i)\bEOF\b|\bend of (?:file|stream)\b|\bpremature(?:ly)? end\b]], "unavailable")
L([[(?i)\btry again\b|\bretry later\b|\btemporar(?:y|ily)\b|\btransient\b]], "unavailable")
L([[(?i)\b(?:corrupt(?:ed|ion)?|damaged|checksum|crc)\b]], "data_loss")
L([[(?i)\btruncated\b]],                                   "data_loss")
L([[(?i)\bquota\b]],                                       "resource_exhausted.quota")
L([[(?i)\b(?:exhausted|too many|overloaded|at capacity|limit (?:exceeded|reached)|exceeds? (?:the )?(?:maximum|limit))\b]], "resource_exhausted")
L([[(?i)\bout of (?:memory|space)\b]],                     "resource_exhausted.memory")
L([[(?i)\bdenied\b|\bforbidden\b|\bnot allowed\b|\bpermission\b|\bprivilege]], "permission_denied")
L([[(?i)\bunauthori[sz]ed\b|\bauthenticat|\bcredential|\bpassword\b|\blogin failed\b]], "unauthenticated")
L([[(?i)\bmalformed\b|\binvalid\b|\bbad (?:request|input|format|value|argument|port|number|address|url|option|syntax|parameter)\b|\bnon-(?:integer|numeric)\b|\bunexpected\b|\bexpected\b|\bmissing\b|\bsyntax\b|\bparse\b|\bparsing\b|\billegal\b|\bunrecognized\b|\bunknown (?:option|argument|flag|parameter|type|format|field|cipher|algorithm|suffix|encoding|charset|digest|mode|setting)\b|\busage:]], "invalid_argument")
L([[(?i)\bnot (?:a|an) (?:valid )?\w+ (?:file|archive|directory|document|repository)\b]], "invalid_argument")
L([[(?i)\bnot found\b|\bno such\b|\bdoes(?: not|n't) exist\b|\bmissing\b|\bunknown\b|\bundefined\b|\bcannot find\b|\bcould not find\b]], "not_found")
L([[(?i)\balready (?:exists|in use|defined|registered|running)\b|\bduplicate\b]], "already_exists")
L([[(?i)\bconflict\b|\blocked\b|\block\b]],                "aborted")
L([[(?i)\bcancell?ed\b|\binterrupt(?:ed)?\b|\baborted\b]],  "cancelled")
L([[(?i)\bunsupported\b|\bnot supported\b|\bnot implemented\b|\b(?:doesn't|does not|don't|do not|cannot|can't) support\b]], "unimplemented")
L([[(?i)\bout of (?:range|bounds)\b|\boverflow\b|\btoo (?:large|big)\b]], "out_of_range")
-- "too long" is an argument a call refuses (E2BIG "Argument list too long",
-- ENAMETOOLONG, EMSGSIZE: all invalid_argument in 20-posix.lua).
L([[(?i)\btoo long\b]],                                   "invalid_argument")
L([[(?i)\bbusy\b|\bnot ready\b|\bnot running\b|\bnot (?:yet )?(?:initiali[sz]ed|started|connected)\b|\bstale\b|\bdirty\b]], "failed_precondition")
L([[(?i)\bpanic\b|\bassert(?:ion)?\b|\bnull pointer\b|\bsegfault\b|\bbug\b|\binvariant\b|\bnil\b|\bnull\b|\bundefined\b]], "internal")

-- Below the signals above: a PostgreSQL statement error that no rule knows.
-- "ERROR:" (not FATAL/PANIC) means the server rejected the current command
-- and kept the session; the transient conditions (40001, 40P01, 55P03,
-- 57014, class 08/53/57) all have their own texts, so what is left fails the
-- same way when repeated — most often a class 42/22 statement error
-- (Appendix A).  psql prints "ERROR:  " with two spaces; pgjdbc
-- "PSQLException: ERROR: ".  Low-confidence like the rest of this layer.
rule("last-resort-pg-statement-invalid_argument") {
  when = { message = re[[(?m)^(?:psql:\S+ )?ERROR:  \S|PSQLException: ERROR: \S]] },
  category = "invalid_argument", priority = 5,
}
-- ... except the program's own exception: PL/pgSQL RAISE EXCEPTION is
-- SQLSTATE P0001 (raise_exception, `unknown` in 23-postgres.lua), and psql
-- ("CONTEXT:  PL/pgSQL function ... at RAISE") and pgjdbc ("Where: ...") say
-- where it was raised.
rule("last-resort-pg-raise-unknown") {
  when = { message = re[[PL/pgSQL function .{0,300}\bat RAISE\b]] },
  category = "unknown", priority = 6,
}
