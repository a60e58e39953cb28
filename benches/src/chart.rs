//! The results chart: each server's ratio to its cell's baseline.
//!
//! Raw figures differ by orders of magnitude between cells, and within a cell
//! the servers are close, so bars of raw requests/s all look full-width and say
//! nothing. What the README argues is a ratio to the baseline measured in the
//! same run, with the spread of the rounds behind it; that is what this draws:
//! one row per (cell, server), a bar to the median ratio, a whisker over the
//! middle half of the rounds, and a line at 1.0 (the baseline). Two panels:
//! requests/s (right of 1.0 is better) and server CPU per request (left of 1.0
//! is better).

use std::fmt::Write as _;

use crate::measure::Sample;
use crate::report::{ratio_spread, Row};

/// Height of one row's bar, and the gap below it.
const BAR: f64 = 16.0;
const GAP: f64 = 8.0;
/// Width of the row labels and of each panel's plot area.
const LABEL_WIDTH: f64 = 470.0;
const PANEL_WIDTH: f64 = 300.0;
/// Room right of a panel for the ratio's text.
const TEXT_WIDTH: f64 = 150.0;
/// Top margin: the panel titles and the 1.0 label.
const TOP: f64 = 44.0;

/// One row of the chart: a non-baseline server and its ratios to the baseline.
struct Ratios {
    label: String,
    colour: &'static str,
    /// (median, lower quartile, upper quartile) for requests/s, then CPU/request.
    panels: [(f64, f64, f64); 2],
}

/// A panel: its title and the figure it compares.
type Panel = (&'static str, fn(&Sample) -> f64);

const PANELS: [Panel; 2] = [
    ("requests/s vs baseline (higher is better)", |s| {
        s.requests_per_sec
    }),
    (
        "server CPU per request vs baseline (lower is better)",
        |s| s.cpu_us_per_request,
    ),
];

/// The ratio chart of `cells`' rows as standalone SVG. Rows without a measured
/// baseline in their cell are left out; the baselines appear in the labels.
pub fn svg(rows: &[Row], cells: &[&str]) -> String {
    let ratios = ratios(rows, cells);
    // Every panel shares one scale from 0, wide enough for every whisker and
    // for 1.0 to sit inside with room on both sides.
    let max = ratios
        .iter()
        .flat_map(|r| r.panels.iter().map(|p| p.2.max(p.0)))
        .fold(1.5f64, f64::max)
        .min(4.0)
        * 1.05;
    let x_of = |panel: usize, ratio: f64| {
        LABEL_WIDTH + panel as f64 * (PANEL_WIDTH + TEXT_WIDTH) + ratio.min(max) / max * PANEL_WIDTH
    };
    let height = TOP + ratios.len() as f64 * (BAR + GAP) + 16.0;
    let width = LABEL_WIDTH + 2.0 * (PANEL_WIDTH + TEXT_WIDTH);

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (p, (title, _)) in PANELS.iter().enumerate() {
        let one = x_of(p, 1.0);
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="16" font-weight="bold">{}</text>"#,
            x_of(p, 0.0),
            escape(title)
        );
        let _ = writeln!(
            out,
            r##"<text x="{one:.1}" y="{}" text-anchor="middle" fill="#555">1.0 = baseline</text>"##,
            TOP - 8.0
        );
        let _ = writeln!(
            out,
            r##"<line x1="{one:.1}" y1="{TOP}" x2="{one:.1}" y2="{:.1}" stroke="#333" stroke-dasharray="4 3"/>"##,
            height - 12.0
        );
    }
    for (i, row) in ratios.iter().enumerate() {
        let y = TOP + i as f64 * (BAR + GAP);
        let mid = y + BAR / 2.0;
        let _ = writeln!(
            out,
            r#"<text x="4" y="{:.1}">{}</text>"#,
            mid + 4.0,
            escape(&row.label)
        );
        for (p, &(ratio, low, high)) in row.panels.iter().enumerate() {
            let x0 = x_of(p, 0.0);
            let _ = writeln!(
                out,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{BAR}" fill="{}" fill-opacity="0.75"/>"#,
                x_of(p, ratio) - x0,
                row.colour
            );
            let _ = writeln!(
                out,
                r##"<line x1="{:.1}" y1="{mid:.1}" x2="{:.1}" y2="{mid:.1}" stroke="#000" stroke-width="1.5"/>"##,
                x_of(p, low),
                x_of(p, high)
            );
            for end in [low, high] {
                let _ = writeln!(
                    out,
                    r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#000" stroke-width="1.5"/>"##,
                    y + 3.0,
                    y + BAR - 3.0,
                    x = x_of(p, end)
                );
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}">{ratio:.2}x ({low:.2}–{high:.2})</text>"#,
                x_of(p, max) + 6.0,
                mid + 4.0
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The chart's rows: every non-baseline row of `cells` whose cell has a
/// measured baseline, in the order of `rows`.
fn ratios(rows: &[Row], cells: &[&str]) -> Vec<Ratios> {
    rows.iter()
        .filter(|r| !r.baseline && cells.contains(&r.cell.as_str()))
        .filter_map(|row| {
            let base = rows.iter().find(|b| {
                b.baseline
                    && b.cell == row.cell
                    && b.requests_per_sec > 0.0
                    && b.cpu_us_per_request > 0.0
            })?;
            // ringo's two drivers in colour; references (the floor, nginx) grey.
            let colour = match row.server.strip_prefix("ringo-") {
                Some(driver) if driver.starts_with("uring") => "#d9480f",
                Some(_) => "#1c7ed6",
                None => "#868e96",
            };
            Some(Ratios {
                label: format!("{} — {} vs {}", row.cell, row.server, base.server),
                colour,
                panels: PANELS.map(|(_, figure)| ratio_spread(row, base, figure)),
            })
        })
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn row(server: &str, baseline: bool, rps: &[f64]) -> Row {
        Row {
            cell: "c".to_owned(),
            server: server.to_owned(),
            baseline,
            requests_per_sec: rps[0],
            spread: (rps[0], rps[0]),
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            p999: Duration::ZERO,
            cpu_us_per_request: 10.0,
            rss_mib: 0.0,
            errors: 0,
            first_error: None,
            samples: rps
                .iter()
                .map(|&r| Sample {
                    requests_per_sec: r,
                    cpu_us_per_request: 10.0,
                    ..Sample::default()
                })
                .collect(),
        }
    }

    #[test]
    fn the_chart_shows_ratios_with_their_middle_half_and_skips_the_baseline() {
        let rows = [
            row("base", true, &[100.0, 100.0, 100.0, 100.0]),
            row("ringo-uring", false, &[120.0, 110.0, 130.0, 140.0]),
        ];
        let svg = svg(&rows, &["c"]);
        assert!(svg.contains("c — ringo-uring vs base"), "{svg}");
        assert!(
            !svg.contains("c — base"),
            "the baseline is the 1.0 line, not a row"
        );
        // Per-round ratios 1.2, 1.1, 1.3, 1.4: median 1.25, middle half 1.2–1.3.
        assert!(svg.contains("1.25x (1.20–1.30)"), "{svg}");
        assert!(svg.contains("1.00x (1.00–1.00)"), "equal CPU: {svg}");
        assert!(svg.contains("1.0 = baseline"));
        assert!(!svg.contains("120.00"), "no raw figures: {svg}");
    }

    #[test]
    fn a_cell_without_a_baseline_draws_no_rows() {
        let rows = [row("ringo-uring", false, &[1.0])];
        assert!(!svg(&rows, &["c"]).contains("ringo-uring"));
    }
}
