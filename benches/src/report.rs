//! Turning measurements into the table, the ratios, the results file and the chart.

use std::fmt::Write as _;
use std::time::Duration;

use crate::measure::Sample;

/// The medians of one (cell, server) pair over its repetitions.
#[derive(Debug, Clone)]
pub struct Row {
    pub cell: String,
    pub server: String,
    pub baseline: bool,
    pub requests_per_sec: f64,
    /// Lowest and highest requests/s over the repetitions.
    pub spread: (f64, f64),
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub cpu_us_per_request: f64,
    pub rss_mib: f64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Every repetition, in round order (see `measure`).
    pub samples: Vec<Sample>,
}

/// Idle-connection memory of one server.
#[derive(Debug, Clone)]
pub struct IdleRow {
    pub server: String,
    pub connections: usize,
    pub bytes_per_connection: f64,
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn micros(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

/// The baseline row of `row`'s cell, if any.
fn baseline_of<'a>(rows: &'a [Row], row: &Row) -> Option<&'a Row> {
    rows.iter().find(|b| b.baseline && b.cell == row.cell)
}

/// `row`'s figure over `base`'s, and the middle half of the ratios it comes
/// from (lower and upper quartile): the median of the ratios of the runs made
/// in the same round when both have every round, else the ratio of the
/// medians (then given as its own spread).
pub fn ratio_spread(row: &Row, base: &Row, figure: fn(&Sample) -> f64) -> (f64, f64, f64) {
    if row.samples.len() == base.samples.len() && !row.samples.is_empty() {
        let mut ratios: Vec<f64> = row
            .samples
            .iter()
            .zip(&base.samples)
            .map(|(r, b)| figure(r) / figure(b))
            .collect();
        let middle = median(&mut ratios);
        let quarter = ratios.len() / 4;
        return (middle, ratios[quarter], ratios[ratios.len() - 1 - quarter]);
    }
    let whole = |r: &Row| Sample {
        requests_per_sec: r.requests_per_sec,
        cpu_us_per_request: r.cpu_us_per_request,
        ..Sample::default()
    };
    let only = figure(&whole(row)) / figure(&whole(base));
    (only, only, only)
}

/// `0.95x (0.90–1.02)`: a ratio and the middle half of its rounds.
fn ratio_cell(row: &Row, base: &Row, figure: fn(&Sample) -> f64) -> String {
    let (middle, low, high) = ratio_spread(row, base, figure);
    format!("{middle:.2}x ({low:.2}–{high:.2})")
}

/// The markdown table of every row, with ratios to the cell's baseline.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| cell | server | req/s (min–max) | p50 µs | p99 µs | p99.9 µs | server CPU µs/req | RSS MiB | errors | req/s vs base (middle half) | CPU/req vs base (middle half) |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for row in rows {
        let (rps_ratio, cpu_ratio) = match baseline_of(rows, row) {
            Some(base)
                if !row.baseline
                    && base.requests_per_sec > 0.0
                    && base.cpu_us_per_request > 0.0 =>
            {
                (
                    ratio_cell(row, base, |s| s.requests_per_sec),
                    ratio_cell(row, base, |s| s.cpu_us_per_request),
                )
            }
            Some(_) if row.baseline => ("baseline".to_owned(), "baseline".to_owned()),
            _ => ("–".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} ({:.0}–{:.0}) | {} | {} | {} | {:.2} | {:.1} | {} | {} | {} |",
            row.cell,
            row.server,
            row.requests_per_sec,
            row.spread.0,
            row.spread.1,
            micros(row.p50),
            micros(row.p99),
            micros(row.p999),
            row.cpu_us_per_request,
            row.rss_mib,
            row.errors,
            rps_ratio,
            cpu_ratio,
        );
    }
    out
}

/// The idle-memory table.
pub fn idle_markdown(rows: &[IdleRow]) -> String {
    let mut out = String::from(
        "| server | idle connections | server RSS growth per connection |\n|---|---|---|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} KiB |",
            row.server,
            row.connections,
            row.bytes_per_connection / 1024.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cpu: &[f64]) -> Row {
        Row {
            cell: "c".to_owned(),
            server: "s".to_owned(),
            baseline: false,
            requests_per_sec: 1.0,
            spread: (1.0, 1.0),
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            p999: Duration::ZERO,
            cpu_us_per_request: cpu.iter().sum::<f64>() / cpu.len() as f64,
            rss_mib: 0.0,
            errors: 0,
            first_error: None,
            samples: cpu
                .iter()
                .map(|&c| Sample {
                    cpu_us_per_request: c,
                    ..Sample::default()
                })
                .collect(),
        }
    }

    #[test]
    fn a_ratio_pairs_rounds_and_keeps_their_middle_half() {
        // Round ratios 2, 0.5, 1, 1.5, 5 sort to 0.5, 1, 1.5, 2, 5.
        let base = row(&[1.0, 4.0, 2.0, 2.0, 1.0]);
        let other = row(&[2.0, 2.0, 2.0, 3.0, 5.0]);
        let cpu = |s: &Sample| s.cpu_us_per_request;
        assert_eq!(ratio_spread(&other, &base, cpu), (1.5, 1.0, 2.0));
        let unpaired = row(&[3.0]);
        assert_eq!(
            ratio_spread(&unpaired, &base, cpu),
            (1.5, 1.5, 1.5),
            "without paired rounds: the ratio of the means the rows carry"
        );
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
