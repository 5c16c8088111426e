//! The simulated clock: runs `speed` times faster than real time and can be set or advanced.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Simulated time = `base` + real time elapsed since `anchor` x `speed`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Clock {
    base: DateTime<Utc>,
    speed: f64,
    /// Not persisted: a restarted simulator resumes from the saved `base`.
    #[serde(skip, default = "Instant::now")]
    anchor: Instant,
}

impl Clock {
    /// A clock showing `start` now.
    pub fn new(start: DateTime<Utc>, speed: f64) -> Self {
        Self {
            base: start,
            speed: sanitize(speed),
            anchor: Instant::now(),
        }
    }

    /// Current simulated time.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = self.anchor.elapsed().as_secs_f64() * self.speed;
        // Clamp to what chrono represents; a silly speed must not panic.
        let micros = (elapsed * 1e6).min(1e17) as i64;
        self.base
            .checked_add_signed(ChronoDuration::microseconds(micros))
            .unwrap_or(self.base)
    }

    /// Sets the time; years outside 1970..=9999 are ignored (date arithmetic must not overflow).
    pub fn set(&mut self, now: DateTime<Utc>) {
        use chrono::Datelike;
        if !(1970..=9999).contains(&now.year()) {
            return;
        }
        self.base = now;
        self.anchor = Instant::now();
    }

    /// Moves the time forward (or back, with a negative amount).
    pub fn advance(&mut self, seconds: f64) {
        let delta = ChronoDuration::microseconds((seconds.clamp(-1e12, 1e12) * 1e6) as i64);
        // Out of chrono's range: stay put rather than panic.
        let now = self.now();
        self.set(now.checked_add_signed(delta).unwrap_or(now));
    }

    /// Changes the speed from now on.
    pub fn set_speed(&mut self, speed: f64) {
        let now = self.now();
        self.speed = sanitize(speed);
        self.set(now);
    }

    /// Current speed.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// A copy with `base` at the current time, for saving.
    pub fn folded(&self) -> Self {
        Self::new(self.now(), self.speed)
    }
}

fn sanitize(speed: f64) -> f64 {
    if speed.is_finite() {
        speed.clamp(0.0, 1e7)
    } else {
        1.0
    }
}
