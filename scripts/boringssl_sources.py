#!/usr/bin/env python3
"""Prints BoringSSL source files named in a generated android-sources.cmake.

Usage: boringssl_sources.py ANDROID_SOURCES_CMAKE PREFIX LIST [LIST...]

meson.build calls this at configure time so that meson compiles the same
BoringSSL files as cmake/boringssl.cmake: for each LIST (a `set(NAME ...)`
block such as crypto_sources or crypto_sources_linux_x86_64) it prints the
listed files, one a line, with ${BORINGSSL_ROOT} replaced by PREFIX. Exits
non-zero if the file or a list is missing or empty.
"""

import re
import sys


def parse_lists(text):
    """Returns {name: [entries]} for every set(NAME ...) block in `text`."""
    lists = {}
    for match in re.finditer(r"^set\((\w+)\s*\n(.*?)^\)", text,
                             re.MULTILINE | re.DOTALL):
        entries = []
        for line in match.group(2).splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                entries.extend(line.split())
        lists[match.group(1)] = entries
    return lists


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    path, prefix, names = argv[1], argv[2], argv[3:]
    try:
        with open(path, encoding="utf-8") as f:
            lists = parse_lists(f.read())
    except OSError as e:
        sys.stderr.write(f"boringssl_sources: cannot read {path}: {e}\n")
        return 1
    for name in names:
        entries = lists.get(name)
        if not entries:
            sys.stderr.write(f"boringssl_sources: no list {name} in {path}\n")
            return 1
        for entry in entries:
            print(entry.replace("${BORINGSSL_ROOT}", prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
