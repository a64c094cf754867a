//! The `--max-memory` and `--timeout` flags of `coord history check` and `bench`.

use coord_specs::history::{Limits, DEFAULT_MAX_MEMORY};
use std::time::Duration;

/// How much the history checker may spend.
#[derive(clap::Args, Clone, Debug)]
pub struct LimitArgs {
    /// The most memory the search may hold (e.g. 512MiB, 2GiB; a plain number is MiB).
    /// Past it the verdict is unknown (exit status 3).
    #[arg(long, value_parser = parse_size, default_value = "2GiB")]
    max_memory: usize,
    /// The most time the check may take, in seconds (no limit if not given). Past it the
    /// verdict is unknown (exit status 3).
    #[arg(long, value_parser = parse_seconds)]
    timeout: Option<Duration>,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_memory: self.max_memory,
            timeout: self.timeout,
        }
    }
}

/// A size in bytes from `512MiB`, `2G`, `64k` or a plain number of MiB.
fn parse_size(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = match &lower[digits.len()..] {
        "" | "m" | "mb" | "mib" => 1 << 20,
        "k" | "kb" | "kib" => 1 << 10,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} (use KiB, MiB or GiB)")),
    };
    let number: f64 = (digits.trim().parse())
        .map_err(|_| format!("{text:?} is not a size such as 512MiB or 2GiB"))?;
    if !(number.is_finite() && number > 0.0) {
        return Err(format!("{text:?} is not a positive size"));
    }
    Ok((number * unit as f64) as usize)
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

const _: () = assert!(
    DEFAULT_MAX_MEMORY == 2 << 30,
    "the --max-memory default says 2GiB"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_or_without_a_unit() {
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("512"), Ok(512 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert!(parse_size("2TB").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
    }
}
