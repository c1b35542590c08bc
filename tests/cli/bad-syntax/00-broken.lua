rule "ok" { category = "internal" }

rule "broken" { category = "internal", when = { code = 1 }
rule "next" { category = "internal" }
