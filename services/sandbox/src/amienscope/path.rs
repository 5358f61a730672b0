//! Reading the segments after `/get/updates/`: `<ts>`, then an optional
//! category id, then an optional `<offset>,<limit>` page.

use super::events::Selection;

/// The most events one page of `/get/updates` holds; a larger limit is
/// silently reduced to it.
pub const MAX_LIMIT: u64 = 50;

/// An `<offset>,<limit>` segment, limit already capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) offset: u64,
    pub(crate) limit: u64,
}

/// What a `/get/updates` path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UpdatesRequest {
    pub(crate) selection: Selection,
    /// `None` asks for the whole list.
    pub(crate) page: Option<Page>,
}

/// Why the segments cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PathError {
    #[error("timestamp_from must be a UNIX timestamp in seconds")]
    BadTimestamp,
    #[error("category_id must be a positive integer")]
    BadCategory,
    #[error("pagination must be written offset,limit with two integers")]
    BadPage,
    #[error("too many path segments")]
    TooManySegments,
}

/// Reads `rest`, the path after `/get/updates/`, still percent-encoded.
pub(crate) fn parse(rest: &str) -> Result<UpdatesRequest, PathError> {
    let mut segments = rest.split('/');
    let since = segments
        .next()
        .and_then(integer)
        .and_then(|since| i64::try_from(since).ok())
        .ok_or(PathError::BadTimestamp)?;
    let mut category = None;
    let mut page = None;
    let remaining: Vec<&str> = segments.collect();
    match remaining.as_slice() {
        [] => {}
        [last] if last.contains(',') => page = Some(parse_page(last)?),
        [category_id] => category = Some(parse_category(category_id)?),
        [category_id, last] => {
            category = Some(parse_category(category_id)?);
            page = Some(parse_page(last)?);
        }
        _ => return Err(PathError::TooManySegments),
    }
    Ok(UpdatesRequest {
        selection: Selection { since, category },
        page,
    })
}

/// Digits only: no sign, no spaces.
fn integer(segment: &str) -> Option<u64> {
    if segment.is_empty() || !segment.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

fn parse_category(segment: &str) -> Result<u32, PathError> {
    integer(segment)
        .and_then(|id| u32::try_from(id).ok())
        .filter(|id| *id > 0)
        .ok_or(PathError::BadCategory)
}

fn parse_page(segment: &str) -> Result<Page, PathError> {
    let (offset, limit) = segment.split_once(',').ok_or(PathError::BadPage)?;
    let offset = integer(offset).ok_or(PathError::BadPage)?;
    let limit = integer(limit).ok_or(PathError::BadPage)?;
    Ok(Page {
        offset,
        limit: limit.min(MAX_LIMIT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(since: i64, category: Option<u32>, page: Option<(u64, u64)>) -> UpdatesRequest {
        UpdatesRequest {
            selection: Selection { since, category },
            page: page.map(|(offset, limit)| Page { offset, limit }),
        }
    }

    #[test]
    fn the_four_documented_forms_are_read() {
        assert_eq!(parse("1444428000"), Ok(request(1_444_428_000, None, None)));
        assert_eq!(
            parse("1444428000/4"),
            Ok(request(1_444_428_000, Some(4), None))
        );
        assert_eq!(
            parse("1444428000/20,10"),
            Ok(request(1_444_428_000, None, Some((20, 10))))
        );
        assert_eq!(parse("0/4/0,50"), Ok(request(0, Some(4), Some((0, 50)))));
    }

    #[test]
    fn a_limit_above_fifty_is_reduced_to_fifty() {
        assert_eq!(parse("0/100,500"), Ok(request(0, None, Some((100, 50)))));
    }

    #[test]
    fn malformed_segments_are_refused() {
        let cases = [
            ("abc", PathError::BadTimestamp),
            ("-5", PathError::BadTimestamp),
            ("", PathError::BadTimestamp),
            ("0/x", PathError::BadCategory),
            ("0/0", PathError::BadCategory),
            ("0/", PathError::BadCategory),
            ("0/1,", PathError::BadPage),
            ("0/,5", PathError::BadPage),
            ("0/1,2,3", PathError::BadPage),
            ("0/4/5", PathError::BadPage),
            ("0/4/0,5/9", PathError::TooManySegments),
        ];
        for (rest, error) in cases {
            assert_eq!(parse(rest), Err(error), "{rest}");
        }
    }
}
