// Sanitizer defaults for siltactl, compiled only into sanitizer builds
// (SILTA_SANITIZE). siltactl is a short-lived CLI: when it exits, gRPC's
// executor threads may still hold what they allocated (OpenSSL's per-thread
// error state, TLS objects), which LeakSanitizer then reports at random.
// Only allocations made under gRPC's own frames are suppressed; full
// unwinding makes those frames visible through OpenSSL. Leaks of Silta's
// own code (the SDK included) are still reported, here and in the test
// binaries, which run the same SDK code without this suppression.
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libgrpc.so\nleak:libgpr.so\n";
}
