# SPDX-License-Identifier: Apache-2.0
# -DKL_SANITIZE=address,undefined: every target, no recovery, so a finding fails the test.
if(KL_SANITIZE)
        add_compile_options(-fsanitize=${KL_SANITIZE} -fno-sanitize-recover=all
                            -fno-omit-frame-pointer)
        add_link_options(-fsanitize=${KL_SANITIZE})
endif()
# -DKL_FUZZ=ON: coverage-instrument every target (libkl too), or libFuzzer only
# sees the few edges of each fuzz_*.c and mutates blindly.
if(KL_FUZZ)
        add_compile_options(-fsanitize=fuzzer-no-link)
endif()
