//! Number formatting both binaries print: counts grouped by thousands in summaries and tables.

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(thousands(0), "0", "zero has no separator");
        assert_eq!(thousands(999), "999", "three digits have no separator");
        assert_eq!(
            thousands(1_000),
            "1,000",
            "thousands are separated by a comma"
        );
        assert_eq!(
            thousands(1_234),
            "1,234",
            "thousands are separated by a comma"
        );
        assert_eq!(
            thousands(1_234_567),
            "1,234,567",
            "every group of three digits is separated"
        );
    }
}
