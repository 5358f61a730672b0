//! The seeded Divalto tables. Every row is generated from its id alone, so the
//! same data comes back on every run and an inserted row looks like the others.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::rng::SplitMix64;

const TABLE_SEED: u64 = 0xD1_7A17;
const SEEDED_ARTICLES: usize = 10_000;
const DOSSIER: &str = "998";

const ARTICLE_COLUMNS: &[&str] = &[
    "ART_ID", "DOS", "REF", "DES", "EAN", "PRIXUN", "DATCRE", "USERCR", "USERCRDH", "USERMODH",
];
const MODE_REGLEMENT_COLUMNS: &[&str] = &["T006_ID", "DOS", "REGL", "LIB", "USERCR", "USERCRDH"];

const PAYMENT_MODES: &[(&str, &str)] = &[
    ("B30", "Billet à 30 jours"),
    ("B30F", "Billet à 30 jours fin de mois"),
    ("C", "Comptant"),
    ("N10", "Net à 10 jours"),
    ("N30", "Net à 30 jours"),
    ("P30", "Prélèvement à 30 jours"),
    ("P30F", "Prélèvement à 30 jours fin de mois"),
    ("T30", "Traite à 30 jours"),
    ("T30F", "Traite à 30 jours fin de mois"),
    ("T60", "Traite à 60 jours"),
    ("T60F", "Traite à 60 jours fin de mois"),
    ("TMUL", "Traites multiples"),
    ("V30", "Virement à 30 jours"),
    ("V30F", "Virement à 30 jours fin de mois"),
    ("E", "Espèces"),
    ("TMEN", "Traite mensuelle"),
    ("VIR", "Virement"),
    ("VII", "Virement international"),
    ("SEPA", "Prélèvement SEPA"),
    ("CB", "Carte bancaire"),
    ("CHQ", "Chèque"),
    ("LCR", "Lettre de change relevé"),
    ("LCR30", "LCR à 30 jours"),
    ("LCR60", "LCR à 60 jours"),
    ("V45FM", "Virement à 45 jours fin de mois"),
    ("V60", "Virement à 60 jours"),
    ("P45", "Prélèvement à 45 jours"),
    ("AVO", "Avoir"),
    ("CPT", "Compensation"),
];

const REF_FAMILIES: &[&str] = &["FCR", "CPAQ", "FPN", "FPT", "X", "VIS", "OUT"];
const NOUNS: &[&str] = &[
    "Vis",
    "Écrou",
    "Rondelle",
    "Perceuse",
    "Tournevis",
    "Clé",
    "Marteau",
    "Scie",
    "Cheville",
    "Pince",
    "Niveau",
    "Mètre",
    "Gant",
    "Lime",
    "Foret",
];
const QUALIFIERS: &[&str] = &[
    "inox",
    "acier",
    "laiton",
    "zingué",
    "pro",
    "standard",
    "renforcé",
    "isolé",
    "compact",
];
const USERS: &[&str] = &["DEMO", "ADMIN", "COMPTA", "LOGI"];

/// A table served through one authorised (dhoq, recordsql) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DivaltoTable {
    /// Articles: `gtrsart.dhoq` / `Article`, FROM table `ART`, id `ART_ID`,
    /// 10,000 seeded rows whose ids start at 1 and leave some gaps.
    Article,
    /// Payment modes: `gtrstab.dhoq` / `MODEREGLEMENT`, FROM table `T006`,
    /// id `T006_ID`, 29 seeded rows numbered 1 to 29.
    ModeReglement,
}

impl DivaltoTable {
    /// Every table the sandbox serves.
    pub const ALL: [DivaltoTable; 2] = [DivaltoTable::Article, DivaltoTable::ModeReglement];

    /// The RecordSql dictionary file.
    pub const fn dhoq(self) -> &'static str {
        match self {
            Self::Article => "gtrsart.dhoq",
            Self::ModeReglement => "gtrstab.dhoq",
        }
    }

    /// The RecordSql name inside the dictionary.
    pub const fn recordsql(self) -> &'static str {
        match self {
            Self::Article => "Article",
            Self::ModeReglement => "MODEREGLEMENT",
        }
    }

    /// The FROM table, as `tablename` reports it.
    pub const fn tablename(self) -> &'static str {
        match self {
            Self::Article => "ART",
            Self::ModeReglement => "T006",
        }
    }

    /// The numeric id field rows are ordered by.
    pub const fn id_field(self) -> &'static str {
        self.columns()[0]
    }

    /// Every field of a row, in the order `fields: "*"` lists them.
    pub const fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Article => ARTICLE_COLUMNS,
            Self::ModeReglement => MODE_REGLEMENT_COLUMNS,
        }
    }

    /// The table served for this pair; names are compared without regard to
    /// case or surrounding spaces, as on a Windows server.
    pub(crate) fn find(dhoq: &str, recordsql: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|table| {
            table.dhoq().eq_ignore_ascii_case(dhoq.trim())
                && table.recordsql().eq_ignore_ascii_case(recordsql.trim())
        })
    }

    /// The row this table holds for `id`, generated from the id alone.
    fn row(self, id: u64) -> Vec<String> {
        let mut rng = SplitMix64::for_stream(TABLE_SEED ^ self as u64, id);
        match self {
            Self::Article => article_row(id, &mut rng),
            Self::ModeReglement => mode_reglement_row(id, &mut rng),
        }
    }
}

/// One row as the API sends it: field name to string value.
pub type DivaltoRecord = BTreeMap<String, String>;

/// The live rows of every table, ordered by id.
#[derive(Debug)]
pub(crate) struct Tables {
    rows: BTreeMap<DivaltoTable, BTreeMap<u64, Vec<String>>>,
}

impl Tables {
    /// The seeded tables.
    pub(crate) fn seeded() -> Self {
        let mut gaps = SplitMix64::new(TABLE_SEED);
        let mut id = 0;
        let articles = (0..SEEDED_ARTICLES)
            .map(|_| {
                id += if gaps.below(10) == 0 { 2 } else { 1 };
                (id, DivaltoTable::Article.row(id))
            })
            .collect();
        let modes = (1..=PAYMENT_MODES.len() as u64)
            .map(|id| (id, DivaltoTable::ModeReglement.row(id)))
            .collect();
        Self {
            rows: BTreeMap::from([
                (DivaltoTable::Article, articles),
                (DivaltoTable::ModeReglement, modes),
            ]),
        }
    }

    fn table(&self, table: DivaltoTable) -> impl Iterator<Item = (&u64, &Vec<String>)> {
        self.rows.get(&table).into_iter().flatten()
    }

    /// Adds the generated row for `id`; false if the id is already there.
    pub(crate) fn insert(&mut self, table: DivaltoTable, id: u64) -> bool {
        let rows = self.rows.entry(table).or_default();
        if rows.contains_key(&id) {
            return false;
        }
        rows.insert(id, table.row(id));
        true
    }

    /// Removes the row with this id; false if there was none.
    pub(crate) fn delete(&mut self, table: DivaltoTable, id: u64) -> bool {
        self.rows
            .get_mut(&table)
            .is_some_and(|rows| rows.remove(&id).is_some())
    }

    /// The ids of the rows, in serving order.
    pub(crate) fn ids(&self, table: DivaltoTable) -> Vec<u64> {
        self.table(table).map(|(id, _)| *id).collect()
    }

    /// Up to `count` rows from position `offset`, as records of the given
    /// column positions.
    pub(crate) fn page(
        &self,
        table: DivaltoTable,
        offset: u64,
        count: u64,
        columns: &[usize],
    ) -> Vec<DivaltoRecord> {
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(count).unwrap_or(usize::MAX);
        self.table(table)
            .skip(skip)
            .take(take)
            .map(|(_, row)| {
                columns
                    .iter()
                    .filter_map(|&index| {
                        let name = table.columns().get(index)?;
                        Some(((*name).to_owned(), row.get(index)?.clone()))
                    })
                    .collect()
            })
            .collect()
    }
}

fn pick<'a>(rng: &mut SplitMix64, choices: &[&'a str]) -> &'a str {
    choices[rng.below(choices.len() as u64) as usize]
}

/// A creation instant between 2019 and 2024.
fn created_at(rng: &mut SplitMix64) -> DateTime<Utc> {
    let start = DateTime::from_timestamp(1_546_300_800, 0).unwrap_or_default();
    start + Duration::seconds(rng.below(5 * 365 * 86_400) as i64)
}

fn timestamp(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%d%H%M%S").to_string()
}

fn ean13(body: u64) -> String {
    let digits = format!("{body:012}");
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(position, digit)| {
            let value = u32::from(digit - b'0');
            if position % 2 == 0 { value } else { value * 3 }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

fn article_row(id: u64, rng: &mut SplitMix64) -> Vec<String> {
    let created = created_at(rng);
    let modified = created + Duration::seconds(rng.below(400 * 86_400) as i64);
    let cents = 50 + rng.below(50_000);
    vec![
        id.to_string(),
        DOSSIER.to_owned(),
        format!("{}{id:05}", pick(rng, REF_FAMILIES)),
        format!(
            "{} {} {} mm",
            pick(rng, NOUNS),
            pick(rng, QUALIFIERS),
            2 + rng.below(98)
        ),
        ean13(321_033_000_000 + rng.below(1_000_000)),
        format!("{}.{:02}", cents / 100, cents % 100),
        created.format("%Y%m%d").to_string(),
        pick(rng, USERS).to_owned(),
        timestamp(created),
        timestamp(modified),
    ]
}

fn mode_reglement_row(id: u64, rng: &mut SplitMix64) -> Vec<String> {
    let (code, label) = usize::try_from(id)
        .ok()
        .and_then(|id| PAYMENT_MODES.get(id.checked_sub(1)?))
        .map_or_else(
            || (format!("R{id}"), format!("Mode de règlement {id}")),
            |(code, label)| ((*code).to_owned(), (*label).to_owned()),
        );
    vec![
        id.to_string(),
        DOSSIER.to_owned(),
        code,
        label,
        pick(rng, USERS).to_owned(),
        timestamp(created_at(rng)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_holds_ten_thousand_articles_and_twenty_nine_payment_modes() {
        let tables = Tables::seeded();
        let ids = tables.ids(DivaltoTable::Article);
        assert_eq!(ids.len(), 10_000);
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(
            ids.last().copied().unwrap() > 10_000,
            "some ids are skipped"
        );
        assert_eq!(tables.ids(DivaltoTable::ModeReglement).len(), 29);
    }

    #[test]
    fn rows_depend_only_on_their_id() {
        assert_eq!(DivaltoTable::Article.row(42), DivaltoTable::Article.row(42));
        assert_ne!(DivaltoTable::Article.row(42), DivaltoTable::Article.row(43));
    }

    #[test]
    fn values_use_the_documented_formats() {
        let row = DivaltoTable::Article.row(7);
        let price = &row[5];
        let (units, cents) = price.split_once('.').unwrap();
        assert!(units.parse::<u64>().is_ok() && cents.len() == 2, "{price}");
        assert_eq!(row[6].len(), 8);
        assert_eq!(row[8].len(), 14);
        assert!(row[8].starts_with(&row[6]));
        assert_eq!(row[4].len(), 13);
    }

    #[test]
    fn the_ean_check_digit_is_computed() {
        assert_eq!(ean13(400_638_133_393), "4006381333931");
    }

    #[test]
    fn pairs_are_found_whatever_the_case() {
        assert_eq!(
            DivaltoTable::find(" GTRSART.dhoq", "ARTICLE"),
            Some(DivaltoTable::Article)
        );
        assert_eq!(DivaltoTable::find("gtrsart.dhoq", "CATFOU"), None);
    }

    #[test]
    fn pages_select_columns_and_stop_at_the_end() {
        let tables = Tables::seeded();
        let page = tables.page(DivaltoTable::ModeReglement, 25, 10, &[0, 2]);
        assert_eq!(page.len(), 4);
        assert_eq!(page[0].keys().collect::<Vec<_>>(), ["REGL", "T006_ID"]);
        assert_eq!(page[0]["T006_ID"], "26");
    }
}
