// Placeholder: replaced by the secure-defaults tests.
