//! An answer's body, read chunk by chunk under a size limit. The request's total
//! timeout (reqwest's `ClientBuilder::timeout`) also covers the reading, so a body that
//! never ends fails as a timeout; [`read`] adds the bound on its size.

/// Why a body was not read whole.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// The body is longer than the limit: its `Content-Length` said so, or it grew past
    /// it, and reading stopped there.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body broke off, or did not end within the request's timeout.
    #[error("the answer broke off: {0}")]
    Transport(#[source] reqwest::Error),
}

/// Most bytes reserved before any arrives, whatever `Content-Length` claims.
const MAX_RESERVED: usize = 64 * 1024;

/// The whole body of `response`, refused once it is longer than `limit` bytes.
pub(crate) async fn read(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length();
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let reserved = announced
        .map_or(0, |length| length as usize)
        .min(MAX_RESERVED);
    let mut body = Vec::with_capacity(reserved);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if chunk.len() > limit - body.len() {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
