-- wrk script for `faultline serve`: one event per request, keep-alive.
--   wrk -t1 -c32 -d5s --latency -s bench/serve/decide.lua http://127.0.0.1:7787/v1/decide
wrk.method = "POST"
wrk.body = '{"message":"connect ECONNREFUSED 10.0.0.7:5432","op":"db.query","tags":{"service":"orders"}}'
wrk.headers["Content-Type"] = "application/json"
