//! End-to-end tests: the real `chiffon` binary against real PostgreSQL, RabbitMQ, ansible-playbook
//! and a Python gRPC client generated from `proto/`. Every test gets its own database, vhost,
//! data directory and copy of the example repository, so tests run in parallel.

mod support;

mod app;
mod bad_input;
mod catalog;
mod client_output;
mod distributed;
mod embedded;
mod interop;
mod real_repositories;
mod run_options;
mod suggestions;
mod templates;
