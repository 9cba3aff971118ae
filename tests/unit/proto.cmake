# proto: the wire contract's codec (round trips, bounds, malformed input).
triage_unit_test(test_proto LIBS triage_proto)
triage_unit_test(test_proto_sock LIBS triage_proto)
triage_unit_test(test_proto_decode LIBS triage_proto)
triage_unit_test(test_proto_similar LIBS triage_proto)
