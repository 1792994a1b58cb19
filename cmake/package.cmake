# The installed package (shared INTERFACE "Installed package"): libkeyward.so and libkeyward.a built
# from the layers' objects, the public headers, a CMake package (keyward::keyward) and keyward.pc.
#
# The shared library exports only what the public headers mark KEYWARD_API: every layer is compiled
# with -fvisibility=hidden (top CMakeLists), so the internals cannot be linked against by accident
# and can change between releases without breaking apps.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(keyward_layers keyward_api keyward_catalog keyward_hierarchy keyward_audit keyward_envelope keyward_pkcs11 keyward_base)
set(keyward_objects "")
foreach(layer ${keyward_layers})
  list(APPEND keyward_objects $<TARGET_OBJECTS:${layer}>)
endforeach()

# The public headers: keyward/*.h, not keyward/internal/ (the app-facing API only).
file(GLOB keyward_public_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/keyward/*.h)

add_library(keyward_shared SHARED ${keyward_objects})
add_library(keyward_static STATIC ${keyward_objects})
foreach(variant keyward_shared keyward_static)
  set_target_properties(${variant} PROPERTIES OUTPUT_NAME keyward LINKER_LANGUAGE CXX)
  target_include_directories(${variant} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${variant} INTERFACE cxx_std_23)
endforeach()
set_target_properties(keyward_shared PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  EXPORT_NAME keyward)
set_target_properties(keyward_static PROPERTIES EXPORT_NAME keyward_static)
target_compile_definitions(keyward_static INTERFACE KEYWARD_STATIC_DEFINE)
# The shared library carries its dependencies; a static link needs them named (keyward.pc's
# Libs.private, find_dependency in the CMake package).
target_link_libraries(keyward_shared PRIVATE keyward_hardening OpenSSL::Crypto PkgConfig::P11KIT PkgConfig::LIBP11
  PkgConfig::SQLITE3 PkgConfig::LIBPQ Threads::Threads ${CMAKE_DL_LIBS})
target_link_options(keyward_shared PRIVATE -Wl,--no-undefined -Wl,-z,relro,-z,now
  -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/libkeyward.map)
set_target_properties(keyward_shared PROPERTIES LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/libkeyward.map)
target_link_libraries(keyward_static INTERFACE OpenSSL::Crypto PkgConfig::P11KIT PkgConfig::LIBP11
  PkgConfig::SQLITE3 PkgConfig::LIBPQ Threads::Threads ${CMAKE_DL_LIBS})

install(TARGETS keyward_shared keyward_static EXPORT keywardTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# The Python package (ctypes over libkeyward.so), where Debian's python3 looks for it.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/bindings/python/keyward DESTINATION ${CMAKE_INSTALL_LIBDIR}/python3/dist-packages
  PATTERN __pycache__ EXCLUDE PATTERN "*.pyc" EXCLUDE)
install(FILES ${keyward_public_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/keyward)
install(TARGETS keyward keyward-ceremony keyward-rotate keyward-token RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(keyward_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/keyward)
install(EXPORT keywardTargets NAMESPACE keyward:: DESTINATION ${keyward_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/keywardConfig.cmake.in
  ${CMAKE_BINARY_DIR}/keywardConfig.cmake INSTALL_DESTINATION ${keyward_cmake_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/keywardConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/keywardConfig.cmake ${CMAKE_BINARY_DIR}/keywardConfigVersion.cmake
  DESTINATION ${keyward_cmake_dir})

# keyward.pc finds its prefix relative to itself (pkg-config's pcfiledir): a prefix chosen at install time works.
file(RELATIVE_PATH keyward_pc_to_prefix /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(${PROJECT_SOURCE_DIR}/cmake/keyward.pc.in ${CMAKE_BINARY_DIR}/keyward.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/keyward.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
