//! The access token shared by every call of a client (and its clones): one token
//! request at a time, renewed once its time of use has passed and at most once per
//! refused token, each inside a `token.refresh` span that records its `outcome`
//! (`obtained` or `failed`). Time is tokio's, so tests run on a paused clock.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::Instrument as _;

/// A token as the upstream issued it, and how long the client may use it: each API
/// says how long its tokens live, each client keeps its own margin before the end.
pub struct Grant {
    /// The token text.
    pub secret: SecretString,
    /// How long after the request was sent the token may be handed to calls.
    pub use_for: Duration,
}

/// A token as handed to one call; its generation tells tokens apart without comparing
/// their text.
#[derive(Clone)]
pub struct Token {
    secret: Arc<SecretString>,
    generation: u64,
}

impl Token {
    /// The token text, for the request only (a header or a body field).
    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }

    /// Which token of the cache this is: 1 for the first issued, then 2, …
    pub fn generation(&self) -> u64 {
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
pub struct TokenCache {
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
    /// From this instant on, a call asks for a new token.
    renew_at: Instant,
}

impl TokenCache {
    /// The cached token while its time of use lasts, else a new one from `request`.
    /// Concurrent callers wait for a single request.
    pub async fn current<E, F, Fut>(&self, request: F) -> Result<Token, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Grant, E>>,
    {
        let mut state = self.state.lock().await;
        if let Some(token) = usable(&state) {
            return Ok(token);
        }
        issue(&mut state, request).await
    }

    /// A token to retry with after the upstream refused `refused`: the one another
    /// call already fetched since, or else a new one from `request`.
    pub async fn replace<E, F, Fut>(&self, refused: &Token, request: F) -> Result<Token, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Grant, E>>,
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
    (Instant::now() < cached.renew_at).then(|| cached.token.clone())
}

/// Forgets the current token, then asks for one; a failed request leaves none.
async fn issue<E, F, Fut>(state: &mut State, request: F) -> Result<Token, E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Grant, E>>,
{
    state.current = None;
    let requested_at = Instant::now();
    let span = telemetry::http::token_refresh_span();
    let grant = request().instrument(span.clone()).await;
    span.record("outcome", if grant.is_ok() { "obtained" } else { "failed" });
    let grant = grant?;
    state.generation += 1;
    let token = Token {
        secret: Arc::new(grant.secret),
        generation: state.generation,
    };
    tracing::debug!(
        generation = token.generation,
        use_for_secs = grant.use_for.as_secs(),
        "access token issued"
    );
    state.current = Some(Cached {
        token: token.clone(),
        renew_at: requested_at
            .checked_add(grant.use_for)
            .unwrap_or(requested_at),
    });
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const HOUR: Duration = Duration::from_secs(3600);

    /// A token request that takes 10 ms, counts its calls and hands out `token-<n>`,
    /// usable for `use_for`.
    async fn grant(calls: &AtomicUsize, use_for: Duration) -> Result<Grant, &'static str> {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(Grant {
            secret: SecretString::from(format!("token-{n}")),
            use_for,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_is_reused_until_its_time_of_use_ends() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let first = cache
            .current(|| grant(&calls, HOUR))
            .await
            .expect("a token");
        tokio::time::advance(HOUR - Duration::from_secs(1)).await;
        let second = cache
            .current(|| grant(&calls, HOUR))
            .await
            .expect("a token");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(first.expose(), "token-1");
        assert_eq!(second.generation(), first.generation());

        tokio::time::advance(Duration::from_secs(1)).await;
        let renewed = cache
            .current(|| grant(&calls, HOUR))
            .await
            .expect("a token");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(renewed.expose(), "token-2");
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_of_use_counts_from_when_the_request_was_sent() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        // The request itself takes 10 ms: a token usable for 10 ms is spent on arrival.
        let use_for = Duration::from_millis(10);
        let first = cache
            .current(|| grant(&calls, use_for))
            .await
            .expect("a token");
        let second = cache
            .current(|| grant(&calls, use_for))
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
                cache.current(|| grant(&calls, HOUR)).await
            }));
        }
        for task in tasks {
            let token = task.await.expect("the task ends").expect("a token");
            assert_eq!(token.expose(), "token-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_is_replaced_once_however_many_calls_saw_it() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let refused = cache
            .current(|| grant(&calls, HOUR))
            .await
            .expect("a token");
        let first = cache
            .replace(&refused, || grant(&calls, HOUR))
            .await
            .expect("a token");
        let second = cache
            .replace(&refused, || grant(&calls, HOUR))
            .await
            .expect("a token");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(first.expose(), "token-2");
        assert_eq!(second.generation(), first.generation());
        let third = cache
            .replace(&second, || grant(&calls, HOUR))
            .await
            .expect("a token");
        assert_eq!(third.expose(), "token-3");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_request_leaves_no_token_behind() {
        let cache = TokenCache::default();
        let calls = AtomicUsize::new(0);
        let refused = cache
            .current(|| grant(&calls, HOUR))
            .await
            .expect("a token");
        let error = cache
            .replace(&refused, || async { Err("refused") })
            .await
            .expect_err("the request failed");
        assert_eq!(error, "refused");
        let next = cache
            .current(|| grant(&calls, HOUR))
            .await
            .expect("a token");
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
