//! Status codes of one request name's answers: a tiny map from code to count, as oha's
//! "Status code distribution" (`200: 14,000, 404: 3`).
//!
//! Recorded inside a shard's window (under the shard's lock, beside the outcome counts), so it
//! needs no lock of its own. A run sees a handful of distinct codes, so the map is a short vector
//! searched linearly: one compare per distinct code, and no allocation after the first answer of
//! each code (clearing keeps the capacity, and the collector recycles windows).

/// Answers per status code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// `(code, count)` in the order first seen; [`StatusCounts::sorted`] orders them.
    codes: Vec<(u16, u64)>,
}

impl StatusCounts {
    /// Counts `count` answers with `code`.
    pub fn add(&mut self, code: u16, count: u64) {
        match self.codes.iter_mut().find(|(known, _)| *known == code) {
            Some((_, seen)) => *seen += count,
            None => self.codes.push((code, count)),
        }
    }

    /// Empties the counts, keeping the memory.
    pub fn clear(&mut self) {
        self.codes.clear();
    }

    pub fn merge(&mut self, other: &StatusCounts) {
        for &(code, count) in &other.codes {
            self.add(code, count);
        }
    }

    /// Answers counted (requests without an answer have no code and are not here).
    pub fn answered(&self) -> u64 {
        self.codes.iter().map(|(_, count)| count).sum()
    }

    /// `(code, count)` by code.
    pub fn sorted(&self) -> Vec<(u16, u64)> {
        let mut codes = self.codes.clone();
        codes.sort_unstable();
        codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_counted_merged_and_sorted() {
        let mut one = StatusCounts::default();
        one.add(404, 1);
        one.add(200, 2);
        one.add(404, 1);
        let mut two = StatusCounts::default();
        two.add(500, 3);
        two.add(200, 1);
        one.merge(&two);
        assert_eq!(
            one.sorted(),
            vec![(200, 3), (404, 2), (500, 3)],
            "codes are summed across windows and listed by code"
        );
        assert_eq!(one.answered(), 8, "every answer is counted once");
        one.clear();
        assert_eq!(one.answered(), 0, "a cleared map counts nothing");
    }
}
