//! Keyset pagination of the `dossiers`, `deletedDossiers` and
//! `pendingDeletedDossiers` connections, as the server's cursor connection does it: opaque cursors holding the sort
//! timestamp and the id, `first`/`last` capped at 100, strict comparisons.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};

/// The largest page the server serves, and the page size when none is asked.
pub(crate) const MAX_PAGE_SIZE: i64 = 100;

/// What the server serves when a client asks for the page after the last one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndOfList {
    /// The current server: empty `nodes`, `endCursor: null`, `hasNextPage: false`.
    #[default]
    EmptyPage,
    /// What the documentation warns about: the last page's nodes again, with
    /// the same `endCursor` and `hasNextPage: false`.
    RepeatLastPage,
}

/// Where a row sits in the sort order: its timestamp, then its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct SortKey {
    pub(crate) at: DateTime<Utc>,
    pub(crate) id: i64,
}

/// The sort direction; `DESC` is the deprecated `order` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Ascending,
    Descending,
}

/// The pagination arguments of one connection field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
    pub(crate) after: Option<String>,
    pub(crate) before: Option<String>,
    pub(crate) direction: Direction,
}

/// A page of rows with the flags of `pageInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    pub(crate) rows: Vec<(SortKey, T)>,
    pub(crate) has_next_page: bool,
    pub(crate) has_previous_page: bool,
}

/// Arguments the server refuses, with the server's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PaginationError {
    #[error("Arguments \"first\" and \"last\" are exclusive")]
    FirstAndLast,
    #[error("Arguments \"before\" and \"after\" are exclusive")]
    BeforeAndAfter,
    #[error("Argument \"first\" must be a non-negative integer")]
    NegativeFirst,
    #[error("Argument \"last\" must be a non-negative integer")]
    NegativeLast,
    #[error("Argument \"last\" is not supported with order \"desc\"")]
    LastWithDescendingOrder,
    #[error("Invalid cursor \"{0}\"")]
    InvalidCursor(String),
}

/// The cursor of a row: URL-safe base64, without padding, of
/// `"<timestamp in UTC with nanoseconds>;<id>"`.
pub(crate) fn encode_cursor(key: SortKey) -> String {
    let timestamp = key.at.to_rfc3339_opts(SecondsFormat::Nanos, true);
    URL_SAFE_NO_PAD.encode(format!("{timestamp};{}", key.id))
}

/// Reads a cursor made by [`encode_cursor`], with or without padding.
pub(crate) fn decode_cursor(cursor: &str) -> Option<SortKey> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .or_else(|_| URL_SAFE.decode(cursor))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (timestamp, id) = text.split_once(';')?;
    Some(SortKey {
        at: DateTime::parse_from_rfc3339(timestamp)
            .ok()?
            .with_timezone(&Utc),
        id: id.parse().ok()?,
    })
}

/// Picks the page `request` asks for among `rows`, which must be sorted in
/// ascending key order.
pub(crate) fn paginate<T: Clone>(
    rows: &[(SortKey, T)],
    request: &PageRequest,
    end_of_list: EndOfList,
) -> Result<Page<T>, PaginationError> {
    let bounds = Bounds::check(request)?;
    let page = match request.direction {
        Direction::Ascending => ascending_page(rows, &bounds),
        Direction::Descending => descending_page(rows, &bounds),
    };
    let past_the_end = page.rows.is_empty() && request.direction == Direction::Ascending;
    match (
        end_of_list,
        bounds.after,
        past_the_end && bounds.before.is_none(),
    ) {
        (EndOfList::RepeatLastPage, Some(after), true) => {
            Ok(repeat_last_page(rows, after, &bounds))
        }
        _ => Ok(page),
    }
}

/// Validated arguments: at most one of first/last, one of before/after,
/// decoded cursors, and the row limit (page size plus one look-ahead row).
struct Bounds {
    limit: usize,
    inverted: bool,
    after: Option<SortKey>,
    before: Option<SortKey>,
}

impl Bounds {
    fn check(request: &PageRequest) -> Result<Self, PaginationError> {
        let last = request.last.map(|n| n.min(MAX_PAGE_SIZE));
        let first = request.first.map(|n| n.min(MAX_PAGE_SIZE)).or(match last {
            None => Some(MAX_PAGE_SIZE),
            Some(_) => None,
        });
        let after = present(&request.after);
        let before = present(&request.before);
        if request.first.is_some() && last.is_some() {
            return Err(PaginationError::FirstAndLast);
        }
        if after.is_some() && before.is_some() {
            return Err(PaginationError::BeforeAndAfter);
        }
        if first.is_some_and(|n| n < 0) {
            return Err(PaginationError::NegativeFirst);
        }
        if last.is_some_and(|n| n < 0) {
            return Err(PaginationError::NegativeLast);
        }
        if last.is_some() && request.direction == Direction::Descending {
            return Err(PaginationError::LastWithDescendingOrder);
        }
        let size = first.or(last).unwrap_or(MAX_PAGE_SIZE);
        Ok(Self {
            limit: usize::try_from(size).unwrap_or(0) + 1,
            inverted: last.is_some() || before.is_some(),
            after: after.map(decode).transpose()?,
            before: before.map(decode).transpose()?,
        })
    }

    fn page_size(&self) -> usize {
        self.limit - 1
    }
}

fn present(cursor: &Option<String>) -> Option<&str> {
    cursor.as_deref().filter(|cursor| !cursor.is_empty())
}

fn decode(cursor: &str) -> Result<SortKey, PaginationError> {
    decode_cursor(cursor).ok_or_else(|| PaginationError::InvalidCursor(cursor.to_owned()))
}

/// Up to `limit` rows strictly after `after` (or before `before`), walking
/// backwards from the end when `inverted`.
fn window<T: Clone>(
    rows: &[(SortKey, T)],
    after: Option<SortKey>,
    before: Option<SortKey>,
    limit: usize,
    inverted: bool,
) -> Vec<(SortKey, T)> {
    let keep = |row: &&(SortKey, T)| {
        after.is_none_or(|cursor| row.0 > cursor) && before.is_none_or(|cursor| row.0 < cursor)
    };
    if inverted {
        rows.iter()
            .rev()
            .filter(keep)
            .take(limit)
            .cloned()
            .collect()
    } else {
        rows.iter().filter(keep).take(limit).cloned().collect()
    }
}

fn ascending_page<T: Clone>(rows: &[(SortKey, T)], bounds: &Bounds) -> Page<T> {
    let mut found = window(
        rows,
        bounds.after,
        bounds.before,
        bounds.limit,
        bounds.inverted,
    );
    let full = found.len() == bounds.limit;
    let has_previous_page = bounds.after.is_some() || (full && bounds.inverted);
    let has_next_page = bounds.before.is_some() || (full && !bounds.inverted);
    found.truncate(bounds.page_size());
    if bounds.inverted {
        found.reverse();
    }
    Page {
        rows: found,
        has_next_page,
        has_previous_page,
    }
}

/// The deprecated `order: DESC`: the server walks the rows backwards and swaps
/// the roles of the two cursors.
fn descending_page<T: Clone>(rows: &[(SortKey, T)], bounds: &Bounds) -> Page<T> {
    let inverted = if bounds.before.is_none() {
        !bounds.inverted
    } else {
        bounds.inverted
    };
    let mut found = window(rows, bounds.before, bounds.after, bounds.limit, inverted);
    let full = found.len() == bounds.limit;
    let has_next_page = bounds.before.is_some() || (full && inverted);
    let has_previous_page = bounds.after.is_some() || (full && !inverted);
    found.truncate(bounds.page_size());
    Page {
        rows: found,
        has_next_page,
        has_previous_page,
    }
}

/// The documented end-of-list behaviour: the rows up to and including the
/// cursor, one page of them, served again.
fn repeat_last_page<T: Clone>(rows: &[(SortKey, T)], after: SortKey, bounds: &Bounds) -> Page<T> {
    let mut found: Vec<_> = rows
        .iter()
        .rev()
        .filter(|row| row.0 <= after)
        .take(bounds.page_size())
        .cloned()
        .collect();
    found.reverse();
    Page {
        rows: found,
        has_next_page: false,
        has_previous_page: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(second: i64, id: i64) -> SortKey {
        SortKey {
            at: Utc
                .timestamp_opt(1_750_000_000 + second, 123_456_000)
                .unwrap(),
            id,
        }
    }

    /// Six rows d1..d6; d3 and d4 share their timestamp.
    fn rows() -> Vec<(SortKey, i64)> {
        [(1, 1), (2, 2), (3, 3), (3, 4), (5, 5), (6, 6)]
            .into_iter()
            .map(|(second, id)| (key(second, id), id))
            .collect()
    }

    fn cursor_of(id: i64) -> Option<String> {
        rows()
            .into_iter()
            .find(|row| row.1 == id)
            .map(|row| encode_cursor(row.0))
    }

    fn request() -> PageRequest {
        PageRequest {
            first: None,
            last: None,
            after: None,
            before: None,
            direction: Direction::Ascending,
        }
    }

    fn ids(page: &Page<i64>) -> Vec<i64> {
        page.rows.iter().map(|row| row.1).collect()
    }

    fn run(request: PageRequest) -> Page<i64> {
        paginate(&rows(), &request, EndOfList::EmptyPage).expect("valid request")
    }

    #[test]
    fn cursors_round_trip_and_hold_the_timestamp_with_nanoseconds() {
        let cursor = encode_cursor(key(3, 4));
        assert_eq!(decode_cursor(&cursor), Some(key(3, 4)));
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&cursor).unwrap()).unwrap();
        assert_eq!(text, "2025-06-15T15:06:43.123456000Z;4");
    }

    #[test]
    fn the_pages_follow_the_server_examples() {
        let cases: [(PageRequest, Vec<i64>, bool, bool); 6] = [
            (
                PageRequest {
                    first: Some(2),
                    ..request()
                },
                vec![1, 2],
                true,
                false,
            ),
            (
                PageRequest {
                    first: Some(2),
                    after: cursor_of(2),
                    ..request()
                },
                vec![3, 4],
                true,
                true,
            ),
            (
                PageRequest {
                    first: Some(2),
                    before: cursor_of(3),
                    ..request()
                },
                vec![1, 2],
                true,
                false,
            ),
            (
                PageRequest {
                    last: Some(2),
                    ..request()
                },
                vec![5, 6],
                false,
                true,
            ),
            (
                PageRequest {
                    last: Some(2),
                    before: cursor_of(5),
                    ..request()
                },
                vec![3, 4],
                true,
                true,
            ),
            (
                PageRequest {
                    last: Some(2),
                    after: cursor_of(4),
                    ..request()
                },
                vec![5, 6],
                false,
                true,
            ),
        ];
        for (request, expected, has_next, has_previous) in cases {
            let page = run(request.clone());
            assert_eq!(ids(&page), expected, "{request:?}");
            assert_eq!(page.has_next_page, has_next, "{request:?}");
            assert_eq!(page.has_previous_page, has_previous, "{request:?}");
        }
    }

    #[test]
    fn ties_on_the_timestamp_are_broken_by_id() {
        let page = run(PageRequest {
            first: Some(1),
            after: cursor_of(3),
            ..request()
        });
        assert_eq!(ids(&page), vec![4]);
    }

    #[test]
    fn the_last_page_has_no_next_page_and_the_one_after_it_is_empty() {
        let last = run(PageRequest {
            first: Some(3),
            after: cursor_of(3),
            ..request()
        });
        assert_eq!(ids(&last), vec![4, 5, 6]);
        assert!(!last.has_next_page);
        let after = run(PageRequest {
            first: Some(3),
            after: cursor_of(6),
            ..request()
        });
        assert!(after.rows.is_empty());
        assert!(!after.has_next_page);
        assert!(after.has_previous_page);
    }

    #[test]
    fn repeat_last_page_serves_the_rows_up_to_the_cursor_again() {
        let request = PageRequest {
            first: Some(3),
            after: cursor_of(6),
            ..request()
        };
        let page = paginate(&rows(), &request, EndOfList::RepeatLastPage).unwrap();
        assert_eq!(ids(&page), vec![4, 5, 6]);
        assert!(!page.has_next_page);
        assert_eq!(
            page.rows.last().map(|row| encode_cursor(row.0)),
            cursor_of(6)
        );
    }

    #[test]
    fn sizes_are_capped_at_100_and_default_to_100() {
        let many: Vec<(SortKey, i64)> = (0..250).map(|n| (key(n, n), n)).collect();
        let capped = paginate(
            &many,
            &PageRequest {
                first: Some(500),
                ..request()
            },
            EndOfList::EmptyPage,
        );
        assert_eq!(capped.unwrap().rows.len(), 100);
        let default = paginate(&many, &request(), EndOfList::EmptyPage).unwrap();
        assert_eq!(default.rows.len(), 100);
        assert!(default.has_next_page);
        let zero = paginate(
            &many,
            &PageRequest {
                first: Some(0),
                ..request()
            },
            EndOfList::EmptyPage,
        );
        assert!(zero.unwrap().rows.is_empty());
    }

    #[test]
    fn exclusive_and_invalid_arguments_are_refused() {
        let cases = [
            (
                PageRequest {
                    first: Some(1),
                    last: Some(1),
                    ..request()
                },
                PaginationError::FirstAndLast,
            ),
            (
                PageRequest {
                    after: cursor_of(1),
                    before: cursor_of(2),
                    ..request()
                },
                PaginationError::BeforeAndAfter,
            ),
            (
                PageRequest {
                    first: Some(-1),
                    ..request()
                },
                PaginationError::NegativeFirst,
            ),
            (
                PageRequest {
                    last: Some(-1),
                    ..request()
                },
                PaginationError::NegativeLast,
            ),
            (
                PageRequest {
                    last: Some(1),
                    direction: Direction::Descending,
                    ..request()
                },
                PaginationError::LastWithDescendingOrder,
            ),
            (
                PageRequest {
                    after: Some("nope".into()),
                    ..request()
                },
                PaginationError::InvalidCursor("nope".into()),
            ),
        ];
        for (request, error) in cases {
            assert_eq!(
                paginate(&rows(), &request, EndOfList::EmptyPage),
                Err(error)
            );
        }
    }

    #[test]
    fn an_empty_cursor_counts_as_no_cursor() {
        let page = run(PageRequest {
            first: Some(2),
            after: Some(String::new()),
            ..request()
        });
        assert_eq!(ids(&page), vec![1, 2]);
        assert!(!page.has_previous_page);
    }

    #[test]
    fn descending_order_walks_backwards_from_the_cursor() {
        let descending = |after| PageRequest {
            first: Some(2),
            after,
            direction: Direction::Descending,
            ..request()
        };
        let first = run(descending(None));
        assert_eq!(ids(&first), vec![6, 5]);
        assert!(first.has_next_page);
        let second = run(descending(cursor_of(5)));
        assert_eq!(ids(&second), vec![4, 3]);
        assert!(second.has_previous_page);
    }
}
