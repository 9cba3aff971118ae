# learn: the built-in model's library, and the quality floor on the corpus's test split
# (the figures `make bench` prints; the floor is set below them so quality cannot
# silently regress, never tuned on the test split).
triage_unit_test(test_learn LIBS triage_learn)
add_test(NAME unit.learn_quality_floor
         COMMAND triage-learn-eval --train ${CMAKE_SOURCE_DIR}/data/corpus/train
                 --test ${CMAKE_SOURCE_DIR}/data/corpus/test
                 --floor-category 0.80 --floor-severity 0.68)
set_tests_properties(unit.learn_quality_floor PROPERTIES LABELS unit TIMEOUT 300)
add_test(NAME unit.corpus_split COMMAND python3 ${CMAKE_SOURCE_DIR}/scripts/corpus_split.py check)
set_tests_properties(unit.corpus_split PROPERTIES LABELS unit TIMEOUT 60)
