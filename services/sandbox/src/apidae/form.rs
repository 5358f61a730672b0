//! The two form encodings the Apidae endpoints read: `multipart/form-data` (the write
//! calls) and `application/x-www-form-urlencoded` (the token request's query or body).

/// The boundary announced by a `multipart/form-data` content type, quoted or not.
pub(crate) fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    let media_type = parts.next()?.trim();
    if !media_type.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|quoted| quoted.strip_suffix('"'))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// The content of the first part named `name` of a multipart body, or `None` when there
/// is no such part or the body is not multipart with this boundary.
pub(crate) fn multipart_field<'a>(body: &'a [u8], boundary: &str, name: &str) -> Option<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let headers_end = find(rest, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
        let content_start = headers_end + 4;
        let content_len = find(&rest[content_start..], next_delimiter.as_bytes())?;
        let content = &rest[content_start..content_start + content_len];
        if part_name(headers).as_deref() == Some(name) {
            return Some(content);
        }
        rest = &rest[content_start + content_len + next_delimiter.len()..];
    }
}

/// The `name` parameter of a part's `Content-Disposition: form-data` header.
fn part_name(headers: &str) -> Option<String> {
    headers.split("\r\n").find_map(|line| {
        let (header, value) = line.split_once(':')?;
        if !header.trim().eq_ignore_ascii_case("content-disposition") {
            return None;
        }
        let mut parameters = value.split(';');
        if !parameters.next()?.trim().eq_ignore_ascii_case("form-data") {
            return None;
        }
        parameters.find_map(|parameter| {
            let (key, value) = parameter.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("name")
                .then(|| value.trim().trim_matches('"').to_owned())
        })
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The decoded value of the first `name=value` pair named `name` in an urlencoded
/// string (`+` is a space, `%XX` a byte).
pub(crate) fn urlencoded_value(input: &str, name: &str) -> Option<String> {
    input.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escaped = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (_, Some(value)) => {
                decoded.push(value);
                index += 3;
            }
            (b'+', None) => {
                decoded.push(b' ');
                index += 1;
            }
            (other, None) => {
                decoded.push(other);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDARY: &str = "X-BOUNDARY";

    fn body(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut body = String::new();
        for (header, content) in parts {
            body.push_str(&format!("--{BOUNDARY}\r\n{header}\r\n\r\n{content}\r\n"));
        }
        body.push_str(&format!("--{BOUNDARY}--\r\n"));
        body.into_bytes()
    }

    #[test]
    fn boundaries_are_read_quoted_or_not() {
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            multipart_boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(multipart_boundary("application/json"), None);
        assert_eq!(multipart_boundary("multipart/form-data"), None);
        assert_eq!(multipart_boundary("multipart/form-data; boundary="), None);
    }

    #[test]
    fn the_named_part_is_found_among_others() {
        let body = body(&[
            ("Content-Disposition: form-data; name=\"other\"", "1"),
            (
                "Content-Disposition: form-data; name=\"donneesPrivees\"\r\nContent-Type: application/json",
                "{\"a\":\"line1\r\nline2\"}",
            ),
        ]);
        assert_eq!(
            multipart_field(&body, BOUNDARY, "donneesPrivees"),
            Some(&b"{\"a\":\"line1\r\nline2\"}"[..])
        );
        assert_eq!(multipart_field(&body, BOUNDARY, "other"), Some(&b"1"[..]));
        assert_eq!(multipart_field(&body, BOUNDARY, "missing"), None);
    }

    #[test]
    fn a_preamble_a_file_part_and_an_empty_value_are_handled() {
        let mut with_preamble = b"ignored preamble\r\n".to_vec();
        with_preamble.extend(body(&[(
            "content-disposition: form-data; name=donneesPrivees; filename=\"x.json\"",
            "",
        )]));
        assert_eq!(
            multipart_field(&with_preamble, BOUNDARY, "donneesPrivees"),
            Some(&b""[..])
        );
    }

    #[test]
    fn broken_bodies_have_no_field() {
        assert_eq!(multipart_field(b"", BOUNDARY, "x"), None);
        assert_eq!(
            multipart_field(b"donneesPrivees={}", BOUNDARY, "donneesPrivees"),
            None
        );
        let cut =
            b"--X-BOUNDARY\r\nContent-Disposition: form-data; name=\"donneesPrivees\"\r\n\r\n{}";
        assert_eq!(multipart_field(cut, BOUNDARY, "donneesPrivees"), None);
        let other = body(&[(
            "Content-Disposition: form-data; name=\"donneesPrivees\"",
            "{}",
        )]);
        assert_eq!(multipart_field(&other, "OTHER", "donneesPrivees"), None);
    }

    #[test]
    fn urlencoded_values_are_decoded() {
        assert_eq!(
            urlencoded_value("a=1&grant_type=client_credentials", "grant_type").as_deref(),
            Some("client_credentials")
        );
        assert_eq!(
            urlencoded_value("grant%5Ftype=client%5Fcredentials+x", "grant_type").as_deref(),
            Some("client_credentials x")
        );
        assert_eq!(urlencoded_value("flag&x=%zz", "x").as_deref(), Some("%zz"));
        assert_eq!(urlencoded_value("", "grant_type"), None);
    }
}
