# Tests of `tokenlens-cli models`. Included by tests/cli/CMakeLists.txt (CLI and
# DATA set there); also run as a script (cmake -P) to build a fake Hugging Face cache.

if(CMAKE_SCRIPT_MODE_FILE)
    # cmake -DCLI=... -DDATA=... -DWORK=... -P models.cmake
    # models--ORG--NAME/{blobs,refs/main,snapshots/REV} with the snapshot's files
    # relative symlinks into ../../blobs, as huggingface_hub lays them out.
    file(REMOVE_RECURSE "${WORK}")
    set(hub "${WORK}/hub")
    set(repo "${hub}/models--tiny-org--tiny-gpt2")
    foreach(rev 1111aaaa 2222bbbb)
        file(MAKE_DIRECTORY "${repo}/snapshots/${rev}" "${repo}/blobs")
        foreach(f config.json model.safetensors tokenizer.json)
            file(CREATE_LINK "${DATA}/models/tiny-gpt2/${f}" "${repo}/blobs/${rev}-${f}" SYMBOLIC)
            file(CREATE_LINK "../../blobs/${rev}-${f}" "${repo}/snapshots/${rev}/${f}" SYMBOLIC)
        endforeach()
    endforeach()
    file(WRITE "${repo}/refs/main" "1111aaaa")
    file(MAKE_DIRECTORY "${hub}/models--empty--repo/snapshots")

    execute_process(COMMAND "${CLI}" models --hf-cache "${hub}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR NOT out MATCHES "\"id\": \"tiny-org/tiny-gpt2\",[^}]*snapshots/1111aaaa\",[^}]*\"source\": \"hf-cache\"")
        message(FATAL_ERROR "--hf-cache: exit ${rc}\nstdout: ${out}\nstderr: ${err}")
    endif()
    if(out MATCHES "empty/repo")
        message(FATAL_ERROR "a repo without a usable snapshot was listed: ${out}")
    endif()
    # The default location honours HF_HUB_CACHE, and HF_HOME/hub.
    set(ENV{HF_HUB_CACHE} "${hub}")
    execute_process(COMMAND "${CLI}" models RESULT_VARIABLE rc OUTPUT_VARIABLE out)
    if(NOT rc EQUAL 0 OR NOT out MATCHES "tiny-org/tiny-gpt2")
        message(FATAL_ERROR "HF_HUB_CACHE: exit ${rc}\nstdout: ${out}")
    endif()
    unset(ENV{HF_HUB_CACHE})
    set(ENV{HF_HOME} "${WORK}")
    execute_process(COMMAND "${CLI}" models --folder "${DATA}/models/tiny-llama" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
    if(NOT rc EQUAL 0 OR NOT out MATCHES "\"id\": \"tiny-llama\".*\"source\": \"folder\".*\"id\": \"tiny-org/tiny-gpt2\"")
        message(FATAL_ERROR "HF_HOME: exit ${rc}\nstdout: ${out}")
    endif()
    message(STATUS "ok: ${out}")
    file(REMOVE_RECURSE "${WORK}")
    return()
endif()

add_test(NAME cli.models.folders COMMAND ${CLI} models --folder ${DATA}/models --no-hf-cache)
set_tests_properties(cli.models.folders PROPERTIES PASS_REGULAR_EXPRESSION
    "^\\[\n  {\n    \"id\": \"tiny-gemma3\",[^}]*\"source\": \"folder\",[^}]*\"architecture\": \"Gemma3ForCausalLM\",[^}]*\"parameters\": 1052112,.*\"id\": \"tiny-gpt2\".*\"id\": \"tiny-llama\".*\"id\": \"tiny-phi3\",[^}]*\"architecture\": \"Phi3ForCausalLM\",[^}]*\"parameters\": 2070688,.*\"id\": \"tiny-qwen2\".*\"id\": \"tiny-qwen3\",[^}]*\"architecture\": \"Qwen3ForCausalLM\",[^}]*\"parameters\": 4878208,")
add_test(NAME cli.models.two_folders
         COMMAND ${CLI} models --folder ${DATA}/models/tiny-qwen2 --folder ${DATA}/models/tiny-gpt2
                 --hf-cache ${CMAKE_CURRENT_BINARY_DIR}/no-such-hub)
set_tests_properties(cli.models.two_folders PROPERTIES PASS_REGULAR_EXPRESSION
    "\"id\": \"tiny-qwen2\",[^}]*\"path\": \"[^\"]*tiny-qwen2\".*\"id\": \"tiny-gpt2\"")
add_test(NAME cli.models.none COMMAND ${CLI} models --no-hf-cache)
set_tests_properties(cli.models.none PROPERTIES PASS_REGULAR_EXPRESSION "^\\[\\]\n$")
add_test(NAME cli.models.missing_hub COMMAND ${CLI} models --hf-cache ${CMAKE_CURRENT_BINARY_DIR}/no-such-hub)
set_tests_properties(cli.models.missing_hub PROPERTIES PASS_REGULAR_EXPRESSION "^\\[\\]\n$")
add_test(NAME cli.models.stray_argument COMMAND ${CLI} models ${DATA}/models)
set_tests_properties(cli.models.stray_argument PROPERTIES WILL_FAIL TRUE)
add_test(NAME cli.models.hf_cache
         COMMAND ${CMAKE_COMMAND} -DCLI=${CLI} -DDATA=${DATA} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/models-hf-cache
                 -P ${CMAKE_CURRENT_LIST_FILE})
