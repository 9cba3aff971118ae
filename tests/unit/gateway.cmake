# gateway: input validation, API keys, routes, static paths, SSE frames, configuration,
# and the store client against a real nng REP peer.
foreach(t test_gw_validate test_gw_auth test_gw_routes test_gw_static test_gw_sse test_gw_store test_gw_limit
          test_gw_config)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c)
    triage_unit_test(${t} LIBS triage_gateway_core)
  endif()
endforeach()
if(TARGET test_gw_store)
  set_tests_properties(unit.test_gw_store PROPERTIES ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/unit/gw_store.supp")
endif()
