# notifier: the signature, the retry schedule, message bodies and the configuration.
foreach(t test_nt_sign test_nt_retry test_nt_message test_nt_config)
  triage_unit_test(${t} LIBS triage_notifier_core)
endforeach()
