# shellcheck shell=bash
# scripts/env.sh — the environment every Chiffon script (and a developer's shell) works in.
#
# Source it, don't run it:   . scripts/env.sh
#
# Sets:
#   REPO_ROOT                 the root of this clone
#   CHIFFON_VENV              the project's Python venv (default <repo>/.venv), its bin/ first on PATH
#   CARGO_TARGET_DIR          default $HOME/.cache/chiffon/target: outside the clone, so fresh
#                             clones (CI) reuse earlier builds; kept if already set
#   CHIFFON_ANSIBLE_PLAYBOOK  the venv's ansible-playbook (what the infra agent and tests run)
#   CHIFFON_PYTHON            the venv's python (has grpcio-tools for the gRPC client tests)
#   CHIFFON_CORPORA           real-world Ansible repositories the tests read (the first of
#                             <repo>/../shared/corpora, <repo>/../../shared/corpora and
#                             /work/shared/corpora that exists); kept if already set
# Adds ~/.cargo/bin to PATH when cargo isn't already on it (a fresh rustup install).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

export CHIFFON_VENV="${CHIFFON_VENV:-$REPO_ROOT/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chiffon/target}"

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

case "$PATH" in
    "$CHIFFON_VENV/bin:"*) ;;
    *) PATH="$CHIFFON_VENV/bin:$PATH" ;;
esac
export PATH

export CHIFFON_ANSIBLE_PLAYBOOK="$CHIFFON_VENV/bin/ansible-playbook"
export CHIFFON_PYTHON="$CHIFFON_VENV/bin/python"
# The corpora sit next to the working clone; a clone made elsewhere (CI's clean clone) finds them
# one level further up or at the workplace's shared directory.
if [ -z "${CHIFFON_CORPORA:-}" ]; then
    for candidate in "$REPO_ROOT/../shared/corpora" "$REPO_ROOT/../../shared/corpora" /work/shared/corpora; do
        if [ -d "$candidate" ]; then
            CHIFFON_CORPORA="$(cd "$candidate" && pwd)"
            break
        fi
    done
fi
export CHIFFON_CORPORA="${CHIFFON_CORPORA:-$REPO_ROOT/../shared/corpora}"
