#!/usr/bin/env bash
# Fails if CMake and meson do not build the same project sources.
#
# CMake: the entries of set(MAYFLY_LIB_SOURCES ...) and
# set(MAYFLY_CAPI_SOURCES ...) in CMakeLists.txt and set(MAYFLY_TEST_SOURCES
# ...) in tests/CMakeLists.txt. meson: every quoted 'lib/….cc' or
# 'capi/….cc' in meson.build and every quoted 'name.cc' or 'dir/name.cc' in tests/meson.build.
set -euo pipefail
root="${1:?usage: build_lists_test.sh SOURCE_ROOT}"

# cmake_list FILE NAME prints the entries of set(NAME ...) in FILE, one a
# line, comments dropped.
cmake_list() {
  awk -v name="$2" '
    $0 ~ "^[ \t]*set\\(" name "([ \t]|$)" { inside = 1; sub("^[ \t]*set\\(" name, "") }
    inside {
      sub(/#.*/, "")
      done = sub(/\).*/, "")
      n = split($0, words, /[ \t]+/)
      for (i = 1; i <= n; i++) { if (words[i] != "") { print words[i] } }
      if (done) { inside = 0 }
    }' "$1"
}

cmake_files="$( (cmake_list "$root/CMakeLists.txt" MAYFLY_LIB_SOURCES
                 cmake_list "$root/CMakeLists.txt" MAYFLY_CAPI_SOURCES
                 cmake_list "$root/tests/CMakeLists.txt" MAYFLY_TEST_SOURCES |
                   sed 's#^#tests/#') | sort -u)"
meson_files="$( (grep -ohE "'(lib|capi)/[^']+\.cc'" "$root/meson.build"
                 grep -ohE "'[A-Za-z0-9_/]+\.cc'" "$root/tests/meson.build" |
                   sed "s#^'#'tests/#") | tr -d "'" | sort -u)"

if [ -z "$cmake_files" ] || [ -z "$meson_files" ]; then
  echo "found no sources (cmake: $(echo -n "$cmake_files" | grep -c . || true)," \
       "meson: $(echo -n "$meson_files" | grep -c . || true))"
  exit 1
fi
if [ "$cmake_files" != "$meson_files" ]; then
  echo "CMake and meson source lists differ (< CMake, > meson):"
  diff <(echo "$cmake_files") <(echo "$meson_files") || true
  exit 1
fi
missing="$(cd "$root" && while read -r f; do [ -f "$f" ] || echo "$f"; done \
             <<<"$cmake_files")"
if [ -n "$missing" ]; then
  echo "listed sources that do not exist:"
  echo "$missing"
  exit 1
fi
echo "$(echo "$cmake_files" | wc -l) sources listed in both builds"
