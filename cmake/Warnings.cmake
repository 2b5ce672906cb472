# SPDX-License-Identifier: Apache-2.0
# Warning set shared by every target (see the project's style notes).
set(KL_WARNINGS
    -Wall -Wextra -Wformat=2 -Wshadow -Wconversion -Wno-sign-conversion
    -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition -Wcast-qual
    -Wwrite-strings -Wundef -Wvla -Wimplicit-fallthrough)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
        list(APPEND KL_WARNINGS -Wjump-misses-init -Wduplicated-cond -Wduplicated-branches
             -Wlogical-op)
endif()
if(KL_WERROR)
        list(APPEND KL_WARNINGS -Werror)
endif()
add_compile_options(${KL_WARNINGS})
