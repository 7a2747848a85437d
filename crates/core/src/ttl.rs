//! Vault's one TTL rule (`framework.CalculateTTL`), used for logins, token creation and every
//! renewal, with its exact warning texts.

use std::time::Duration;

use crate::CoreError;

/// What a TTL calculation starts from. Zero durations mean "not set".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TtlInputs {
    /// The mount's default lease TTL (tuned, else the system value).
    pub mount_default: Duration,
    /// The mount's maximum lease TTL (tuned, else the system value).
    pub mount_max: Duration,
    /// The increment a renewal asked for.
    pub increment: Duration,
    /// The TTL the backend (role) asks for.
    pub backend_ttl: Duration,
    /// The renewal period of a periodic token.
    pub period: Duration,
    /// The backend's (role's) maximum TTL.
    pub backend_max: Duration,
    /// A hard cap on the lease's whole life.
    pub explicit_max: Duration,
}

/// The outcome: the TTL and any capping warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlOutcome {
    /// The TTL to grant, whole seconds.
    pub ttl: Duration,
    /// Vault's capping warnings.
    pub warnings: Vec<String>,
}

/// Computes a lease TTL. `elapsed` is the time since the lease was first issued (zero when
/// issuing): the maximum TTL always counts from the original issue time.
pub fn calculate_ttl(inputs: &TtlInputs, elapsed: Duration) -> Result<TtlOutcome, CoreError> {
    let elapsed = Duration::from_secs(elapsed.as_secs());
    let mut max_ttl = inputs.mount_max;
    if !inputs.backend_max.is_zero() && inputs.backend_max < max_ttl {
        max_ttl = inputs.backend_max;
    }
    if !inputs.explicit_max.is_zero() && inputs.explicit_max < max_ttl {
        max_ttl = inputs.explicit_max;
    }
    if max_ttl.is_zero() {
        return Err(CoreError::User("max TTL must be greater than zero".into()));
    }
    let mut warnings = Vec::new();
    let (mut ttl, hard_stop) = if !inputs.period.is_zero() {
        let mut period = inputs.period;
        if period > max_ttl {
            warnings.push(format!(
                "period of {:?} exceeded the effective max_ttl of {:?}; period value is capped accordingly",
                human_duration(period),
                human_duration(max_ttl)
            ));
            period = max_ttl;
        }
        let stop = (!inputs.explicit_max.is_zero()).then_some(inputs.explicit_max);
        (period, stop)
    } else {
        let ttl = [inputs.increment, inputs.backend_ttl]
            .into_iter()
            .find(|d| !d.is_zero())
            .unwrap_or(inputs.mount_default);
        (ttl, Some(max_ttl))
    };
    if let Some(stop) = hard_stop {
        let Some(max_valid) = stop.checked_sub(elapsed).filter(|d| !d.is_zero()) else {
            return Err(CoreError::User("past the max TTL, cannot renew".into()));
        };
        if ttl > max_valid {
            warnings.push(format!(
                "TTL of {:?} exceeded the effective max_ttl of {:?}; TTL value is capped accordingly",
                human_duration(ttl),
                human_duration(max_valid)
            ));
            ttl = max_valid;
        }
    }
    Ok(TtlOutcome {
        ttl: Duration::from_secs(ttl.as_secs()),
        warnings,
    })
}

/// Go's `time.Duration.String()` for whole seconds, with Vault's `humanDuration` trimming of
/// zero units (`768h`, `1h30m`, `1m30s`, `45s`).
pub fn human_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    if total == 0 {
        return "0s".into();
    }
    let (hours, minutes, seconds) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut text = if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    };
    if text.ends_with("m0s") {
        text.truncate(text.len() - 2);
    }
    if let Some(index) = text.find("h0m") {
        text.replace_range(index + 1..index + 3, "");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 24 * 3600;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn mount() -> TtlInputs {
        TtlInputs {
            mount_default: secs(32 * DAY),
            mount_max: secs(32 * DAY),
            ..TtlInputs::default()
        }
    }

    #[test]
    fn human_durations_match_vaults() {
        for (seconds, text) in [
            (0, "0s"),
            (45, "45s"),
            (90, "1m30s"),
            (3600, "1h"),
            (5400, "1h30m"),
            (3601, "1h1s"),
            (32 * DAY, "768h"),
        ] {
            assert_eq!(human_duration(secs(seconds)), text, "{seconds}");
        }
    }

    #[test]
    fn no_ttl_anywhere_gives_the_mount_default() {
        let out = calculate_ttl(&mount(), Duration::ZERO).unwrap();
        assert_eq!(out.ttl, secs(2_764_800));
        assert!(out.warnings.is_empty());
    }

    #[test]
    fn backend_ttl_above_the_mount_max_is_capped_with_vaults_warning() {
        let inputs = TtlInputs {
            mount_max: secs(3600),
            backend_ttl: secs(7200),
            ..mount()
        };
        let out = calculate_ttl(&inputs, Duration::ZERO).unwrap();
        assert_eq!(out.ttl, secs(3600));
        assert_eq!(
            out.warnings,
            [
                "TTL of \"2h\" exceeded the effective max_ttl of \"1h\"; TTL value is capped accordingly"
            ]
        );
    }

    #[test]
    fn period_above_max_is_capped_and_lives_without_a_hard_stop() {
        let inputs = TtlInputs {
            backend_max: secs(600),
            period: secs(3600),
            ..mount()
        };
        let out = calculate_ttl(&inputs, secs(100 * DAY)).unwrap();
        assert_eq!(out.ttl, secs(600));
        assert_eq!(
            out.warnings,
            [
                "period of \"1h\" exceeded the effective max_ttl of \"10m\"; period value is capped accordingly"
            ]
        );
    }

    #[test]
    fn renewals_count_the_max_from_the_issue_time() {
        let inputs = TtlInputs {
            backend_max: secs(3600),
            increment: secs(1800),
            ..mount()
        };
        assert_eq!(calculate_ttl(&inputs, secs(600)).unwrap().ttl, secs(1800));
        let late = calculate_ttl(&inputs, secs(3000)).unwrap();
        assert_eq!(late.ttl, secs(600));
        assert_eq!(late.warnings.len(), 1);
        let past = calculate_ttl(&inputs, secs(3600)).unwrap_err();
        assert_eq!(past.to_string(), "past the max TTL, cannot renew");
    }

    #[test]
    fn explicit_max_caps_periodic_and_plain_tokens() {
        let periodic = TtlInputs {
            period: secs(600),
            explicit_max: secs(1000),
            ..mount()
        };
        assert_eq!(calculate_ttl(&periodic, secs(900)).unwrap().ttl, secs(100));
        let plain = TtlInputs {
            backend_ttl: secs(7200),
            explicit_max: secs(3600),
            ..mount()
        };
        assert_eq!(
            calculate_ttl(&plain, Duration::ZERO).unwrap().ttl,
            secs(3600)
        );
    }

    #[test]
    fn increment_wins_over_backend_ttl() {
        let inputs = TtlInputs {
            backend_ttl: secs(60),
            increment: secs(120),
            ..mount()
        };
        assert_eq!(
            calculate_ttl(&inputs, Duration::ZERO).unwrap().ttl,
            secs(120)
        );
    }
}
