# `cmake --install build [--prefix DIR]` (included from the top-level CMakeLists.txt):
#   include/ckks/..., include/ml/...        the headers, paths kept (#include "ckks/context.h")
#   lib/libckks*.a                           ckks_math, ckks, ckks_textbook, ckks_kat, ckks_ml
#   bin/ckks-ml, bin/ckks-kat                the commands
#   share/ckks/models/                       the committed model weights read by ckks-ml
#   lib/cmake/ckks/                          the CMake package: find_package(ckks) gives ckks::math,
#                                            ckks::ckks, ckks::textbook, ckks::kat, ckks::ml
#   lib/pkgconfig/ckks.pc                    the same for pkg-config (ckks, ckks::math, ckks::ml)
# examples/downstream/ is a project built against this tree; tests/CMakeLists.txt runs it.
include(CMakePackageConfigHelpers)

set(CKKS_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ckks)

# Targets, exported under the ckks:: namespace with their short names (ckks_math → ckks::math).
set_target_properties(ckks_math PROPERTIES EXPORT_NAME math)
set_target_properties(ckks_textbook PROPERTIES EXPORT_NAME textbook)
set_target_properties(ckks_kat PROPERTIES EXPORT_NAME kat)
set_target_properties(ckks_ml PROPERTIES EXPORT_NAME ml)
install(TARGETS ckks_math ckks ckks_textbook ckks_kat ckks_ml
        EXPORT ckksTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ckks-ml ckks-kat RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Headers by pattern, so that moving files inside ckks/ or ml/ needs no change here. The command
# sources (ckks/tools, ml/apps) and the weights are not headers of the library.
install(DIRECTORY ckks/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ckks
        FILES_MATCHING PATTERN "*.h" PATTERN "tools" EXCLUDE)
install(DIRECTORY ml/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ml
        FILES_MATCHING PATTERN "*.h" PATTERN "apps" EXCLUDE PATTERN "models" EXCLUDE)
# The weights, where the installed ckks-ml looks for them (cmake/models_dir.h).
install(DIRECTORY ml/models/ DESTINATION ${CKKS_INSTALL_MODELS_DIR})

# The CMake package: targets, the dependencies' look-ups (ckksConfig.cmake.in), FindNTL (NTL
# ships no CMake config), the version.
install(EXPORT ckksTargets NAMESPACE ckks:: DESTINATION ${CKKS_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ckksConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/ckksConfig.cmake
                              INSTALL_DESTINATION ${CKKS_INSTALL_CMAKEDIR})
# 0.x: a minor version may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ckksConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ckksConfig.cmake ${PROJECT_BINARY_DIR}/ckksConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindNTL.cmake
        DESTINATION ${CKKS_INSTALL_CMAKEDIR})

# pkg-config: static libraries, so Libs lists every library they need, in link order.
file(RELATIVE_PATH CKKS_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" CKKS_PC_TO_PREFIX "${CKKS_PC_TO_PREFIX}")
file(RELATIVE_PATH CKKS_PC_LIBDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH CKKS_PC_INCLUDEDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_INCLUDEDIR})
set(CKKS_PC_TBB "")
if(CKKS_USE_TBB)
  set(CKKS_PC_TBB " tbb")  # oneTBB's own pkg-config file (Debian libtbb-dev)
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/ckks.pc.in ${PROJECT_BINARY_DIR}/ckks.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ckks.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
