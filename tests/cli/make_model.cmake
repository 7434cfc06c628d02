# Tests of `tokenlens-cli make-model`. Included by tests/cli/CMakeLists.txt
# (CLI and DATA set there); also run as a script (cmake -P): a 1-layer
# gpt2-small folder is written, then inspected, listed, generated from and
# attributed like any downloaded checkpoint.

if(CMAKE_SCRIPT_MODE_FILE)
    # cmake -DCLI=... -DWORK=... -P make_model.cmake
    file(REMOVE_RECURSE "${WORK}")
    set(dir "${WORK}/gpt2-small-1layer")
    execute_process(COMMAND "${CLI}" make-model --like gpt2-small --layers 1 --seed 3 --quiet --out "${dir}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    # 1 layer of GPT-2 small: wte 50257×768, wpe 1024×768, ln_f, and one block (7,087,872).
    if(NOT rc EQUAL 0 OR NOT out MATCHES "46473216 parameters, float32, 1 shard")
        message(FATAL_ERROR "make-model: exit ${rc}\nstdout: ${out}\nstderr: ${err}")
    endif()
    execute_process(COMMAND "${CLI}" inspect "${dir}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR NOT out MATCHES "\"architecture\": \"GPT2LMHeadModel\"" OR NOT out MATCHES "\"hidden_size\": 768")
        message(FATAL_ERROR "inspect: exit ${rc}\nstdout: ${out}\nstderr: ${err}")
    endif()
    execute_process(COMMAND "${CLI}" models --folder "${WORK}" --no-hf-cache RESULT_VARIABLE rc OUTPUT_VARIABLE out)
    if(NOT rc EQUAL 0 OR NOT out MATCHES "\"id\": \"gpt2-small-1layer\",[^}]*\"architecture\": \"GPT2LMHeadModel\",[^}]*\"parameters\": 46473216")
        message(FATAL_ERROR "models: exit ${rc}\nstdout: ${out}")
    endif()
    if(NOT out MATCHES "\"usable\": true,[^}]*\"error\": null")
        message(FATAL_ERROR "models lists the folder as unusable: ${out}")
    endif()
    execute_process(COMMAND "${CLI}" attribute --model "${dir}" --method saliency --max-new-tokens 2 -- "Hello world"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR NOT out MATCHES "\"status\": \"completed\"")
        message(FATAL_ERROR "attribute: exit ${rc}\nstdout: ${out}\nstderr: ${err}")
    endif()
    file(REMOVE_RECURSE "${WORK}")
    return()
endif()

add_test(NAME cli.make_model.gpt2_small
         COMMAND ${CMAKE_COMMAND} -DCLI=${CLI} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/make-model
                 -P ${CMAKE_CURRENT_LIST_FILE})
add_test(NAME cli.make_model.unknown COMMAND ${CLI} make-model --like gpt5 --out ${CMAKE_CURRENT_BINARY_DIR}/make-model-unknown)
set_tests_properties(cli.make_model.unknown PROPERTIES PASS_REGULAR_EXPRESSION
    "--like: unknown model 'gpt5' \\(known: gpt2-small, qwen2.5-0.5b, llama-3.2-1b, llama-3.1-8b\\)")
add_test(NAME cli.make_model.bad_layers COMMAND ${CLI} make-model --like gpt2-small --layers 0 --out ${CMAKE_CURRENT_BINARY_DIR}/make-model-bad)
set_tests_properties(cli.make_model.bad_layers PROPERTIES PASS_REGULAR_EXPRESSION "--layers expects a whole number of at least 1, got '0'")
add_test(NAME cli.make_model.needs_out COMMAND ${CLI} make-model --like gpt2-small)
set_tests_properties(cli.make_model.needs_out PROPERTIES WILL_FAIL TRUE)
