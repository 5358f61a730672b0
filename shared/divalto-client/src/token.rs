//! The access token shared by every call of a client: one login at a time, refreshed
//! before it expires and at most once per rejected token.

use crate::error::DivaltoError;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A token is renewed once this share of its lifetime (in tenths) has passed.
const REFRESH_AT_TENTHS: u32 = 9;

/// A token as handed to one call; its generation tells tokens apart without comparing
/// their text.
#[derive(Clone)]
pub(crate) struct Token {
    secret: Arc<SecretString>,
    generation: u64,
}

impl Token {
    /// The token text, for the request body only.
    pub(crate) fn expose(&self) -> &str {
        self.secret.expose_secret()
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
pub(crate) struct TokenCache {
    state: Mutex<State>,
    /// How long a token is used before a call renews it.
    refresh_after: Duration,
}

#[derive(Default)]
struct State {
    current: Option<Issued>,
    /// The generation of the last token issued; 0 before the first login.
    generation: u64,
}

struct Issued {
    token: Token,
    /// When the login that made it was sent: the server's clock started no earlier.
    issued_at: Instant,
}

impl TokenCache {
    /// A cache for tokens the server keeps valid for `lifetime`.
    pub(crate) fn new(lifetime: Duration) -> Self {
        Self {
            state: Mutex::new(State::default()),
            refresh_after: lifetime.saturating_mul(REFRESH_AT_TENTHS) / 10,
        }
    }

    /// The cached token while it is young enough, else a new one from `authenticate`.
    /// Concurrent callers wait for a single login.
    pub(crate) async fn current<F, Fut>(&self, authenticate: F) -> Result<Token, DivaltoError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, DivaltoError>>,
    {
        let mut state = self.state.lock().await;
        if let Some(token) = self.usable(&state) {
            return Ok(token);
        }
        self.issue(&mut state, authenticate).await
    }

    /// A token to retry with after the server rejected `rejected`: the one another call
    /// already fetched since, or else a new one from `authenticate`.
    pub(crate) async fn replace<F, Fut>(
        &self,
        rejected: &Token,
        authenticate: F,
    ) -> Result<Token, DivaltoError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, DivaltoError>>,
    {
        let mut state = self.state.lock().await;
        if let Some(token) = self.usable(&state)
            && token.generation != rejected.generation
        {
            return Ok(token);
        }
        self.issue(&mut state, authenticate).await
    }

    fn usable(&self, state: &State) -> Option<Token> {
        let issued = state.current.as_ref()?;
        (issued.issued_at.elapsed() < self.refresh_after).then(|| issued.token.clone())
    }

    async fn issue<F, Fut>(&self, state: &mut State, authenticate: F) -> Result<Token, DivaltoError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, DivaltoError>>,
    {
        state.current = None;
        let issued_at = Instant::now();
        let secret = authenticate().await?;
        state.generation += 1;
        let token = Token {
            secret: Arc::new(secret),
            generation: state.generation,
        };
        tracing::debug!(generation = token.generation, "divalto token issued");
        state.current = Some(Issued {
            token: token.clone(),
            issued_at,
        });
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PermanentReason;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const HOUR: Duration = Duration::from_secs(3600);

    /// A login that counts its calls and hands out `token-<n>`.
    async fn login(calls: &AtomicUsize) -> Result<SecretString, DivaltoError> {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(SecretString::from(format!("token-{n}")))
    }

    #[tokio::test]
    async fn a_token_is_reused_while_young() {
        let cache = TokenCache::new(HOUR);
        let calls = AtomicUsize::new(0);
        let first = cache.current(|| login(&calls)).await.expect("a token");
        let second = cache.current(|| login(&calls)).await.expect("a token");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(first.expose(), "token-1");
        assert_eq!(second.generation, first.generation);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_share_one_login() {
        let cache = Arc::new(TokenCache::new(HOUR));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let cache = cache.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                cache.current(|| login(&calls)).await
            }));
        }
        for task in tasks {
            let token = task.await.expect("the task ends").expect("a token");
            assert_eq!(token.expose(), "token-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_old_token_is_renewed_before_its_lifetime_ends() {
        let cache = TokenCache::new(Duration::from_millis(50));
        let calls = AtomicUsize::new(0);
        cache.current(|| login(&calls)).await.expect("a token");
        tokio::time::sleep(Duration::from_millis(46)).await;
        let renewed = cache.current(|| login(&calls)).await.expect("a token");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(renewed.expose(), "token-2");
    }

    #[tokio::test]
    async fn a_rejected_token_is_replaced_once_however_many_calls_saw_it() {
        let cache = TokenCache::new(HOUR);
        let calls = AtomicUsize::new(0);
        let rejected = cache.current(|| login(&calls)).await.expect("a token");
        let first = cache
            .replace(&rejected, || login(&calls))
            .await
            .expect("a token");
        let second = cache
            .replace(&rejected, || login(&calls))
            .await
            .expect("a token");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(first.expose(), "token-2");
        assert_eq!(second.generation, first.generation);
        let third = cache
            .replace(&second, || login(&calls))
            .await
            .expect("a token");
        assert_eq!(third.expose(), "token-3");
    }

    #[tokio::test]
    async fn a_failed_login_leaves_no_token_behind() {
        let cache = TokenCache::new(HOUR);
        let calls = AtomicUsize::new(0);
        let rejected = cache.current(|| login(&calls)).await.expect("a token");
        let refused = cache
            .replace(&rejected, || async {
                Err(DivaltoError::permanent(
                    PermanentReason::AuthenticationRefused,
                    Some(1),
                    "refused",
                ))
            })
            .await;
        assert!(refused.is_err());
        let next = cache.current(|| login(&calls)).await.expect("a token");
        assert_eq!(next.expose(), "token-2");
    }

    #[test]
    fn debug_shows_the_generation_only() {
        let token = Token {
            secret: Arc::new(SecretString::from("s3cr3t-token")),
            generation: 4,
        };
        let shown = format!("{token:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains('4'), "{shown}");
    }
}
