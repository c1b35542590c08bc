local s = ("key=value; "):rep(10)
for k, v in s:gmatch("(%w+)=(%w+)") do rule("r" .. k .. v .. math.random(1e6)) { category = "invalid_argument", when = { message = k } } end
rule "x" { category = "not_found", when = { message = re"^(a|b)*c$", domain = { "a", "b", 3 } }, priority = 2 }
