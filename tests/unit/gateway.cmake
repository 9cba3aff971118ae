# gateway: input validation, API keys, routes, static paths, SSE frames, configuration,
# and the store client against a real nng REP peer.
foreach(t test_gw_validate test_gw_auth test_gw_routes test_gw_static test_gw_sse test_gw_limit
          test_gw_channels
          test_gw_config test_gw_integrations)
  triage_unit_test(${t} LIBS triage_gateway_core)
endforeach()
# The store client opens and closes many nng sockets: nng 1.5.2 may still hold a closed
# one for its reaper at exit. lsan_nng_reaper.py lets exactly that through (see there).
triage_unit_test(test_gw_store LIBS triage_gateway_core
  RUN_WITH python3 ${CMAKE_CURRENT_SOURCE_DIR}/unit/lsan_nng_reaper.py)
