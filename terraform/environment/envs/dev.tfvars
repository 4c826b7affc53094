# dev: every push to main. Sandboxed payments, destroyable.
environment         = "dev"
deletion_protection = false
payments_live       = false
