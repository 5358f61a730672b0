//! Where job state is kept (a Redis server) and for how long.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::fields::{Fields, positive_seconds, text};
use crate::problem::Problems;

/// The job-state store.
#[derive(Debug, Clone)]
pub struct StateSettings {
    /// `redis://` or `rediss://` URL (key `url`, `redis://127.0.0.1:6379` in
    /// the defaults; `REDIS_URL` overrides it). It may carry a password, so
    /// `Debug` prints it redacted.
    pub url: SecretString,
    /// How long a job's state is kept after its last change (key
    /// `job_ttl_seconds`, 604800, seven days, in the defaults).
    pub job_ttl: Duration,
}

impl StateSettings {
    pub(crate) fn read(mut fields: Fields, problems: &mut Problems) -> Option<Self> {
        let url = fields.required("url", problems, redis_url);
        let job_ttl = fields.required("job_ttl_seconds", problems, positive_seconds);
        fields.finish(problems);
        Some(Self {
            url: url?,
            job_ttl: job_ttl?,
        })
    }
}

/// A Redis URL; the messages never repeat it, as it may hold a password.
fn redis_url(value: toml::Value) -> Result<SecretString, String> {
    let url = text(value)?;
    match Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "redis" | "rediss") && parsed.has_host() => {
            Ok(SecretString::from(url))
        }
        Ok(_) => Err("must be a redis:// or rediss:// url with a host".to_owned()),
        Err(error) => Err(format!("not a valid url: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use toml::Value;

    use super::*;

    #[test]
    fn redis_urls_are_accepted_and_others_refused_without_echo() {
        assert!(redis_url(Value::String("redis://127.0.0.1:6379".into())).is_ok());
        assert!(redis_url(Value::String("rediss://:pw@state.test:6380/2".into())).is_ok());

        let refused = redis_url(Value::String("http://u:hunter2@state.test".into())).unwrap_err();
        assert_eq!(refused, "must be a redis:// or rediss:// url with a host");
        let malformed = redis_url(Value::String("hunter2".into())).unwrap_err();
        assert!(!malformed.contains("hunter2"), "{malformed}");
    }
}
