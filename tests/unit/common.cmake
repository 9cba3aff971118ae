# common: the shared runtime (configuration, logging).
triage_unit_test(test_config LIBS triage_common)
triage_unit_test(test_log LIBS triage_common PkgConfig::JANSSON)
triage_unit_test(test_utf8 LIBS triage_common)
