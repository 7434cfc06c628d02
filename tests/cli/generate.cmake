# `tokenlens-cli generate` and `attribute` on the fixture models. Included by
# tests/cli/CMakeLists.txt (CLI and DATA set there); also run as a script
# (cmake -P) to compare the printed JSON with the golden files.

if(CMAKE_SCRIPT_MODE_FILE)
    # cmake -DACTION=greedy|attribute -DCLI=... -DDATA=... -DFIXTURE=... -P generate.cmake
    file(READ "${DATA}/golden/model-${FIXTURE}.json" golden)
    string(JSON case GET "${golden}" cases 0)
    string(JSON prompt GET "${case}" prompt)
    string(JSON expected_ids GET "${case}" output_ids)
    string(JSON t LENGTH "${expected_ids}")
    if(ACTION STREQUAL "greedy")
        execute_process(COMMAND "${CLI}" generate --model "${DATA}/models/${FIXTURE}" --max-new-tokens ${t} --no-stop
                                -- "${prompt}"
                        RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "generate failed (${rc}): ${err}")
        endif()
        string(JSON got_ids GET "${out}" output ids)
        string(JSON got_input GET "${out}" input ids)
        string(JSON expected_input GET "${case}" prompt_ids)
        foreach(pair "got_ids;expected_ids" "got_input;expected_input")
            list(GET pair 0 a)
            list(GET pair 1 b)
            string(REGEX REPLACE "[ \n\t]" "" a_text "${${a}}")
            string(REGEX REPLACE "[ \n\t]" "" b_text "${${b}}")
            if(NOT a_text STREQUAL b_text)
                message(FATAL_ERROR "${FIXTURE}: ${a} = ${a_text}, golden ${b_text}")
            endif()
        endforeach()
        message(STATUS "${FIXTURE}: greedy ids ${a_text} match the golden file")
    elseif(ACTION STREQUAL "attribute")
        # Every method on the golden prompt and forced output; a bad method
        # fails alone and the others are still written.
        string(JSON output_text GET "${case}" output_text)
        set(out_file "${WORK}/result.json")
        file(MAKE_DIRECTORY "${WORK}")
        execute_process(COMMAND "${CLI}" attribute --model "${DATA}/models/${FIXTURE}" --quiet
                                --method attention,saliency,input_x_gradient,occlusion,integrated_gradients,bogus
                                --steps 8 --output "${out_file}" -- "${prompt}"
                        RESULT_VARIABLE rc ERROR_VARIABLE err)
        if(NOT rc EQUAL 1)
            message(FATAL_ERROR "expected exit 1 (one method failed), got ${rc}: ${err}")
        endif()
        if(NOT err MATCHES "unknown method 'bogus'")
            message(FATAL_ERROR "no message about the bad method: ${err}")
        endif()
        file(READ "${out_file}" result)
        string(JSON schema GET "${result}" schema)
        string(JSON count LENGTH "${result}" results)
        if(NOT schema STREQUAL "tokenlens.job/1" OR NOT count EQUAL 6)
            message(FATAL_ERROR "unexpected result file: schema ${schema}, ${count} results")
        endif()
        math(EXPR last "${count} - 1")
        foreach(i RANGE ${last})
            string(JSON method GET "${result}" results ${i} method)
            string(JSON status GET "${result}" results ${i} status)
            if(method STREQUAL "bogus")
                if(NOT status STREQUAL "failed")
                    message(FATAL_ERROR "bogus method has status ${status}")
                endif()
                continue()
            endif()
            if(NOT status STREQUAL "completed")
                message(FATAL_ERROR "${method}: ${status}")
            endif()
            string(JSON rows LENGTH "${result}" results ${i} attribution raw)
            string(JSON cols LENGTH "${result}" results ${i} attribution raw 0)
            string(JSON n LENGTH "${result}" results ${i} input ids)
            math(EXPR want_rows "${n} + ${cols}")
            if(NOT rows EQUAL want_rows)
                message(FATAL_ERROR "${method}: ${rows} rows, expected n + t = ${want_rows}")
            endif()
            # The last context row is never visible: null.
            math(EXPR last_row "${rows} - 1")
            string(JSON last_type TYPE "${result}" results ${i} attribution raw ${last_row} 0)
            if(NOT last_type STREQUAL "NULL")
                message(FATAL_ERROR "${method}: the last row is ${last_type}, expected null")
            endif()
        endforeach()
        message(STATUS "${FIXTURE}: ${count} results written")
    endif()
    return()
endif()

foreach(fixture tiny-gpt2 tiny-llama tiny-qwen2)
    add_test(NAME cli.generate.golden_greedy.${fixture}
             COMMAND ${CMAKE_COMMAND} -DACTION=greedy -DCLI=${CLI} -DDATA=${DATA} -DFIXTURE=${fixture}
                     -P ${CMAKE_CURRENT_LIST_DIR}/generate.cmake)
    add_test(NAME cli.attribute.all_methods.${fixture}
             COMMAND ${CMAKE_COMMAND} -DACTION=attribute -DCLI=${CLI} -DDATA=${DATA} -DFIXTURE=${fixture}
                     -DWORK=${CMAKE_CURRENT_BINARY_DIR}/attribute-${fixture}
                     -P ${CMAKE_CURRENT_LIST_DIR}/generate.cmake)
endforeach()

add_test(NAME cli.generate.empty_prompt_gpt2 COMMAND ${CLI} generate --model ${DATA}/models/tiny-gpt2 -- "")
set_tests_properties(cli.generate.empty_prompt_gpt2 PROPERTIES
    PASS_REGULAR_EXPRESSION "prompt is empty and this tokenizer adds no BOS")
add_test(NAME cli.generate.too_long COMMAND ${CLI} generate --model ${DATA}/models/tiny-gpt2 --max-new-tokens 200 -- "Hi")
set_tests_properties(cli.generate.too_long PROPERTIES PASS_REGULAR_EXPRESSION "at most 128 positions")
add_test(NAME cli.generate.sampled_dash_prompt
         COMMAND ${CLI} generate --model ${DATA}/models/tiny-llama --sample --temperature 0.8 --top-k 40 --top-p 0.9
                 --seed 3 --max-new-tokens 4 -- "-starts with a dash")
set_tests_properties(cli.generate.sampled_dash_prompt PROPERTIES PASS_REGULAR_EXPRESSION "\"step_scores\"")
add_test(NAME cli.generate.missing_model COMMAND ${CLI} generate --model ${DATA}/models/nope -- "Hi")
set_tests_properties(cli.generate.missing_model PROPERTIES PASS_REGULAR_EXPRESSION "models/nope: no such directory")
add_test(NAME cli.attribute.unknown_option COMMAND ${CLI} attribute --model ${DATA}/models/tiny-gpt2
         --method saliency --option stepz=3 -- "Hi")
set_tests_properties(cli.attribute.unknown_option PROPERTIES PASS_REGULAR_EXPRESSION "unknown option 'stepz'")
