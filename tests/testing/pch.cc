// File: tests/testing/pch.cc
//
// Empty: the target silta_test_pch exists for its precompiled header
// (tests/CMakeLists.txt), which every silta_test reuses.
