#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "catch2/catch.hpp"

namespace mayfly {
namespace testing {

std::string TestdataPath(absl::string_view path) {
  return absl::StrCat(MAYFLY_TESTDATA_DIR, "/", path);
}

std::string TestsDir() { return MAYFLY_TESTS_DIR; }

std::string Testdata(absl::string_view path) {
  std::ifstream in(TestdataPath(path), std::ios::binary);
  INFO("reading testdata " << path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult Run(const std::string& command, absl::string_view input) {
  TempDir dir;
  std::string in_path = dir.Write("stdin", input);
  std::string out_path = absl::StrCat(dir.path(), "/out");
  std::string full = absl::StrCat("( ", command, " ) <", ShellQuote(in_path),
                                  " >", ShellQuote(out_path), " 2>&1");
  int rc = system(full.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::ifstream out(out_path, std::ios::binary);
  std::stringstream ss;
  ss << out.rdbuf();
  result.output = ss.str();
  return result;
}

TempDir::TempDir() {
  std::string tmpl = "/tmp/mayfly-test-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  REQUIRE(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::string cmd = absl::StrCat("rm -rf ", ShellQuote(path_));
  if (system(cmd.c_str()) != 0) {
    std::cerr << "could not remove " << path_ << "\n";
  }
}

std::string TempDir::Write(absl::string_view name,
                           absl::string_view contents) const {
  std::string p = absl::StrCat(path_, "/", name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  REQUIRE(out.good());
  return p;
}

std::string ShellQuote(absl::string_view s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

bool StatusIs(const absl::Status& status, absl::StatusCode code,
              absl::string_view fragment) {
  bool ok = status.code() == code &&
            status.message().find(fragment) != absl::string_view::npos;
  if (!ok) {
    std::cerr << "status " << status << " is not "
              << absl::StatusCodeToString(code) << " containing \"" << fragment
              << "\"\n";
  }
  return ok;
}

}  // namespace testing
}  // namespace mayfly
