rule "l" { category = "internal", handler = function() local t = {} for i = 1, 1e9 do t[#t+1] = tostring(i):rep(10) end end }
