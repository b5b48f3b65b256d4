//! Which collections replication leaves out (spec §5.10). Used by the leader's inventory and WAL
//! filter, and by followers on the inventory they receive.

/// System collections that are never replicated, whatever the options say (prefix match for
/// `_statistics*`, exact names otherwise).
const ALWAYS_EXCLUDED: &[&str] = &[
    "_configuration",
    "_frontend",
    "_cluster_kickstarter_plans",
    "_routing",
    "_fishbowl",
    "_foxxlog",
    "_sessions",
    // where a RemoteFollower keeps its applier's position inside the database it writes into
    crate::replication::remote::POSITION_COLLECTION,
];

/// Whether a collection named `name` is left out of replication.
pub fn excluded(name: &str, include_system: bool, include_foxx_queues: bool) -> bool {
    if name.is_empty() {
        return true;
    }
    if !name.starts_with('_') {
        return false;
    }
    if !include_system {
        return true;
    }
    if name.starts_with("_statistics") || ALWAYS_EXCLUDED.contains(&name) {
        return true;
    }
    if name == "_jobs" || name == "_queues" {
        return !include_foxx_queues;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::excluded;

    #[test]
    fn follows_the_documented_rules() {
        assert!(excluded("", true, true));
        assert!(!excluded("users", false, false));
        assert!(excluded("_users", false, false));
        assert!(!excluded("_users", true, false));
        assert!(!excluded("_graphs", true, false));
        assert!(!excluded("_analyzers", true, false));
        for n in [
            "_statistics",
            "_statistics15",
            "_statisticsRaw",
            "_sessions",
            "_routing",
        ] {
            assert!(excluded(n, true, true), "{n}");
        }
        assert!(excluded("_jobs", true, false));
        assert!(excluded("_queues", true, false));
        assert!(!excluded("_jobs", true, true));
        assert!(excluded("_jobs", false, true));
    }
}
