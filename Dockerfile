# syntax=docker/dockerfile:1
# Chiffon: one image for every process — `chiffon serve` (the orchestrator) and
# `chiffon agent infra` (the infrastructure agent, which runs ansible-playbook).
#
#   docker build -t chiffon .
#   docker run --rm chiffon --help
#
# compose.yaml builds and runs it with PostgreSQL and RabbitMQ.

# ---- build ---------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder

RUN apt-get update \
    && apt-get install -y --no-install-recommends protobuf-compiler \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The registry and target caches survive between builds (BuildKit); the binary is copied out of
# the cache mount so the next stage can take it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin chiffon \
    && install -m 0755 target/release/chiffon /usr/local/bin/chiffon

# ---- runtime -------------------------------------------------------------------------------
FROM debian:bookworm-slim

# python3 for ansible; openssh-client and git for reaching hosts and the infrastructure repo;
# libssl3 for TLS libraries linked at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates python3 python3-venv openssh-client git libssl3 \
    && rm -rf /var/lib/apt/lists/*

# ansible-core (runs the playbooks) and ansible-lint (playbook suggestions), at the versions the
# tests use.
COPY scripts/requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/ansible \
    && /opt/ansible/bin/pip install --no-cache-dir --disable-pip-version-check \
        "$(grep -E '^ansible-core==' /tmp/requirements.txt)" \
        "$(grep -E '^ansible-lint==' /tmp/requirements.txt)" \
    && rm /tmp/requirements.txt

RUN groupadd --system --gid 10001 chiffon \
    && useradd --system --uid 10001 --gid chiffon --home-dir /var/lib/chiffon --create-home \
        --shell /usr/sbin/nologin chiffon \
    && mkdir -p /srv/homelab /srv/infra /opt/ansible/.ansible /var/lib/chiffon/galaxy \
    && chown chiffon:chiffon /srv/homelab /opt/ansible/.ansible /var/lib/chiffon/galaxy

COPY --from=builder /usr/local/bin/chiffon /usr/local/bin/chiffon

# Ansible insists on a UTF-8 locale. VIRTUAL_ENV gives ansible-lint a writable cache when the
# infrastructure repo is mounted read-only.
ENV LANG=C.UTF-8 \
    LC_ALL=C.UTF-8 \
    PATH=/opt/ansible/bin:$PATH \
    VIRTUAL_ENV=/opt/ansible \
    CHIFFON_ANSIBLE_PLAYBOOK=/opt/ansible/bin/ansible-playbook \
    CHIFFON_LOG_FORMAT=json

USER chiffon
WORKDIR /var/lib/chiffon
EXPOSE 50051

ENTRYPOINT ["chiffon"]
CMD ["--help"]
