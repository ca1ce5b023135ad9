// Placeholder: replaced by the hostile-input suite (tests/hostile/renew_test.cc).
