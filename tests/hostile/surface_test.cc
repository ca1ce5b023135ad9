// Placeholder: replaced by the hostile-input suite (tests/hostile/surface_test.cc).
