# gateway: input validation, API keys, routes, static paths, SSE frames, configuration.
foreach(t test_gw_validate test_gw_auth test_gw_routes test_gw_static test_gw_sse
          test_gw_config)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c)
    triage_unit_test(${t} LIBS triage_gateway_core)
  endif()
endforeach()
