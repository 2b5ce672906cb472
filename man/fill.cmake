# SPDX-License-Identifier: Apache-2.0
# cmake -DTEMPLATE=T -DOPTIONS=O -DOUT=F -P fill.cmake: T with its @OPTIONS@
# line replaced by the contents of O, written to F.
cmake_minimum_required(VERSION 3.18) # literal @...@ in strings (CMP0053)
file(READ ${TEMPLATE} text)
file(READ ${OPTIONS} options)
string(FIND "${text}" "@OPTIONS@\n" at)
if(at LESS 0)
        message(FATAL_ERROR "${TEMPLATE} has no @OPTIONS@ line")
endif()
string(REPLACE "@OPTIONS@\n" "${options}" text "${text}")
file(WRITE ${OUT} "${text}")
