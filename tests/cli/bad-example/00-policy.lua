rule "everything" { category = "internal" }

example "claims the wrong category" {
  event = { message = "disk full" },
  expect = { category = "resource_exhausted" },
}
