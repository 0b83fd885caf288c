# dsvcr recipes. `just --list` shows them all.

# Serve the shipped cassettes on 127.0.0.1:8080 (pass flags after, e.g. `just replay --listen 127.0.0.1:0`).
replay *FLAGS:
    cargo run --release -- replay {{FLAGS}}

# Record from a lab vCenter into cassettes/ (e.g. `just record https://vc.lab --ca-cert lab-ca.pem`).
record URL *FLAGS:
    cargo run --release -- record --upstream {{URL}} {{FLAGS}}

# Validate a cassette folder without serving it.
check DIR="cassettes":
    cargo run --release -- check {{DIR}}

# Run every test.
test:
    cargo test

# The govmomi interop suite: installs Go and govmomi from Debian, then runs it.
interop:
    bash .ci/install-interop-deps
    CI=true cargo test --test it interop -- --nocapture

# Format check and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Exactly what CI runs (.ci/run): format check, clippy, tests, check of the shipped cassettes.
ci:
    bash .ci/run
