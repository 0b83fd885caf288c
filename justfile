# dsvcr recipes. `just --list` shows them all. Get just with `cargo install --locked just`.
#
# Recipes that run dsvcr build it first, then `exec` the binary: dsvcr replaces the recipe's
# shell, so a signal to just (which forwards SIGTERM to its child since just 1.41) reaches
# dsvcr itself, which then shuts down cleanly (no cargo process is left in between).

# Serve the shipped cassettes on 127.0.0.1:8080 (pass flags after, e.g. `just replay --listen 127.0.0.1:0`).
replay *FLAGS:
    cargo build --release --locked
    exec target/release/dsvcr replay {{FLAGS}}

# Record from a lab vCenter into cassettes/ (e.g. `just record https://vc.lab --ca-cert lab-ca.pem`).
record URL *FLAGS:
    cargo build --release --locked
    exec target/release/dsvcr record --upstream {{URL}} {{FLAGS}}

# Validate a cassette folder without serving it.
check DIR="cassettes":
    cargo build --release --locked
    exec target/release/dsvcr check {{DIR}}

# Run every test.
test:
    cargo test

# The interop suites: installs Go and govmomi from Debian, builds the real govc 0.24.2, installs VMware's
# Python SDKs (vmware-vcenter, pyvmomi) into a venv, then runs them.
interop:
    bash .ci/install-interop-deps
    bash .ci/install-govc
    bash .ci/install-python-sdk
    CI=true cargo test --test it interop -- --nocapture

# Format check and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Licences, banned and duplicate crates, sources (cargo-deny; installs it if missing). No advisories: offline.
deny:
    command -v cargo-deny >/dev/null || cargo install --locked cargo-deny
    cargo deny --locked check licenses bans sources

# The declared rust-version: rustc and every locked dependency within it.
msrv:
    python3 .ci/msrv.py

# Build bench/ (debug) and check the fuzz targets, which cargo test never compiles.
build-aux:
    bash .ci/build-aux

# Exactly what CI runs (.ci/run): format check, clippy, rust-version, cargo deny, tests, check of
# the shipped cassettes, bench/ and fuzz builds.
ci:
    bash .ci/run

# Kill -9 dsvcr while it records, KILLS times; check must pass and replay serve every answer clients got.
crash-test KILLS="200":
    DSVCR_CRASH_KILLS={{KILLS}} cargo test --release --test it kill_9 -- --nocapture

# Replay soak: 32 keep-alive clients mixing every form, hits and misses, for SECS seconds.
soak SECS="60":
    DSVCR_SOAK_SECS={{SECS}} cargo test --release --test it replay_soak -- --nocapture

# The fault-injection, limit, disk and crash tests (what RELIABILITY.md reports).
reliability:
    cargo test --release --test it -- faults:: limits:: disk:: crash:: soak:: --nocapture

# Seeds: fuzz/seeds/TARGET (committed); new inputs: fuzz/corpus/TARGET; crashes: fuzz/artifacts/TARGET.
# Fuzz TARGET (recognise, xml_body, json_body, jsonrpc, cassette, render, soap) for SECS seconds; installs cargo-fuzz if missing.
fuzz TARGET SECS="600":
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
    mkdir -p fuzz/corpus/{{TARGET}}
    cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run {{TARGET}} corpus/{{TARGET}} seeds/{{TARGET}} -- \
        -max_total_time={{SECS}} -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
        -dict=dicts/{{TARGET}}.dict -print_final_stats=1

# Installs wrk if missing, builds dsvcr (release, for its size; the profiling profile, which keeps
# line tables, to measure) and the bare-hyper baseline (bench/) in release, runs every workload
# pinned with taskset; FLAGS go to bench/run.py (e.g. --quick, --rounds 5, --only replay).
# Benchmarks (never run by tests or CI, ~12 min): write BENCHMARKS.md.
bench *FLAGS:
    command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update && apt-get -o DPkg::Lock::Timeout=600 install -y wrk; }
    command -v nginx >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update && apt-get -o DPkg::Lock::Timeout=600 install -y nginx-light; }
    cargo build --release --locked
    cargo build --profile profiling --locked
    cargo build --release --locked --manifest-path bench/Cargo.toml
    python3 bench/run.py {{FLAGS}}

# Talkback (npm) vs dsvcr vs the baseline on the form A hit, into BENCHMARKS.md; FLAGS go to bench/peers.py.
bench-peers *FLAGS:
    command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update && apt-get -o DPkg::Lock::Timeout=600 install -y wrk; }
    cargo build --profile profiling --locked
    cargo build --release --locked --manifest-path bench/Cargo.toml
    mkdir -p bench/target/peers && cp bench/peers/package.json bench/peers/package-lock.json bench/target/peers/
    npm ci --prefix bench/target/peers --no-audit --no-fund
    python3 bench/peers.py {{FLAGS}}
