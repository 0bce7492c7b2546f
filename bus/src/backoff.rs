//! Exponential backoff with jitter: how long to wait before trying the broker (or any peer)
//! again.
//!
//! Every retry loop of the project waits through this one type, so that all of them spread out
//! the same way: after a broker restart every agent process loses its connection at the same
//! moment, and retrying on a fixed schedule would bring them back in lockstep, load spike after
//! load spike.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::time::Duration;

/// Exponential backoff between `min` and `max`, with "equal jitter".
///
/// The n-th delay after a reset is drawn uniformly from the upper half of the exponential step
/// `min · 2ⁿ` (capped at `max`), and never below `min`: `[max(step / 2, min), step]`.
///
/// Why equal jitter rather than the alternatives (see Marc Brooker, "Exponential Backoff and
/// Jitter", AWS Architecture Blog, 2015):
/// - *full jitter* (`[0, step]`) spreads most but may wait almost nothing, so a process could
///   hammer a broker that is still down, and callers count on `min` as a floor;
/// - *decorrelated jitter* (`[min, previous · 3]`) loses the doubling schedule callers and
///   `docs/protocol.md` reason about;
/// - a multiplicative `±x %` factor (the `backoff` crate's) may wait longer than `max`.
///
/// Equal jitter keeps both bounds and the doubling: every delay is at most what the plain
/// exponential backoff waited (so no caller waits longer than before) and at least half of it
/// (so retries stay rare while the peer is down). The first delay after a reset is exactly
/// `min`, since the upper half of the first step lies below the floor; from the second on the
/// delays spread over a range as wide as the previous step.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    /// Upper bound of the next delay: `min`, doubled on every delay since the last reset, at
    /// most `max`.
    step: Duration,
}

impl Backoff {
    /// Starts at `min`; the bound of the delays doubles on every [`Backoff::next_delay`] and
    /// never exceeds `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            step: min,
        }
    }

    /// The delay to wait now: random within the upper half of the current step, never below
    /// `min`. The following step is twice as long, up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = step.saturating_mul(2).min(self.max);
        let floor = (step / 2).max(self.min).min(step);
        floor + uniform_up_to(step - floor)
    }

    /// Back to the shortest delay, after a success.
    pub fn reset(&mut self) {
        self.step = self.min;
    }
}

/// A uniformly random duration in `[0, span]`, to the nanosecond.
fn uniform_up_to(span: Duration) -> Duration {
    let span = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
    // Scaling a 64-bit random number by `span + 1` (the high half of the 128-bit product)
    // maps it onto the range without the bias a modulo would add for large spans.
    let scaled = (u128::from(random_u64()) * (u128::from(span) + 1)) >> 64;
    Duration::from_nanos(u64::try_from(scaled).unwrap_or(span))
}

/// 64 random bits, without a dependency. Each `RandomState` gets its own SipHash keys (seeded
/// from the OS once per thread, then varied per instance), and std promises that hashers of
/// different instances hash alike only by chance; so the hash of nothing under fresh keys is a
/// new random number every call. Not for cryptography, which jitter does not need.
fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_millis(5_000);
    /// The exponential steps of [`MIN`]..[`MAX`]: 100, 200, 400, … ms, then [`MAX`] for good.
    const STEPS_MS: [u64; 9] = [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000];

    fn delays(backoff: &mut Backoff) -> Vec<Duration> {
        STEPS_MS.iter().map(|_| backoff.next_delay()).collect()
    }

    #[test]
    fn each_delay_lies_in_the_upper_half_of_its_doubling_step() {
        // Many runs, so that a draw outside the range shows up; each bound fails on its own:
        // below `step / 2` (or `min`) means too little backoff, above `step` means no doubling
        // schedule or a broken cap.
        for _ in 0..200 {
            let mut backoff = Backoff::new(MIN, MAX);
            for (n, (delay, step_ms)) in delays(&mut backoff).into_iter().zip(STEPS_MS).enumerate()
            {
                let step = Duration::from_millis(step_ms);
                let floor = (step / 2).max(MIN);
                assert!(
                    (floor..=step).contains(&delay),
                    "delay {n} was {delay:?}, outside [{floor:?}, {step:?}]"
                );
                assert!((MIN..=MAX).contains(&delay), "delay {n} was {delay:?}");
            }
        }
    }

    #[test]
    fn the_delays_reach_the_top_of_each_step() {
        // The upper bound really doubles: over many runs some delay of each step comes close to
        // that step, which is twice the previous one (a backoff stuck at `min`, or growing more
        // slowly, fails here even though it stays within its bounds).
        let runs: Vec<Vec<Duration>> = (0..200)
            .map(|_| delays(&mut Backoff::new(MIN, MAX)))
            .collect();
        for (n, step_ms) in STEPS_MS.into_iter().enumerate() {
            let longest = runs.iter().map(|run| run[n]).max().unwrap_or_default();
            let step = Duration::from_millis(step_ms);
            assert!(
                longest >= step.mul_f64(0.9),
                "the longest of 200 delays {n} was {longest:?}, step {step:?}"
            );
        }
    }

    #[test]
    fn reset_returns_to_the_shortest_delay() {
        let mut backoff = Backoff::new(MIN, MAX);
        delays(&mut backoff);
        backoff.reset();
        assert_eq!(backoff.next_delay(), MIN);
        let second = backoff.next_delay();
        assert!(second <= 2 * MIN, "{second:?} after a reset");
    }

    #[test]
    fn backoffs_do_not_wait_in_lockstep() {
        let first = delays(&mut Backoff::new(MIN, MAX));
        let second = delays(&mut Backoff::new(MIN, MAX));
        assert_ne!(first, second);
        // Clones too: a template cloned for every connection must not make them retry together.
        let template = Backoff::new(MIN, MAX);
        assert_ne!(delays(&mut template.clone()), delays(&mut template.clone()));
    }

    #[test]
    fn jitter_spreads_over_the_whole_range() {
        // Once capped the range is [max / 2, max]: 64 draws all in one half of it would mean the
        // jitter is skewed or stuck (a false alarm has odds of 2 in 2⁶⁴).
        let mut backoff = Backoff::new(MIN, MAX);
        delays(&mut backoff);
        let capped: Vec<Duration> = (0..64).map(|_| backoff.next_delay()).collect();
        let middle = MAX.mul_f64(0.75);
        assert!(capped.iter().any(|delay| *delay < middle), "{capped:?}");
        assert!(capped.iter().any(|delay| *delay > middle), "{capped:?}");
    }

    #[test]
    fn a_minimum_at_the_maximum_waits_exactly_that() {
        let mut backoff = Backoff::new(MAX, MAX);
        assert!((0..10).all(|_| backoff.next_delay() == MAX));
    }
}
