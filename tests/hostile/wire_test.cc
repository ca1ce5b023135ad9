// Placeholder: replaced by the hostile-input suite (tests/hostile/wire_test.cc).
