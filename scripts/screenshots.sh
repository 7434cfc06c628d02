#!/usr/bin/env bash
# Takes screenshots of the real TokenLens window under xvfb-run, on real
# results computed by tokenlens-cli with the bundled tiny models, and saves
# them to docs/screenshots/ (or $OUT). Look at them after every GUI change.
#
#   scripts/screenshots.sh [BUILD_DIR]      (default: build/release)
#
# Needs xvfb-run. Settings go to a temporary folder, never to yours.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
APP="$BUILD/app/tokenlens"
CLI="$BUILD/app/tokenlens-cli"
OUT="${OUT:-$ROOT/docs/screenshots}"
SIZE="${SIZE:-1440x900}"
MODELS="$ROOT/tests/data/models"

for bin in "$APP" "$CLI"; do
    [[ -x "$bin" ]] || { echo "missing $bin: build the tokenlens and tokenlens-cli targets first" >&2; exit 1; }
done
command -v xvfb-run >/dev/null || { echo "xvfb-run is not installed" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export XDG_CONFIG_HOME="$WORK/config"
export XDG_DATA_HOME="$WORK/data"
mkdir -p "$OUT" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

echo "computing results with the tiny models..."
# 1. The committed two-model sample (attention, saliency, integrated gradients with 3 steps: a warning).
SAMPLE="$ROOT/tests/data/results/two-models.json"
# 2. A prompt with newlines and a longer output (wrapping, preserved line breaks).
printf 'Dear team,\n\nthe quarterly report is attached. Revenue grew in every region except the north,\nwhere two large customers left.\n\nBest regards,\nAnna' >"$WORK/letter.txt"
"$CLI" attribute --quiet --model "$MODELS/tiny-qwen2" --method attention,integrated_gradients,occlusion \
    --max-new-tokens 24 --prompt-file "$WORK/letter.txt" --output "$WORK/letter.json"
# 3. A longer result for the heatmap (prompt ~170 tokens, 64 outputs; the tiny models have 256 positions).
python3 - "$WORK/long.txt" <<'EOF'
import sys
words = ("the model reads every token of the prompt and each output token depends on what came before "
         "so the matrix has one row per context token and one column per generated token ").split()
open(sys.argv[1], "w").write(" ".join(words[i % len(words)] for i in range(150)))
EOF
"$CLI" attribute --quiet --model "$MODELS/tiny-llama" --method attention,saliency --max-new-tokens 64 \
    --prompt-file "$WORK/long.txt" --output "$WORK/long.json"
# 4. A file that is not a result, to show the message.
head -c 4096 /dev/urandom >"$WORK/random.json"

shoot() { # name, then app arguments; every shot starts from fresh settings
    local name="$1"
    shift
    rm -rf "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" && mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"
    xvfb-run -a -s "-screen 0 1920x1200x24 -dpi 96" "$APP" --size "$SIZE" --screenshot "$OUT/$name.png" "$@" 2>&1 |
        grep -v -e 'XDG_RUNTIME_DIR' -e 'propagateSizeHints' -e 'OpenType support missing' || true
}

shoot dashboard "$SAMPLE"
shoot hover-output "$SAMPLE" --window 2 --hover 10
shoot pinned-input-dark "$SAMPLE" --theme dark --pin 2 --cell 5,1
shoot second-model "$SAMPLE" --show-model tiny-llama --methods attention,saliency,integrated_gradients --hover 3
shoot newlines "$WORK/letter.json" --methods attention,integrated_gradients --pin 30 --window 3
shoot long-heatmap "$WORK/long.json" --heatmap fit --hover 190 --scope column
shoot long-heatmap-zoomed "$WORK/long.json" --heatmap 16 --cell 150,20 --scope column
shoot method-comparison "$SAMPLE" --methods attention,saliency,integrated_gradients --pin 9
shoot categories-comparison "$SAMPLE" --show-model tiny-llama --categories comparison
shoot categories-highlight "$SAMPLE" --show-model tiny-llama --categories "highlight:function word"
shoot categories-isolation "$SAMPLE" --show-model tiny-llama --categories "isolation:content word"
shoot category-editor "$SAMPLE" --user-category "animals=cat,dog,mat" --user-category "s-words=/s[a-z]*/" \
    --categories "isolation:animals+punctuation" --category-editor
# Split view, difference mode and a counterfactual edit: a word the two tokenizers split differently
# ("unbelievable"); both models forced to one continuation so that the outputs align; an edited prompt
# with the original output forced.
"$CLI" attribute --quiet --model "$MODELS/tiny-gpt2" --model "$MODELS/tiny-llama" --method attention,saliency \
    --max-new-tokens 6 --output "$WORK/words.json" -- "In 2024 the unbelievable cat sat on the mat."
"$CLI" attribute --quiet --model "$MODELS/tiny-gpt2" --model "$MODELS/tiny-llama" --method attention,saliency \
    --target-text " and the dog ran away" --output "$WORK/forced.json" -- "In 2024 the unbelievable cat sat on the mat."
"$CLI" attribute --quiet --model "$MODELS/tiny-gpt2" --method attention,saliency --max-new-tokens 6 \
    --output "$WORK/orig.json" -- "The cat sat on the mat."
ORIGINAL_OUTPUT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["output"]["text"], end="")' "$WORK/orig.json")"
"$CLI" attribute --quiet --model "$MODELS/tiny-gpt2" --method attention,saliency --target-text "$ORIGINAL_OUTPUT" \
    --output "$WORK/edited.json" -- "The dog sat on the mat."
shoot split-view "$WORK/words.json" --split tiny-gpt2,tiny-llama --hover 3
shoot difference-mode "$WORK/forced.json" --split tiny-gpt2,tiny-llama --difference --hover 3
shoot counterfactual "$WORK/orig.json" --counterfactual "$WORK/edited.json" --pin 8
shoot bad-file "$SAMPLE" --then-open "$WORK/random.json"
# A chat explained (docs/chat.md): tiny-qwen3 through its chat template, the reply forced.
printf '%s' '[{"role": "system", "content": "You answer in one word."}, {"role": "user", "content": "What colour is the sky on a clear day?"}]' >"$WORK/chat-messages.json"
"$CLI" attribute --quiet --model "$MODELS/tiny-qwen3" --method attention,saliency --chat "$WORK/chat-messages.json" \
    --target-text "Blue." --date 2026-07-26 --output "$WORK/chat.json"
SIZE=1400x1000 shoot chat "$WORK/chat.json" --methods attention --hover 33
shoot export "$SAMPLE" --hover 9 --export-tokens "$OUT/export-tokens.png" --export-heatmap "$OUT/export-heatmap.png" \
    --scale 2
rm -f "$OUT/export.png"

echo "screenshots in $OUT:"
ls -1 "$OUT"

# The job pages on a first start: the demo job on the bundled models.
shoot demo-first-start --demo --hover 13
shoot demo-pinned-output --demo --pin 14 --methods saliency,occlusion
shoot new-job-page --demo --page newjob
shoot jobs-page --demo --page jobs
shoot conversation-timeline --demo --follow-up " . anna has a" --follow-up " . tom has a" --show-model demo-gpt2 \
    --methods attention
