# tokenlens-cli tokenize: output, option handling and failures.
# (Included by tests/cli/CMakeLists.txt, which sets CLI and DATA.)

add_test(NAME cli.tokenize.gpt2 COMMAND ${CLI} tokenize --model ${DATA}/models/tiny-gpt2 "Hello world")
set_tests_properties(cli.tokenize.gpt2 PROPERTIES PASS_REGULAR_EXPRESSION
    "\"ids\":\\[15496,995\\],\"tokens\":\\[\"Hello\",\" world\"\\],\"pieces\":\\[\"Hello\",\"Ġworld\"\\],\"offsets\":\\[\\[0,5\\],\\[5,11\\]\\]")

add_test(NAME cli.tokenize.llama_bos COMMAND ${CLI} tokenize --model ${DATA}/models/tiny-llama "Hello world")
set_tests_properties(cli.tokenize.llama_bos PROPERTIES PASS_REGULAR_EXPRESSION
    "\"ids\":\\[1,22557,1526\\].*\"offsets\":\\[\\[0,0\\],\\[0,5\\],\\[5,11\\]\\]")

add_test(NAME cli.tokenize.no_special COMMAND ${CLI} tokenize --model ${DATA}/models/tiny-llama --no-special "Hello world")
set_tests_properties(cli.tokenize.no_special PROPERTIES PASS_REGULAR_EXPRESSION "\"ids\":\\[22557,1526\\]")

# A prompt that starts with '-' is text after "--".
add_test(NAME cli.tokenize.dash_text COMMAND ${CLI} tokenize --model ${DATA}/models/tiny-gpt2 -- "-Hello")
set_tests_properties(cli.tokenize.dash_text PROPERTIES PASS_REGULAR_EXPRESSION
    "\"ids\":\\[12,15496\\],\"tokens\":\\[\"-\",\"Hello\"\\]")

# ... and without "--" it is a usage error (exit code 2).
add_test(NAME cli.tokenize.dash_without_separator COMMAND ${CLI} tokenize --model ${DATA}/models/tiny-gpt2 -Hello)
set_tests_properties(cli.tokenize.dash_without_separator PROPERTIES WILL_FAIL TRUE)

add_test(NAME cli.tokenize.help COMMAND ${CLI} tokenize --help)
set_tests_properties(cli.tokenize.help PROPERTIES PASS_REGULAR_EXPRESSION "usage: tokenlens-cli tokenize --model DIR")

add_test(NAME cli.tokenize.missing_model_option COMMAND ${CLI} tokenize "Hello")
set_tests_properties(cli.tokenize.missing_model_option PROPERTIES WILL_FAIL TRUE)
add_test(NAME cli.tokenize.missing_model_option_message COMMAND ${CLI} tokenize "Hello")
set_tests_properties(cli.tokenize.missing_model_option_message PROPERTIES PASS_REGULAR_EXPRESSION "--model DIR is required")

# Exit codes checked exactly: 1 for a folder that cannot be used, 2 for usage.
add_test(NAME cli.tokenize.exit_codes COMMAND sh -c [=[
"$1" tokenize --model "$2/no-such-model" Hello 2>/dev/null; rc=$?; [ $rc -eq 1 ] || { echo "missing model: exit $rc"; exit 1; }
"$1" tokenize --model "$2/models/tiny-gpt2" 2>/dev/null; rc=$?; [ $rc -eq 2 ] || { echo "missing TEXT: exit $rc"; exit 1; }
"$1" tokenize --model "$2/models/tiny-gpt2" -- "$(printf 'ab\377')" 2>/dev/null; rc=$?; [ $rc -eq 1 ] || { echo "bad UTF-8: exit $rc"; exit 1; }
echo exit-codes-ok
]=] sh ${CLI} ${DATA})
set_tests_properties(cli.tokenize.exit_codes PROPERTIES PASS_REGULAR_EXPRESSION "exit-codes-ok")

add_test(NAME cli.tokenize.missing_model_folder COMMAND ${CLI} tokenize --model ${DATA}/no-such-model "Hello")
set_tests_properties(cli.tokenize.missing_model_folder PROPERTIES WILL_FAIL TRUE)
add_test(NAME cli.tokenize.missing_model_folder_message COMMAND ${CLI} tokenize --model ${DATA}/no-such-model "Hello")
set_tests_properties(cli.tokenize.missing_model_folder_message PROPERTIES PASS_REGULAR_EXPRESSION "no-such-model: no such folder")

# A folder without tokenizer.json: the message names the file.
add_test(NAME cli.tokenize.no_tokenizer_json COMMAND ${CLI} tokenize --model ${DATA}/golden "Hello")
set_tests_properties(cli.tokenize.no_tokenizer_json PROPERTIES PASS_REGULAR_EXPRESSION "tokenizer.json: file not found")

# Invalid UTF-8 text: non-zero, and the message gives the byte offset.
add_test(NAME cli.tokenize.invalid_utf8 COMMAND sh -c [=["$1" tokenize --model "$2" -- "$(printf 'ab\377')"]=]
    sh ${CLI} ${DATA}/models/tiny-gpt2)
set_tests_properties(cli.tokenize.invalid_utf8 PROPERTIES WILL_FAIL TRUE)
add_test(NAME cli.tokenize.invalid_utf8_message COMMAND sh -c [=["$1" tokenize --model "$2" -- "$(printf 'ab\377')" 2>&1]=]
    sh ${CLI} ${DATA}/models/tiny-gpt2)
set_tests_properties(cli.tokenize.invalid_utf8_message PROPERTIES PASS_REGULAR_EXPRESSION "invalid UTF-8 in text at byte 2")
