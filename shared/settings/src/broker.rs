//! Where the message broker is and how the services use it.

use secrecy::SecretString;
use url::Url;

use std::time::Duration;

use crate::fields::{Fields, in_range, positive_seconds, text, whole_number};
use crate::problem::Problems;

/// The RabbitMQ connection and topology naming.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// `amqp://` or `amqps://` URL; may carry a password, so `Debug` prints
    /// it redacted.
    pub url: SecretString,
    /// Prefix of every exchange and queue name.
    pub prefix: String,
    /// Deliveries a consumer may hold unacknowledged at once (at least 1).
    pub prefetch: u16,
    /// Drop a queue that has had no consumer for this long. For throwaway
    /// topologies (tests, demos); unset in production so queues never vanish.
    pub queue_expires: Option<Duration>,
    /// How long a worker keeps reconnecting to a lost broker before it exits
    /// non-zero, for its supervisor to restart it.
    pub reconnect_timeout: Duration,
    /// How long a publish waits for the broker's confirm before its delivery goes
    /// back to the queue (a broker that blocks publishers must not hold a worker).
    pub confirm_timeout: Duration,
}

impl BrokerSettings {
    pub(crate) fn read(mut fields: Fields, problems: &mut Problems) -> Option<Self> {
        let url = fields.required("url", problems, amqp_url);
        let prefix = fields.required("prefix", problems, topology_prefix);
        let prefetch = fields.required("prefetch", problems, |value| {
            in_range(whole_number(value)?, 1, u16::MAX)
        });
        let queue_expires = fields.optional("queue_expires_seconds", problems, positive_seconds);
        let reconnect_timeout =
            fields.required("reconnect_timeout_seconds", problems, positive_seconds);
        let confirm_timeout =
            fields.required("confirm_timeout_seconds", problems, positive_seconds);
        fields.finish(problems);
        Some(Self {
            url: url?,
            prefix: prefix?,
            prefetch: prefetch?,
            queue_expires,
            reconnect_timeout: reconnect_timeout?,
            confirm_timeout: confirm_timeout?,
        })
    }
}

/// An AMQP URL; the messages never repeat it, as it may hold a password.
fn amqp_url(value: toml::Value) -> Result<SecretString, String> {
    let url = text(value)?;
    match Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "amqp" | "amqps") && parsed.has_host() => {
            Ok(SecretString::from(url))
        }
        Ok(_) => Err("must be an amqp:// or amqps:// url with a host".to_owned()),
        Err(error) => Err(format!("not a valid url: {error}")),
    }
}

/// 1 to 64 characters of ASCII letters, digits, `.`, `_` and `-`: safe in
/// any exchange or queue name.
fn topology_prefix(value: toml::Value) -> Result<String, String> {
    let prefix = text(value)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if (1..=64).contains(&prefix.len()) && prefix.chars().all(allowed) {
        Ok(prefix)
    } else {
        Err(format!(
            "{prefix:?} must be 1 to 64 characters of letters, digits, '.', '_' and '-'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use toml::Value;

    use super::*;

    #[test]
    fn amqp_urls_are_accepted_and_others_refused_without_echo() {
        assert!(amqp_url(Value::String("amqp://127.0.0.1:5672/%2f".into())).is_ok());
        assert!(amqp_url(Value::String("amqps://u:p@broker.test/vhost".into())).is_ok());

        let refused = amqp_url(Value::String("http://u:hunter2@broker.test".into())).unwrap_err();
        assert_eq!(refused, "must be an amqp:// or amqps:// url with a host");
        let malformed = amqp_url(Value::String("hunter2".into())).unwrap_err();
        assert!(!malformed.contains("hunter2"), "{malformed}");
    }

    #[test]
    fn topology_prefixes_are_limited_to_safe_characters() {
        assert!(topology_prefix(Value::String("test-1234.abc_d".into())).is_ok());
        assert!(topology_prefix(Value::String(String::new())).is_err());
        assert!(topology_prefix(Value::String("has space".into())).is_err());
        assert!(topology_prefix(Value::String("x".repeat(65))).is_err());
    }
}
