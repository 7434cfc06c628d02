# Tests of `tokenlens-cli inspect`. Included by tests/cli/CMakeLists.txt (CLI and
# DATA set there); also run as a script (cmake -P) by the tests that need a
# scratch copy of a model, with ACTION telling which.

if(CMAKE_SCRIPT_MODE_FILE)
    # cmake -DACTION=... -DCLI=... -DDATA=... -DWORK=... -P inspect.cmake
    file(REMOVE_RECURSE "${WORK}")
    file(MAKE_DIRECTORY "${WORK}")
    if(ACTION STREQUAL "truncated")
        # tiny-gpt2 with model.safetensors cut in half.
        set(src "${DATA}/models/tiny-gpt2")
        file(COPY "${src}/config.json" "${src}/tokenizer.json" "${src}/tokenizer_config.json" DESTINATION "${WORK}")
        file(SIZE "${src}/model.safetensors" size)
        math(EXPR half "${size} / 2")
        execute_process(COMMAND head -c ${half} "${src}/model.safetensors"
                        OUTPUT_FILE "${WORK}/model.safetensors" RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "could not write the truncated copy")
        endif()
        set(expect_message "model.safetensors.*truncated")
    elseif(ACTION STREQUAL "mismatch")
        # tiny-llama whose config.json claims a wider model than its weights.
        set(src "${DATA}/models/tiny-llama")
        foreach(f model.safetensors tokenizer.json tokenizer_config.json)
            file(CREATE_LINK "${src}/${f}" "${WORK}/${f}" SYMBOLIC)
        endforeach()
        file(READ "${src}/config.json" config)
        string(REPLACE "\"hidden_size\": 32" "\"hidden_size\": 64" config "${config}")
        file(WRITE "${WORK}/config.json" "${config}")
        set(expect_message "model.safetensors: tensor 'model.embed_tokens.weight' has shape \\[32000, 32\\] but config.json says vocab_size 32000, hidden_size 64")
    elseif(ACTION STREQUAL "bad_config")
        set(src "${DATA}/models/tiny-gpt2")
        file(CREATE_LINK "${src}/model.safetensors" "${WORK}/model.safetensors" SYMBOLIC)
        file(WRITE "${WORK}/config.json" "{\"model_type\": \"xyz\", \"vocab_size\": 10}")
        set(expect_message "config.json: model_type 'xyz' is not supported \\(supported: gpt2, llama, mistral, qwen2, qwen3, phi3, gemma3_text, gemma3\\)")
    else()
        message(FATAL_ERROR "unknown ACTION '${ACTION}'")
    endif()
    execute_process(COMMAND "${CLI}" inspect "${WORK}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 1)
        message(FATAL_ERROR "expected exit code 1, got '${rc}'\nstdout: ${out}\nstderr: ${err}")
    endif()
    if(NOT err MATCHES "^tokenlens-cli inspect: .*${expect_message}")
        message(FATAL_ERROR "unexpected message: ${err}")
    endif()
    if(NOT out STREQUAL "")
        message(FATAL_ERROR "nothing should go to stdout on failure, got: ${out}")
    endif()
    message(STATUS "ok: ${err}")
    file(REMOVE_RECURSE "${WORK}")
    return()
endif()

# Expected parameter counts, from config.json alone (elements of the stored
# tensors; tied models store no lm_head):
#   tiny-gpt2  V=50257 H=32 L=2 P=128 I=4H=128
#     wte V*H 1608224 + wpe P*H 4096 + ln_f 2H 64
#     + L * (ln_1 2H + c_attn H*3H+3H + c_proj H*H+H + ln_2 2H + c_fc H*I+I + c_proj I*H+H = 12704)
#     = 1637792
#   tiny-llama V=32000 H=32 L=2 heads 4 kv 2 head_dim 8 I=64, untied
#     embed + lm_head 2*V*H 2048000 + norm H 32
#     + L * (2 norms 2H + q H*H + k,v 2*16*H + o H*H + gate,up,down 3*I*H = 9280)
#     = 2066592
#   tiny-qwen2 V=151669 H=32 L=2 heads 4 kv 2 head_dim 8 I=64, tied, q/k/v biases
#     embed V*H 4853408 + norm 32 + L * (9280 + biases 32+16+16 = 9344)
#     = 4872128
set(_inspect_expect_tiny-gpt2
    "\"model_type\": \"gpt2\".*\"dtype_on_disk\": \"float32\".*\"parameter_count\": 1637792,.*\"vocab_size\": 50257.*\"num_layers\": 2.*\"num_kv_heads\": 4.*\"head_dim\": 8.*\"intermediate_size\": 128.*\"tie_word_embeddings\": true.*\"bos_token_id\": 50256")
set(_inspect_expect_tiny-llama
    "\"model_type\": \"llama\".*\"dtype_on_disk\": \"float16\".*\"torch_dtype\": \"float16\".*\"parameter_count\": 2066592,.*\"num_kv_heads\": 2.*\"rope_theta\": 10000.0.*\"tie_word_embeddings\": false.*\"bos_token_id\": 1,.*\"eos_token_id\": 2,")
set(_inspect_expect_tiny-qwen2
    "\"model_type\": \"qwen2\".*\"dtype_on_disk\": \"bfloat16\".*\"parameter_count\": 4872128,.*\"vocab_size\": 151669.*\"tie_word_embeddings\": true.*\"weight_files\": \\[[^]]*model-00001-of-00002.safetensors[^]]*model-00002-of-00002.safetensors")
#   tiny-qwen3 V=151669 H=32 L=2 heads 4 kv 2 head_dim 16 I=64, tied, q/k norms
#     embed V*H 4853408 + norm 32 + L * (2 norms 64 + q 32*64 + k,v 2*32*32 + o 64*32
#     + q/k norms 2*16 + MLP 3*I*H = 12352) = 4878208
#   tiny-gemma3 V=32000 H=32 L=3 heads 4 kv 2 head_dim 8 I=64, tied, q/k norms
#     embed V*H 1024000 + norm 32 + L * (4 norms 128 + q,o 2*H*H + k,v 2*16*H
#     + q/k norms 2*8 + MLP 6144 = 9360) = 1052112
#   tiny-phi3 V=32064 H=32 L=2 heads 4 kv 2 head_dim 8 I=64, untied, fused
#     embed + lm_head 2*V*H 2052096 + norm 32 + L * (2 norms 64 + qkv 64*H + o H*H
#     + gate_up 2*I*H + down H*I = 9280) = 2070688
set(_inspect_expect_tiny-qwen3
    "\"architecture\": \"Qwen3ForCausalLM\".*\"model_type\": \"qwen3\".*\"parameter_count\": 4878208,.*\"head_dim\": 16.*\"sliding_window\": null")
set(_inspect_expect_tiny-gemma3
    "\"architecture\": \"Gemma3ForCausalLM\".*\"model_type\": \"gemma3_text\".*\"parameter_count\": 1052112,.*\"num_layers\": 3.*\"activation\": \"gelu_pytorch_tanh\".*\"sliding_window\": 8,")
set(_inspect_expect_tiny-phi3
    "\"architecture\": \"Phi3ForCausalLM\".*\"model_type\": \"phi3\".*\"dtype_on_disk\": \"float16\".*\"parameter_count\": 2070688,.*\"sliding_window\": 2047,.*\"tie_word_embeddings\": false")
foreach(model tiny-gpt2 tiny-llama tiny-qwen2 tiny-qwen3 tiny-gemma3 tiny-phi3)
    add_test(NAME cli.inspect.${model} COMMAND ${CLI} inspect ${DATA}/models/${model})
    set_tests_properties(cli.inspect.${model} PROPERTIES PASS_REGULAR_EXPRESSION "${_inspect_expect_${model}}")
    add_test(NAME cli.inspect.${model}.exit_code COMMAND ${CLI} inspect --no-tokenizer ${DATA}/models/${model})
endforeach()

add_test(NAME cli.inspect.tokenizer COMMAND ${CLI} inspect ${DATA}/models/tiny-llama)
set_tests_properties(cli.inspect.tokenizer PROPERTIES PASS_REGULAR_EXPRESSION
    "\"tokenizer\": {.*\"vocab_size\": 32000.*\"bos_token\": {[^}]*\"id\": 1,[^}]*\"content\": \"<s>\".*\"special_tokens\": \\[")
add_test(NAME cli.inspect.tensors COMMAND ${CLI} inspect --tensors ${DATA}/models/tiny-qwen2)
set_tests_properties(cli.inspect.tensors PROPERTIES PASS_REGULAR_EXPRESSION
    "\"name\": \"model.norm.weight\",[^}]*\"dtype\": \"BF16\",[^}]*\"file\": \"model-00002-of-00002.safetensors\"")

add_test(NAME cli.inspect.missing_folder COMMAND ${CLI} inspect ${DATA}/models/no-such-model)
set_tests_properties(cli.inspect.missing_folder PROPERTIES WILL_FAIL TRUE)
add_test(NAME cli.inspect.missing_folder_message COMMAND ${CLI} inspect ${DATA}/models/no-such-model)
set_tests_properties(cli.inspect.missing_folder_message PROPERTIES PASS_REGULAR_EXPRESSION
    "tokenlens-cli inspect: .*no-such-model: no such model folder")
add_test(NAME cli.inspect.not_a_model COMMAND ${CLI} inspect ${DATA}/tokenizers/llama3)
set_tests_properties(cli.inspect.not_a_model PROPERTIES WILL_FAIL TRUE)
add_test(NAME cli.inspect.not_a_model_message COMMAND ${CLI} inspect ${DATA}/tokenizers/llama3)
set_tests_properties(cli.inspect.not_a_model_message PROPERTIES PASS_REGULAR_EXPRESSION "config.json: no such file")
add_test(NAME cli.inspect.no_folder COMMAND ${CLI} inspect)
set_tests_properties(cli.inspect.no_folder PROPERTIES WILL_FAIL TRUE)

foreach(action truncated mismatch bad_config)
    add_test(NAME cli.inspect.${action}
             COMMAND ${CMAKE_COMMAND} -DACTION=${action} -DCLI=${CLI} -DDATA=${DATA}
                     -DWORK=${CMAKE_CURRENT_BINARY_DIR}/inspect-${action} -P ${CMAKE_CURRENT_LIST_FILE})
endforeach()
