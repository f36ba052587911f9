# The SDK's CMake package, so that out-of-tree plugins build against an installed appliance:
#   find_package(appliance CONFIG REQUIRED)   # -DCMAKE_PREFIX_PATH=<install prefix>
#   appliance_add_plugin(hello SOURCES hello_plugin.cpp)
# gives appliance::sdk, appliance::sdk_testing and appliance_add_plugin(). The targets
# themselves are installed into EXPORT applianceTargets by core/CMakeLists.txt.
include(CMakePackageConfigHelpers)

set(APPLIANCE_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/appliance)

install(EXPORT applianceTargets
  NAMESPACE appliance::
  FILE applianceTargets.cmake
  DESTINATION ${APPLIANCE_CMAKE_INSTALL_DIR})

# Relative to the install prefix; the config turns them into absolute paths.
set(APPLIANCE_INSTALL_BINDIR ${CMAKE_INSTALL_BINDIR})
# The ABI number comes from the header that stamps it into every plugin.
file(STRINGS ${PROJECT_SOURCE_DIR}/core/include/appliance/plugin.h abi_line
  REGEX "^#define APPLIANCE_SDK_ABI_VERSION [0-9]+u?$")
string(REGEX REPLACE "^#define APPLIANCE_SDK_ABI_VERSION ([0-9]+)u?$" "\\1"
  APPLIANCE_SDK_ABI_VERSION "${abi_line}")
if(NOT APPLIANCE_SDK_ABI_VERSION MATCHES "^[0-9]+$")
  message(FATAL_ERROR "cannot read APPLIANCE_SDK_ABI_VERSION from core/include/appliance/plugin.h")
endif()
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/applianceConfig.cmake.in
  ${CMAKE_BINARY_DIR}/cmake/applianceConfig.cmake
  INSTALL_DESTINATION ${APPLIANCE_CMAKE_INSTALL_DIR}
  PATH_VARS APPLIANCE_INSTALL_BINDIR APPLIANCE_PLUGIN_INSTALL_DIR
  NO_CHECK_REQUIRED_COMPONENTS_MACRO)

# 0.x: a minor release may change the SDK, so only 0.1.* satisfies find_package(appliance 0.1).
# (Whether a built plugin fits a host is decided at load time by the SDK ABI number.)
write_basic_package_version_file(
  ${CMAKE_BINARY_DIR}/cmake/applianceConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)

install(FILES
    ${CMAKE_BINARY_DIR}/cmake/applianceConfig.cmake
    ${CMAKE_BINARY_DIR}/cmake/applianceConfigVersion.cmake
    ${CMAKE_CURRENT_LIST_DIR}/AppliancePlugin.cmake
  DESTINATION ${APPLIANCE_CMAKE_INSTALL_DIR})
