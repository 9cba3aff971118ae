# proto: the wire contract's codec (round trips, bounds, malformed input).
triage_unit_test(test_proto LIBS triage_proto)
triage_unit_test(test_proto_sock LIBS triage_proto)
triage_unit_test(test_proto_decode LIBS triage_proto)
triage_unit_test(test_proto_guard LIBS triage_proto)
set_tests_properties(unit.test_proto_guard PROPERTIES TIMEOUT 240) # heals wait out reconnect backoffs
set_tests_properties(unit.test_proto_guard PROPERTIES ENVIRONMENT
  "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/unit/proto_guard.supp")
triage_unit_test(test_proto_redial LIBS triage_proto)
set_tests_properties(unit.test_proto_redial PROPERTIES TIMEOUT 120) # waits out a dialer stall
# the listener side of the failed handshake may break (#1518) and be reopened: its leak
set_tests_properties(unit.test_proto_redial PROPERTIES ENVIRONMENT
  "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/unit/proto_guard.supp")
triage_unit_test(test_proto_contract LIBS triage_proto)
triage_unit_test(test_proto_similar LIBS triage_proto)
