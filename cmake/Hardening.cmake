# SPDX-License-Identifier: Apache-2.0
# Hardening flags for release-like builds. _FORTIFY_SOURCE is left out of
# sanitizer builds, where it hides bugs from ASan.
add_compile_options(-fstack-protector-strong -fstack-clash-protection -fcf-protection)
if(NOT KL_SANITIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
        add_compile_definitions(_FORTIFY_SOURCE=2)
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
add_link_options(-pie -Wl,-z,relro,-z,now,-z,noexecstack)
