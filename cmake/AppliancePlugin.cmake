# appliance_add_plugin(<name> SOURCES <file>... [ENTRY <file>] [LIBRARIES <lib>...])
#
# Builds <name>.so, a plugin module: hidden visibility, no undefined symbols, linked to the
# SDK, written to the plugin folder and installed there. With ENTRY (the file holding
# APPLIANCE_PLUGIN), the SOURCES also form a static library <name>_core that tests link.
# Used in-tree and, installed, by out-of-tree plugins through find_package(appliance).
function(appliance_add_plugin name)
  cmake_parse_arguments(ARG "" "ENTRY" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT TARGET appliance::sdk)
    message(FATAL_ERROR "appliance_add_plugin: appliance::sdk not found; find_package(appliance CONFIG) first")
  endif()
  if(ARG_ENTRY)
    add_library(${name}_core STATIC ${ARG_SOURCES})
    set_target_properties(${name}_core PROPERTIES
      POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
    target_include_directories(${name}_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${name}_core PUBLIC appliance::sdk ${ARG_LIBRARIES})
    add_library(${name} MODULE ${ARG_ENTRY})
    target_link_libraries(${name} PRIVATE ${name}_core)
  else()
    add_library(${name} MODULE ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE appliance::sdk ${ARG_LIBRARIES})
  endif()
  if(NOT DEFINED APPLIANCE_PLUGIN_OUTPUT_DIR)
    set(APPLIANCE_PLUGIN_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins)
  endif()
  if(NOT DEFINED APPLIANCE_PLUGIN_INSTALL_DIR)
    set(APPLIANCE_PLUGIN_INSTALL_DIR lib/appliance/plugins)
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name}
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${APPLIANCE_PLUGIN_OUTPUT_DIR})
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  # Installed at <prefix>/lib/appliance/plugins: the SDK library is three levels up.
  if(NOT DEFINED CMAKE_INSTALL_LIBDIR)
    set(CMAKE_INSTALL_LIBDIR lib)
  endif()
  set_target_properties(${name} PROPERTIES INSTALL_RPATH "$ORIGIN/../../../${CMAKE_INSTALL_LIBDIR}")
  install(TARGETS ${name} LIBRARY DESTINATION ${APPLIANCE_PLUGIN_INSTALL_DIR})
endfunction()
