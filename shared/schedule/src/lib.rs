//! Scheduled syncs: when a run is due ([`due_time`]), the command it publishes
//! ([`run_command`]), how its job's events end it ([`run_end`]), and the state every
//! scheduler replica and the `estafette schedules` commands share ([`ScheduleStore`]).
//!
//! A schedule's state lives in Redis (the `[state]` url), in one hash per schedule,
//! `<ns>:schedule:<name>`, with no expiry:
//!
//! - `resume_point`: the `resume_point` of the last run that read its whole listing,
//!   with `resume_definition`, the fingerprint of the definition that run was built
//!   from ([`definition`]); the next run starts from it if the schedule still reads
//!   the same ([`ScheduleState::resume_point_for`]). Absent at first, after
//!   `estafette schedules reset` (which also moves `generation` on, so that a run in
//!   flight does not set it again), and after a loss of the store's data: the next run
//!   is then a full sync, so a loss costs a longer run, never a gap.
//! - `tracked_since`, `last_slot`: when the schedule was first seen, and the last due
//!   time handled (run or skipped); due times are counted after it, so a scheduler
//!   that was down catches up once, not once per missed time.
//! - `run_*`: the run in flight (job id, command, starting point, when it was
//!   claimed, whether its command was confirmed by the broker).
//! - `last_*`: how the last run ended (job, outcome, records, reason, its starting
//!   point), `last_success`, and `skips` / `last_skip` for due times passed while a
//!   run was still going.
//!
//! `<ns>:schedule-runs` maps a run's job id to its schedule while it is in flight, and
//! `<ns>:scheduler-lease` names the replica allowed to publish. Every change is one
//! Lua script, so it is atomic: a due time is claimed at most once, a run starts only
//! when none is in flight, and only the run in flight may move the resume point.

mod due;
mod run;
mod store;

pub use due::due_time;
pub use run::{Outcome, RunEnd, definition, run_command, run_end};
pub use store::{Claim, Claimed, LastRun, Running, ScheduleState, ScheduleStore, StoreError};
