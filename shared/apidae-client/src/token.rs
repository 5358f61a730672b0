//! The access token shared by every call of a client (and its clones): one token
//! request at a time, refreshed before it expires and at most once per refused token.

use crate::error::ApidaeError;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The least time left on a token for it to be reused.
const MIN_MARGIN: Duration = Duration::from_secs(60);

/// A token as the token URL issued it.
pub(crate) struct Grant {
    pub(crate) access_token: SecretString,
    /// `expires_in`: how long the server keeps it valid from now.
    pub(crate) expires_in: Duration,
}

/// A token as handed to one call; its generation tells tokens apart without comparing
/// their text.
#[derive(Clone)]
pub(crate) struct Token {
    secret: Arc<SecretString>,
    generation: u64,
}

impl Token {
    /// The token text, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        self.secret.expose_secret()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// The cached token of one client.
#[derive(Default)]
pub(crate) struct TokenCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    /// The generation of the last token issued; 0 before the first.
    generation: u64,
}

struct Cached {
    token: Token,
    /// After this instant a call asks for a new token.
    refresh_at: Instant,
}

impl TokenCache {
    /// The cached token while enough of its life is left, else a new one from
    /// `request`. Concurrent callers wait for a single token request.
    pub(crate) async fn current<F, Fut>(&self, request: F) -> Result<Token, ApidaeError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Grant, ApidaeError>>,
    {
        let mut state = self.state.lock().await;
        if let Some(token) = usable(&state) {
            return Ok(token);
        }
        issue(&mut state, request).await
    }

    /// A token to retry with after the server refused `refused`: the one another call
    /// already fetched since, or else a new one from `request`.
    pub(crate) async fn replace<F, Fut>(
        &self,
        refused: &Token,
        request: F,
    ) -> Result<Token, ApidaeError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Grant, ApidaeError>>,
    {
        let mut state = self.state.lock().await;
        if let Some(token) = usable(&state)
            && token.generation != refused.generation
        {
            return Ok(token);
        }
        issue(&mut state, request).await
    }
}

fn usable(state: &State) -> Option<Token> {
    let cached = state.current.as_ref()?;
    (Instant::now() < cached.refresh_at).then(|| cached.token.clone())
}

async fn issue<F, Fut>(state: &mut State, request: F) -> Result<Token, ApidaeError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Grant, ApidaeError>>,
{
    state.current = None;
    let requested_at = Instant::now();
    let grant = request().await?;
    state.generation += 1;
    let token = Token {
        secret: Arc::new(grant.access_token),
        generation: state.generation,
    };
    tracing::debug!(
        generation = token.generation,
        expires_in_secs = grant.expires_in.as_secs(),
        "apidae token issued"
    );
    let use_for = grant.expires_in.saturating_sub(margin(grant.expires_in));
    state.current = Some(Cached {
        token: token.clone(),
        refresh_at: requested_at.checked_add(use_for).unwrap_or(requested_at),
    });
    Ok(token)
}

/// How much life must be left for a token to be reused: 10% of it, at least a minute.
fn margin(expires_in: Duration) -> Duration {
    (expires_in / 10).max(MIN_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PermanentReason;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const HOURS_12: Duration = Duration::from_secs(12 * 3600);

    /// A token request that counts its calls and hands out `token-<n>`.
    async fn grant(calls: &AtomicUsize, expires_in: Duration) -> Result<Grant, ApidaeError> {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(Grant {
            access_token: SecretString::from(format!("token-{n}")),
            expires_in,
        })
    }

    #[test]
    fn the_margin_is_a_tenth_of_the_lifetime_or_a_minute() {
        assert_eq!(margin(HOURS_12), Duration::from_secs(4320));
        assert_eq!(margin(Duration::from_secs(300)), MIN_MARGIN);
        assert_eq!(margin(Duration::ZERO), MIN_MARGIN);
    }

    #[tokio::test]
    async fn a_token_is_reused_while_enough_life_is_left() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let first = cache
            .current(|| grant(&calls, HOURS_12))
            .await
            .expect("a token");
        let second = cache
            .current(|| grant(&calls, HOURS_12))
            .await
            .expect("a token");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(first.expose(), "token-1");
        assert_eq!(second.generation(), first.generation());
    }

    #[tokio::test]
    async fn a_short_lived_token_serves_one_call_and_is_then_renewed() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let short = Duration::from_secs(30);
        let first = cache
            .current(|| grant(&calls, short))
            .await
            .expect("a token");
        let second = cache
            .current(|| grant(&calls, short))
            .await
            .expect("a token");
        assert_eq!(first.expose(), "token-1");
        assert_eq!(second.expose(), "token-2");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_share_one_token_request() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let cache = cache.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                cache.current(|| grant(&calls, HOURS_12)).await
            }));
        }
        for task in tasks {
            let token = task.await.expect("the task ends").expect("a token");
            assert_eq!(token.expose(), "token-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_once_however_many_calls_saw_it() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let refused = cache
            .current(|| grant(&calls, HOURS_12))
            .await
            .expect("a token");
        let first = cache
            .replace(&refused, || grant(&calls, HOURS_12))
            .await
            .expect("a token");
        let second = cache
            .replace(&refused, || grant(&calls, HOURS_12))
            .await
            .expect("a token");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(first.expose(), "token-2");
        assert_eq!(second.generation(), first.generation());
    }

    #[tokio::test]
    async fn a_failed_request_leaves_no_token_behind() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let refused = cache
            .current(|| grant(&calls, HOURS_12))
            .await
            .expect("a token");
        let error = cache
            .replace(&refused, || async {
                Err(ApidaeError::permanent(PermanentReason::Unauthorized, "no"))
            })
            .await
            .expect_err("the request failed");
        assert!(!error.is_retryable());
        let next = cache
            .current(|| grant(&calls, HOURS_12))
            .await
            .expect("a token");
        assert_eq!(next.expose(), "token-2");
    }

    #[test]
    fn debug_shows_no_token_text() {
        let token = Token {
            secret: Arc::new(SecretString::from("very-secret")),
            generation: 3,
        };
        let shown = format!("{token:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains('3'), "{shown}");
    }
}
