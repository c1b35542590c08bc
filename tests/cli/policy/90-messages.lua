messages "en" {
  unknown = "Something went wrong. Please try again later.",
  unavailable = "The service is temporarily unavailable (attempts left: {attempts_left|none}).",
  ["unavailable.connection_refused"] = "We could not connect to a required service.",
  ["resource_exhausted.rate_limited"] = "Too many requests. Please wait {delay_s} s.",
  not_found = "We could not find what you asked for.",
  already_exists = "This {field|value} is already taken.",
  cancelled = "The request was cancelled.",
}

messages "fr" {
  unknown = "Une erreur est survenue. Veuillez réessayer plus tard.",
  unavailable = "Le service est momentanément indisponible.",
  already_exists = "Cette valeur ({field|champ}) est déjà utilisée.",
}
