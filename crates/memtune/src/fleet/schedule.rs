//! When scheduled runs start: a standard 5-field cron expression (or 6 fields, seconds first),
//! evaluated in UTC.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;

/// A schedule that is not a cron expression memtune takes.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "schedule \"{text}\" has {fields} fields; write 5: minute hour day-of-month month \
         day-of-week, e.g. \"0 3 * * *\" for 03:00 UTC every day (or 6, seconds first)"
    )]
    FieldCount { text: String, fields: usize },
    #[error(
        "schedule \"{text}\" is not a cron expression ({source}); e.g. \"0 3 * * *\" for \
         03:00 UTC every day, \"*/30 * * * *\" every 30 minutes"
    )]
    NotCron {
        text: String,
        source: croner::errors::CronError,
    },
}

#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    text: String,
}

impl Schedule {
    /// Parses `minute hour day-of-month month day-of-week`, e.g. `0 3 * * *` (03:00 UTC daily),
    /// optionally with a seconds field first.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let fields = text.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(ScheduleError::FieldCount {
                text: text.to_string(),
                fields,
            });
        }
        let cron = Cron::from_str(text).map_err(|source| ScheduleError::NotCron {
            text: text.to_string(),
            source,
        })?;
        Ok(Schedule {
            cron,
            text: text.to_string(),
        })
    }

    /// The first start strictly after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&now, false).ok()
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn next_start_is_strictly_after_now() {
        let s = Schedule::parse("0 3 * * *").unwrap();
        let at = |h, m| Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap();
        assert_eq!(s.next_after(at(2, 59)), Some(at(3, 0)));
        assert_eq!(
            s.next_after(at(3, 0)),
            Some(Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap())
        );
        let every = Schedule::parse("*/15 * * * *").unwrap();
        assert_eq!(every.next_after(at(10, 1)), Some(at(10, 15)));
        let seconds = Schedule::parse("*/2 * * * * *").unwrap();
        assert_eq!(
            seconds.next_after(at(10, 1)),
            Some(at(10, 1) + chrono::Duration::seconds(2))
        );
    }

    #[test]
    fn bad_expressions_say_how_to_write_one() {
        let e = Schedule::parse("0 3 * *").unwrap_err();
        assert!(e.to_string().contains("has 4 fields; write 5"), "{e}");
        let e = Schedule::parse("61 3 * * *").unwrap_err();
        assert!(e.to_string().contains("is not a cron expression"), "{e}");
    }
}
