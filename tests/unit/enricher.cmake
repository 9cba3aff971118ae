# enricher: the triage record, prompt, LLM reply parsing and outcome mapping, config,
# one-shot input, and (written by the rules helper) the rules engine's table.
triage_unit_test(test_triage LIBS triage_enricher_core)
foreach(t test_enr_prompt test_enr_llm_http test_enr_llm_ollama test_enr_llm_openai
          test_enr_backend test_enr_config test_enr_oneshot test_enr_worker)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c)
    triage_unit_test(${t} LIBS triage_enricher_core)
  endif()
endforeach()
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rules.c)
  triage_unit_test(test_rules LIBS triage_enricher_core)
endif()
