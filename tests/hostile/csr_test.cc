// Placeholder: replaced by the hostile-input suite (tests/hostile/csr_test.cc).
