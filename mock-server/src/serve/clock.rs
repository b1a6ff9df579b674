//! The watchdog's clock: milliseconds of a coarse monotonic clock, read twice per request (the
//! first byte of a head, the end of a response).
//!
//! The header and idle timeouts are seconds long, so a clock that advances once a jiffy (1 to
//! 4 ms) is precise enough, and on Linux `CLOCK_MONOTONIC_COARSE` is a plain read of the kernel's
//! last tick through the vDSO: no TSC read and no `Instant` subtraction, which the two reads per
//! request cost otherwise. Elsewhere it is `Instant`'s milliseconds since the first read.

/// Milliseconds since an arbitrary start; never goes backwards.
#[cfg(target_os = "linux")]
pub fn now_ms() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let millis = u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000;
    seconds.saturating_mul(1_000).saturating_add(millis)
}

/// Milliseconds since an arbitrary start; never goes backwards.
#[cfg(not(target_os = "linux"))]
pub fn now_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_clock_advances_with_time_and_never_back() {
        let before = now_ms();
        std::thread::sleep(Duration::from_millis(50));
        let after = now_ms();
        assert!(
            after >= before + 40,
            "50 ms of sleep advance the clock by about that much (a tick of slack): {before} -> {after}"
        );
    }
}
