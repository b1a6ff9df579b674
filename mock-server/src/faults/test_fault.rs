//! `test-fault` (tests only): the smallest fault there is, proving that a fault is its own file
//! plus one registry line. It has one parameter and a state that counts its resets and changes;
//! nothing on the request path calls it.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{fault::Fault, params::params};

params! {
    pub struct Params {
        /// how many of something
        count: usize = "3",
    }
}

#[derive(Debug, Default)]
pub struct TestFault {
    pub resets: AtomicUsize,
    pub last_count: AtomicUsize,
}

impl Fault for TestFault {
    const NAME: &'static str = "test-fault";
    const SUMMARY: &'static str = "a fault that exists only in unit tests";
    type Params = Params;

    fn on_change(&self, params: &Params, on: bool) {
        self.last_count
            .store(if on { params.count } else { 0 }, Ordering::Relaxed);
    }

    fn reset(&self) {
        self.resets.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use shared::admin::FaultsUpdate;

    use super::*;
    use crate::{
        faults::{FaultConfig, FaultId, Faults, catalogue::describe},
        store::Store,
    };

    #[test]
    fn a_fault_in_its_own_file_is_parsed_shown_switched_and_reset() {
        let faults = Faults::new(&FaultConfig::default(), Store::default(), Instant::now());
        let state = &faults.shared.states.test_fault;
        assert!(describe().contains("test-fault"), "the catalogue text lists it");
        let update = FaultsUpdate {
            enable: vec!["test-fault:count=7".to_owned()],
            ..Default::default()
        };
        let view = faults.update(&update).expect("its spec parses");
        let shown = view.faults.iter().find(|f| f.name == "test-fault").unwrap();
        assert!(shown.enabled, "the admin API shows it on");
        assert_eq!(shown.params["count"], "7", "with the count given");
        assert_eq!(shown.params["p"], "1", "and the common parameters");
        assert_eq!(state.last_count.load(Ordering::Relaxed), 7, "on_change saw its params");
        faults.reset();
        assert_eq!(state.resets.load(Ordering::Relaxed), 1, "reset reached its state");
        assert!(
            "test-fault:size=1".parse::<crate::faults::FaultSpec>().is_err(),
            "a parameter it does not take is refused"
        );
        assert_eq!(FaultId::by_name("test-fault"), Some(FaultId::TestFault), "the registry finds the test fault by name");
    }
}
