//! The body of one hop: its number in the chain, in decimal.

/// The body carrying hop `number`.
pub(crate) fn encode(number: u32) -> Vec<u8> {
    number.to_string().into_bytes()
}

/// The hop number a body carries; none for a body that is not one.
pub(crate) fn decode(body: &[u8]) -> Option<u32> {
    std::str::from_utf8(body).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hop_reads_back_its_number() {
        assert_eq!(decode(&encode(1000)), Some(1000));
        assert_eq!(decode(b"not a hop"), None);
    }
}
