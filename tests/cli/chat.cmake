# tokenlens-cli chat render and tokenize --chat: the rendering of the qwen3
# template of tiny-qwen2 (its tokenizer_config.json) against the chat fixture
# qwen3 / single_user.gen and its ids (tests/data/chat/templates/qwen3.json).
# (Included by tests/cli/CMakeLists.txt, which sets CLI and DATA.)

add_test(NAME cli.chat.render_exact COMMAND sh -c [=[
d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT
printf '[{"role": "user", "content": "Hello! How are you today?"}]' > "$d/m.json"
"$1" chat render --model "$2/models/tiny-qwen2" --messages "$d/m.json" > "$d/out" || exit 1
printf '<|im_start|>user\nHello! How are you today?<|im_end|>\n<|im_start|>assistant\n' > "$d/want"
cmp "$d/out" "$d/want" && echo render-ok
"$1" chat render --model "$2/models/tiny-qwen2" --messages "$d/m.json" --var enable_thinking=false > "$d/out2" || exit 1
printf '<|im_start|>user\nHello! How are you today?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n' > "$d/want2"
cmp "$d/out2" "$d/want2" && echo var-ok
]=] sh ${CLI} ${DATA})
set_tests_properties(cli.chat.render_exact PROPERTIES PASS_REGULAR_EXPRESSION "render-ok\nvar-ok")

add_test(NAME cli.chat.tokenize_ids COMMAND sh -c [=[
d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT
printf '[{"role": "user", "content": "Hello! How are you today?"}]' > "$d/m.json"
"$1" tokenize --model "$2/models/tiny-qwen2" --chat "$d/m.json"
]=] sh ${CLI} ${DATA})
set_tests_properties(cli.chat.tokenize_ids PROPERTIES PASS_REGULAR_EXPRESSION
    "\"ids\":\\[151644,872,198,9707,0,2585,525,498,3351,30,151645,198,151644,77091,198\\]")

add_test(NAME cli.chat.help COMMAND ${CLI} chat --help)
set_tests_properties(cli.chat.help PROPERTIES PASS_REGULAR_EXPRESSION "usage: tokenlens-cli chat render")

# Exit codes: 2 for usage, 1 for a file or template that cannot be used; a
# template's raise_exception message is printed.
add_test(NAME cli.chat.exit_codes COMMAND sh -c [=[
d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT
printf '[{"role": "user", "content": "hi"}]' > "$d/m.json"
printf '{{ raise_exception("Roles must alternate") }}' > "$d/raise.jinja"
printf '{%% include "x" %%}' > "$d/bad.jinja"
"$1" chat render --model "$2/models/tiny-qwen2" 2>/dev/null; rc=$?; [ $rc -eq 2 ] || { echo "no --messages: exit $rc"; exit 1; }
"$1" chat render --messages "$d/m.json" 2>/dev/null; rc=$?; [ $rc -eq 2 ] || { echo "no model: exit $rc"; exit 1; }
"$1" chat render --model "$2/models/tiny-qwen2" --messages "$d/m.json" --var x=notjson 2>/dev/null; rc=$?; [ $rc -eq 2 ] || { echo "bad var: exit $rc"; exit 1; }
"$1" chat render --model "$2/no-such-model" --messages "$d/m.json" 2>/dev/null; rc=$?; [ $rc -eq 1 ] || { echo "missing model: exit $rc"; exit 1; }
"$1" chat render --model "$2/models/tiny-qwen2" --messages "$d/none.json" 2>/dev/null; rc=$?; [ $rc -eq 1 ] || { echo "missing messages: exit $rc"; exit 1; }
msg=$("$1" chat render --model "$2/models/tiny-qwen2" --template "$d/raise.jinja" --messages "$d/m.json" 2>&1); rc=$?
[ $rc -eq 1 ] || { echo "raise: exit $rc"; exit 1; }
case "$msg" in *"Roles must alternate"*) ;; *) echo "raise message: $msg"; exit 1;; esac
msg=$("$1" chat render --model "$2/models/tiny-qwen2" --template "$d/bad.jinja" --messages "$d/m.json" 2>&1); rc=$?
[ $rc -eq 1 ] || { echo "unsupported tag: exit $rc"; exit 1; }
case "$msg" in *"bad.jinja: line 1, column 4: unsupported tag 'include'"*) ;; *) echo "tag message: $msg"; exit 1;; esac
echo exit-codes-ok
]=] sh ${CLI} ${DATA})
set_tests_properties(cli.chat.exit_codes PROPERTIES PASS_REGULAR_EXPRESSION "exit-codes-ok")

# attribute --system ... --target-text: a chat explained; every context token
# has a segment (system, user, assistant or template), and the file says so
# in its schema.
add_test(NAME cli.chat.attribute_segments COMMAND sh -c [=[
out=$("$1" attribute --quiet --model "$2/models/tiny-qwen3" --method saliency --date 2026-07-26 \
      --system "You answer in one word." --target-text "Blue." -- "What colour is the sky?") || { echo "exit $?"; exit 1; }
case "$out" in *'"schema": "tokenlens.job/2"'*) ;; *) echo "schema: $out" | head -c 400; exit 1;; esac
case "$out" in *'"role": "system"'*'"role": "user"'*'"role": "assistant"'*) ;; *) echo "roles missing"; exit 1;; esac
case "$out" in *'"role": "template"'*) ;; *) echo "no template tokens"; exit 1;; esac
echo chat-attribute-ok
]=] sh ${CLI} ${DATA})
set_tests_properties(cli.chat.attribute_segments PROPERTIES PASS_REGULAR_EXPRESSION "chat-attribute-ok")
