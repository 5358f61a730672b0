//! Receipts of side effects the upstream cannot de-duplicate, such as a message sent
//! to a dossier's user: a command that did the effect records a receipt under its
//! idempotency key, and a redelivery finds it instead of doing the effect again.
//!
//! One hash per key, `<ns>:receipt:<key>`, with two fields: `first_attempt`, the
//! moment the first delivery started (set once, never moved), and `receipt`, what
//! the effect returned (its upstream id). The hash expires after the store's time to
//! live, counted from the last attempt or receipt.
//!
//! The marker tells a redelivery that an earlier attempt may have done the effect
//! and crashed before recording it: the caller then looks upstream for an effect
//! made since [`ReceiptCheck::EarlierAttempt::since`] before doing it again.

use chrono::{DateTime, Utc};

use crate::{JobStore, StoreError};

/// What is known about an effect before it is attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptCheck {
    /// The effect was done and recorded: here is its receipt. Do nothing.
    Recorded(String),
    /// No attempt was made before this one: do the effect.
    FirstAttempt,
    /// An earlier attempt started at `since` and recorded nothing: the effect may
    /// have been done. Look for it before doing it again.
    EarlierAttempt {
        /// When the first attempt started, by the clock of the worker that made it.
        since: DateTime<Utc>,
    },
}

impl JobStore {
    /// Looks `key` up and, when it has no receipt yet, marks this attempt; the first
    /// attempt's time is kept, so every later attempt sees the same `since`.
    pub async fn begin_attempt(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<ReceiptCheck, StoreError> {
        let mut invocation = RECEIPT_BEGIN.prepare_invoke();
        invocation
            .key(self.receipt_key(key))
            .arg(now.to_rfc3339())
            .arg(self.ttl_seconds);
        let answer: Vec<String> = invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        match answer.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["recorded", receipt] => Ok(ReceiptCheck::Recorded(receipt.to_owned())),
            ["first", _] => Ok(ReceiptCheck::FirstAttempt),
            ["again", since] => DateTime::parse_from_rfc3339(since)
                .map(|since| ReceiptCheck::EarlierAttempt {
                    since: since.with_timezone(&Utc),
                })
                .map_err(|error| {
                    StoreError::Unexpected(format!("first attempt time {since:?}: {error}"))
                }),
            _ => Err(StoreError::Unexpected(format!("receipt check {answer:?}"))),
        }
    }

    /// Records that the effect of `key` was done, with what it returned; the first
    /// receipt recorded is kept.
    pub async fn record_receipt(&self, key: &str, receipt: &str) -> Result<(), StoreError> {
        let key = self.receipt_key(key);
        redis::pipe()
            .atomic()
            .hset_nx(&key, "receipt", receipt)
            .ignore()
            .expire(&key, i64::try_from(self.ttl_seconds).unwrap_or(i64::MAX))
            .ignore()
            .query_async::<()>(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)
    }

    fn receipt_key(&self, key: &str) -> String {
        format!("{}:receipt:{key}", self.namespace)
    }
}

static RECEIPT_BEGIN: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("scripts/receipt_begin.lua")));
