//! Task → playbook mapping accuracy on the labelled set (`benches/mapping-cases.yaml`) over the
//! example repository: `cargo bench -p chiffon-orchestrator --bench mapping`.
//!
//! A measurement of answers, not of time: it prints top-1 accuracy (overall, on tasks a playbook
//! fits and on tasks none fits), the mean confidence of right and wrong answers, every miss with
//! its reasons, and how accuracy moves with the threshold (the data behind
//! `mapping::DEFAULT_THRESHOLD`). Arguments cargo passes to benches (`--bench`) are ignored.

#[path = "support/mapping_eval.rs"]
mod mapping_eval;

use chiffon_orchestrator::mapping::DEFAULT_THRESHOLD;

fn main() {
    let catalog = mapping_eval::example_catalog();
    let cases = mapping_eval::load_cases(&catalog);
    println!(
        "catalog: {} playbooks scanned from {}",
        catalog.len(),
        mapping_eval::example_repo().display()
    );
    let started = std::time::Instant::now();
    let report = mapping_eval::evaluate(&cases, &catalog, DEFAULT_THRESHOLD);
    let elapsed = started.elapsed();
    report.print();
    println!(
        "  ({} tasks matched in {:.1} ms)",
        cases.len(),
        elapsed.as_secs_f64() * 1000.0
    );

    println!();
    println!("accuracy by threshold:");
    println!("  threshold  top-1   fits    none");
    for step in 6..=16 {
        let threshold = f64::from(step) * 0.05;
        let report = mapping_eval::evaluate(&cases, &catalog, threshold);
        let (fits_right, fits_total) = report.fits_score();
        let (none_right, none_total) = report.none_score();
        println!(
            "  {threshold:.2}{}      {:.3}   {fits_right:>2}/{fits_total}   {none_right:>2}/{none_total}",
            if (threshold - DEFAULT_THRESHOLD).abs() < 1e-9 {
                "*"
            } else {
                " "
            },
            report.accuracy(),
        );
    }
    println!("  (* the default)");
}
