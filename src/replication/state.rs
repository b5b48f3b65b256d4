//! The applier's state as `applier-state` reports it (spec §2.3): phase, ticks, progress, counters and the
//! last error, plus the small persisted part a restart resumes from.

use crate::error::ArangoError;
use crate::tick::Tick;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::time::SystemTime;

/// `state.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Inactive,
    Initial,
    Running,
    Shutdown,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Inactive => "inactive",
            Phase::Initial => "initial",
            Phase::Running => "running",
            Phase::Shutdown => "shutdown",
        }
    }
}

/// What a restart resumes from (kept durable by the follower).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistedState {
    /// The leader's server id.
    pub server_id: String,
    pub last_processed_continuous_tick: Tick,
    pub last_applied_continuous_tick: Tick,
    #[serde(default)]
    pub safe_resume_tick: Tick,
}

/// The live state of one applier.
#[derive(Debug, Clone, Default)]
pub struct ApplierState {
    pub phase: Phase,
    pub started: Option<SystemTime>,
    pub last_applied_continuous_tick: u64,
    pub last_processed_continuous_tick: u64,
    pub last_available_continuous_tick: u64,
    pub safe_resume_tick: u64,
    pub progress_message: String,
    pub progress_time: Option<SystemTime>,
    pub failed_connects: u64,
    pub total_requests: u64,
    pub total_failed_connects: u64,
    pub total_events: u64,
    pub total_documents: u64,
    pub total_removals: u64,
    pub total_resyncs: u64,
    pub total_operations_excluded: u64,
    /// Seconds.
    pub total_apply_time: f64,
    pub apply_count: u64,
    /// Seconds.
    pub total_fetch_time: f64,
    pub fetch_count: u64,
    pub last_error: Option<(ArangoError, SystemTime)>,
    /// When (milliseconds since 1970) the leader committed the oldest change this follower has not
    /// applied yet, as far as it can tell; `None` when it has applied everything the leader had.
    pub pending_since_ms: Option<f64>,
}

fn tick_or_null(t: u64) -> Value {
    if t == 0 {
        Value::Null
    } else {
        json!(t.to_string())
    }
}

impl ApplierState {
    /// Records a progress message (shown in `state.progress`).
    pub fn progress(&mut self, message: impl Into<String>) {
        self.progress_message = message.into();
        self.progress_time = Some(SystemTime::now());
    }

    pub fn set_error(&mut self, e: ArangoError) {
        self.last_error = Some((e, SystemTime::now()));
    }

    /// `lagSeconds`: how long ago the leader committed the oldest change this follower has not applied
    /// yet; 0 when it has applied everything the leader's last answer held; `None` unless tailing.
    pub fn lag_seconds(&self) -> Option<f64> {
        if self.phase != Phase::Running {
            return None;
        }
        Some(match self.pending_since_ms {
            None => 0.0,
            Some(since) => ((crate::time::unix_millis() - since) / 1000.0).max(0.0),
        })
    }

    /// `ticksBehind`: the leader's last tick minus the last one this follower applied or processed.
    pub fn ticks_behind(&self) -> u64 {
        let done = self
            .last_applied_continuous_tick
            .max(self.last_processed_continuous_tick);
        self.last_available_continuous_tick.saturating_sub(done)
    }

    /// `running` is true only while tailing.
    pub fn running(&self) -> bool {
        self.phase == Phase::Running
    }

    /// The `state` object of `applier-state`, attributes in ArangoDB's order.
    pub fn state_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "started".into(),
            json!(
                self.started
                    .map(crate::time::utc_string)
                    .unwrap_or_default()
            ),
        );
        m.insert("running".into(), json!(self.running()));
        m.insert("phase".into(), json!(self.phase.as_str()));
        m.insert(
            "lastAppliedContinuousTick".into(),
            tick_or_null(self.last_applied_continuous_tick),
        );
        m.insert(
            "lastProcessedContinuousTick".into(),
            tick_or_null(self.last_processed_continuous_tick),
        );
        m.insert(
            "lastAvailableContinuousTick".into(),
            tick_or_null(self.last_available_continuous_tick),
        );
        m.insert("safeResumeTick".into(), tick_or_null(self.safe_resume_tick));
        if self.phase == Phase::Running {
            m.insert("ticksBehind".into(), json!(self.ticks_behind()));
        }
        m.insert("lagSeconds".into(), json!(self.lag_seconds()));
        let mut progress = Map::new();
        progress.insert(
            "time".into(),
            json!(
                self.progress_time
                    .map(crate::time::utc_string)
                    .unwrap_or_default()
            ),
        );
        if !self.progress_message.is_empty() {
            progress.insert("message".into(), json!(self.progress_message));
        }
        progress.insert("failedConnects".into(), json!(self.failed_connects));
        m.insert("progress".into(), Value::Object(progress));
        let avg = |t: f64, n: u64| if n == 0 { 0.0 } else { t / n as f64 };
        for (k, v) in [
            ("totalRequests", json!(self.total_requests)),
            ("totalFailedConnects", json!(self.total_failed_connects)),
            ("totalEvents", json!(self.total_events)),
            ("totalDocuments", json!(self.total_documents)),
            ("totalRemovals", json!(self.total_removals)),
            ("totalResyncs", json!(self.total_resyncs)),
            (
                "totalOperationsExcluded",
                json!(self.total_operations_excluded),
            ),
            ("totalApplyTime", json!(self.total_apply_time)),
            (
                "averageApplyTime",
                json!(avg(self.total_apply_time, self.apply_count)),
            ),
            ("totalFetchTime", json!(self.total_fetch_time)),
            (
                "averageFetchTime",
                json!(avg(self.total_fetch_time, self.fetch_count)),
            ),
        ] {
            m.insert(k.into(), v);
        }
        let last_error = match &self.last_error {
            None => json!({"errorNum": 0}),
            Some((e, t)) => {
                let mut le = Map::new();
                le.insert("errorNum".into(), json!(e.error_num));
                le.insert("time".into(), json!(crate::time::utc_string(*t)));
                if !e.message.is_empty() {
                    le.insert("errorMessage".into(), json!(e.message));
                }
                Value::Object(le)
            }
        };
        m.insert("lastError".into(), last_error);
        m.insert("time".into(), json!(crate::time::now_utc()));
        Value::Object(m)
    }
}
