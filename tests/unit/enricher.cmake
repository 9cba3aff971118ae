# enricher: the triage record, prompt, LLM reply parsing and outcome mapping, config,
# one-shot input, the worker, its links to the stores and the rules engine's table.
foreach(t test_triage test_enr_prompt test_enr_llm_http test_enr_llm_ollama
          test_enr_llm_openai test_enr_backend test_enr_config test_enr_oneshot
          test_enr_worker test_enr_links test_enr_held test_rules)
  triage_unit_test(${t} LIBS triage_enricher_core)
endforeach()
