policy { name = "keys8x8", version = "1" }
rule "wide" { when = { domain = { "d0","d1","d2","d3","d4","d5","d6","d7" }, code = { "c0","c1","c2","c3","c4","c5","c6","c7" } }, category = "unavailable" }
example "absent key" { event = { domain = "http", code = 503 }, expect = { rule = "default" } }
