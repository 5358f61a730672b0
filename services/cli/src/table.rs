//! The fixed-width tables `dead list` and `schedules list` print.

/// One line of a table: each cell padded to its column's width and two spaces, the
/// last cell (which has no width) as it is; no trailing space.
pub(crate) fn row(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (index, cell) in cells.iter().enumerate() {
        match widths.get(index) {
            Some(&width) => line.push_str(&format!("{cell:<width$}  ")),
            None => line.push_str(cell),
        }
    }
    line.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_padded_to_their_widths_and_the_last_is_left_as_it_is() {
        let cells = [
            "id".to_owned(),
            "kind".to_owned(),
            "a long queue name".to_owned(),
        ];

        assert_eq!(row(&cells, &[4, 6]), "id    kind    a long queue name");
        assert_eq!(row(&["x".to_owned(), String::new()], &[3]), "x");
    }
}
