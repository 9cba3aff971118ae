# store: the pure parts of the store's modules (no database, no sockets).
triage_unit_test(test_store_json LIBS triage_store_core)
triage_unit_test(test_store_params LIBS triage_store_core)
triage_unit_test(test_store_batch LIBS triage_store_core)
triage_unit_test(test_store_enrichers LIBS triage_store_core)
triage_unit_test(test_store_dispatch LIBS triage_store_core)
triage_unit_test(test_store_results LIBS triage_store_core)
triage_unit_test(test_store_migrate LIBS triage_store_core)
triage_unit_test(test_store_config LIBS triage_store_core)
