// Placeholder: replaced by the hostile-input suite (tests/hostile/token_test.cc).
