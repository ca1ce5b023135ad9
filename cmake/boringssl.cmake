# cmake/boringssl.cmake: finds or builds BoringSSL for mayfly.
#
# Sets, for the rest of the build:
#   MAYFLY_BSSL_INCLUDE_DIR  the BoringSSL headers
#   MAYFLY_BSSL_OBJECTS      object files bundled into libmayfly (static and
#                            shared), so an installed libmayfly.a needs no
#                            separate BoringSSL; or, in install-prefix mode,
#   MAYFLY_BSSL_ARCHIVES     the static archives to link instead.
#
# Sources, in order of preference:
#   MAYFLY_BORINGSSL_ROOT        an install prefix holding include/openssl and
#                                lib/libcrypto.a + lib/libssl.a (a user's own
#                                pinned build, compiled with -fPIC and
#                                -fvisibility=hidden to be embedded)
#   MAYFLY_BORINGSSL_SOURCE_DIR  a source tree: Debian's source package
#                                android-platform-external-boringssl (has
#                                android-sources.cmake; the default, fetched
#                                by scripts/setup into third_party/boringssl),
#                                or an upstream checkout (has CMakeLists.txt)

set(MAYFLY_BORINGSSL_ROOT "" CACHE PATH
    "Install prefix of a BoringSSL build to use instead of building one")
set(MAYFLY_BORINGSSL_SOURCE_DIR "${PROJECT_SOURCE_DIR}/third_party/boringssl"
    CACHE PATH "BoringSSL source tree (Debian source package or upstream)")

set(MAYFLY_BSSL_OBJECTS "")
set(MAYFLY_BSSL_ARCHIVES "")

if(MAYFLY_BORINGSSL_ROOT)
  find_path(MAYFLY_BSSL_INCLUDE_DIR openssl/is_boringssl.h
            PATHS "${MAYFLY_BORINGSSL_ROOT}/include" NO_DEFAULT_PATH)
  find_library(_bssl_crypto NAMES libcrypto.a
               PATHS "${MAYFLY_BORINGSSL_ROOT}/lib" NO_DEFAULT_PATH)
  find_library(_bssl_ssl NAMES libssl.a
               PATHS "${MAYFLY_BORINGSSL_ROOT}/lib" NO_DEFAULT_PATH)
  if(NOT MAYFLY_BSSL_INCLUDE_DIR OR NOT _bssl_crypto OR NOT _bssl_ssl)
    message(FATAL_ERROR "MAYFLY_BORINGSSL_ROOT=${MAYFLY_BORINGSSL_ROOT} has no "
            "BoringSSL headers and static libcrypto.a/libssl.a")
  endif()
  set(MAYFLY_BSSL_ARCHIVES "${_bssl_ssl}" "${_bssl_crypto}")
elseif(EXISTS "${MAYFLY_BORINGSSL_SOURCE_DIR}/android-sources.cmake")
  set(BORINGSSL_ROOT "${MAYFLY_BORINGSSL_SOURCE_DIR}/")
  include("${MAYFLY_BORINGSSL_SOURCE_DIR}/android-sources.cmake")
  set(MAYFLY_BSSL_INCLUDE_DIR "${MAYFLY_BORINGSSL_SOURCE_DIR}/src/include")
  set(_bssl_asm "")
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND
     CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    # The pre-generated x86_64 assembly: fast P-256, AES-GCM, SHA.
    enable_language(ASM)
    set(_bssl_asm ${crypto_sources_linux_x86_64})
  endif()
  add_library(mayfly_bssl OBJECT ${crypto_sources} ${ssl_sources} ${_bssl_asm})
  if(NOT _bssl_asm)
    # Pure C on every other platform.
    target_compile_definitions(mayfly_bssl PRIVATE OPENSSL_NO_ASM)
  endif()
  target_include_directories(mayfly_bssl SYSTEM PRIVATE
                             "${MAYFLY_BSSL_INCLUDE_DIR}")
  set_target_properties(mayfly_bssl PROPERTIES
      C_STANDARD 11 C_STANDARD_REQUIRED ON
      CXX_STANDARD 14 CXX_STANDARD_REQUIRED ON
      C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden
      VISIBILITY_INLINES_HIDDEN ON POSITION_INDEPENDENT_CODE ON)
  # Third-party code: none of the project's warning flags.
  target_compile_options(mayfly_bssl PRIVATE -w)
  target_compile_definitions(mayfly_bssl PRIVATE BORINGSSL_IMPLEMENTATION)
  set(MAYFLY_BSSL_OBJECTS $<TARGET_OBJECTS:mayfly_bssl>)
elseif(EXISTS "${MAYFLY_BORINGSSL_SOURCE_DIR}/CMakeLists.txt")
  set(CMAKE_C_VISIBILITY_PRESET hidden)
  set(CMAKE_CXX_VISIBILITY_PRESET hidden)
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  add_subdirectory("${MAYFLY_BORINGSSL_SOURCE_DIR}" boringssl EXCLUDE_FROM_ALL)
  set(MAYFLY_BSSL_INCLUDE_DIR "${MAYFLY_BORINGSSL_SOURCE_DIR}/include")
  set(MAYFLY_BSSL_OBJECTS $<TARGET_OBJECTS:crypto> $<TARGET_OBJECTS:ssl>)
else()
  message(FATAL_ERROR
      "No BoringSSL found. Run scripts/setup (fetches Debian's source package "
      "into third_party/), or set MAYFLY_BORINGSSL_SOURCE_DIR to a BoringSSL "
      "checkout, or MAYFLY_BORINGSSL_ROOT to an install prefix.")
endif()
