//! Task → playbook mapping accuracy on every labelled set in `benches/mapping/`:
//! `cargo bench -p chiffon-orchestrator --bench mapping`.
//!
//! A measurement of answers, not of time: for each set (the tuning sets first, then the held-out
//! ones, which are never used to tune) it prints top-1 accuracy (overall, on requests with an
//! answer and on requests nothing does), the mean confidence of right and wrong answers and every
//! miss with its reasons (a held-out set's misses only with `CHIFFON_SHOW_HELDOUT_MISSES=1`); then
//! how the compound requests of the `plans.*.yaml` sets were planned;
//! then how accuracy on the tuning sets moves with the threshold (the data behind
//! `mapping::DEFAULT_THRESHOLD`, chosen on tuning sets only). Arguments cargo passes to benches
//! (`--bench`) are ignored.
//!
//! To see how one request ranks, set `CHIFFON_MAPPING_REQUEST` to it and
//! `CHIFFON_MAPPING_REPOSITORY` to a repository (as the sets name it, e.g.
//! `examples/selfhosted-site`): the bench then prints the five best candidates with their
//! confidence and reasons, and nothing else.

#[path = "support/mapping_eval.rs"]
mod mapping_eval;

use chiffon_orchestrator::mapping::{self, DEFAULT_LIMIT, DEFAULT_THRESHOLD};

fn main() {
    if let Ok(request) = std::env::var("CHIFFON_MAPPING_REQUEST") {
        let repository = std::env::var("CHIFFON_MAPPING_REPOSITORY")
            .unwrap_or_else(|_| "examples/homelab-infra".to_owned());
        let catalog = mapping_eval::catalog_of(&mapping_eval::repository(&repository));
        let outcome = mapping::rank(&request, &catalog, DEFAULT_THRESHOLD, DEFAULT_LIMIT);
        println!("{request:?} (fits: {})", outcome.fits);
        for found in &outcome.matches {
            println!(
                "  {:.3}  {}\n         {}",
                found.confidence,
                mapping_eval::Answer::of(found).words(),
                found.reasons.join("; ")
            );
        }
        return;
    }
    let sets = mapping_eval::load_sets();
    let started = std::time::Instant::now();
    let mut requests = 0;
    for set in &sets {
        println!(
            "{} ({}): {} playbooks, {} parts",
            set.name,
            if set.held_out {
                "held out"
            } else {
                "tuning / development"
            },
            set.catalog.len(),
            set.catalog.iter().map(|p| p.parts.len()).sum::<usize>()
        );
        let report = mapping_eval::evaluate(set, DEFAULT_THRESHOLD);
        report.print();
        requests += set.cases.len();
        println!();
    }
    let elapsed = started.elapsed();
    println!(
        "({requests} requests matched in {:.1} ms, catalog scans included)",
        elapsed.as_secs_f64() * 1000.0
    );
    println!();
    for name in mapping_eval::plan_sets() {
        mapping_eval::print_plans(&name, &mapping_eval::evaluate_plans(&name));
    }

    println!();
    println!("accuracy on the tuning sets by threshold:");
    let tuning: Vec<&mapping_eval::LabelledSet> = sets.iter().filter(|s| !s.held_out).collect();
    print!("  threshold");
    for set in &tuning {
        print!("  {:>24}", set.name);
    }
    println!();
    for step in 4..=16 {
        let threshold = f64::from(step) * 0.05;
        let marker = if (threshold - DEFAULT_THRESHOLD).abs() < 1e-9 {
            "*"
        } else {
            " "
        };
        print!("  {threshold:.2}{marker}     ");
        for set in &tuning {
            print!(
                "  {:>24.3}",
                mapping_eval::evaluate(set, threshold).accuracy()
            );
        }
        println!();
    }
    println!("  (* the default)");
}
