//! The sweep chart (`--plot`, SVG): inertia (the elbow), the mean silhouette and, when computed,
//! the gap statistic against k, one panel each, with the recommended k marked across all panels
//! and each panel's own pick circled. Plain SVG text: the viewer draws the fonts, so no font
//! library is needed here.

use crate::metrics::sweep::{KResult, Recommended};
use std::fmt::Write;

const WIDTH: f64 = 760.0;
const PANEL_HEIGHT: f64 = 210.0;
const TOP: f64 = 64.0;
const LEFT: f64 = 86.0;
const RIGHT: f64 = 24.0;
const GAP_BETWEEN: f64 = 56.0;
const PLOT_HEIGHT: f64 = PANEL_HEIGHT - 40.0;

struct Panel<'a> {
    title: &'a str,
    points: Vec<(usize, f64, Option<f64>)>,
    pick: Option<usize>,
    color: &'a str,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Round tick values covering [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON * hi.abs().max(1.0));
    let raw = span / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor() * step;
    (0..=8)
        .map(|i| first + i as f64 * step)
        .take_while(|&v| v <= hi + step * 0.999)
        .collect()
}

fn label(value: f64) -> String {
    let a = value.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{value:.2e}")
    } else if a >= 100.0 {
        format!("{value:.0}")
    } else {
        let s = format!("{value:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Draws the sweep chart.
pub fn sweep_svg(title: &str, results: &[KResult], recommended: &Recommended) -> String {
    let mut panels = vec![Panel {
        title: "Inertia (within-segment sum of squares): look for the elbow",
        points: results.iter().map(|r| (r.k, r.inertia, None)).collect(),
        pick: recommended.elbow,
        color: "#1f5fa8",
    }];
    let silhouettes: Vec<_> = results
        .iter()
        .filter_map(|r| r.silhouette.map(|s| (r.k, s, None)))
        .collect();
    if !silhouettes.is_empty() {
        panels.push(Panel {
            title: "Mean silhouette: higher is better (above 0.5 is well separated)",
            points: silhouettes,
            pick: recommended.silhouette,
            color: "#c2571a",
        });
    }
    let gaps: Vec<_> = results
        .iter()
        .filter_map(|r| r.gap.map(|g| (r.k, g, r.gap_se)))
        .collect();
    if !gaps.is_empty() {
        panels.push(Panel {
            title: "Gap statistic ± one standard error",
            points: gaps,
            pick: recommended.gap,
            color: "#2e8540",
        });
    }

    let k_min = results.first().map_or(1, |r| r.k) as f64;
    let k_max = results.last().map_or(1, |r| r.k) as f64;
    let plot_width = WIDTH - LEFT - RIGHT;
    let x_of = |k: f64| {
        if k_max > k_min {
            LEFT + 12.0 + (k - k_min) / (k_max - k_min) * (plot_width - 24.0)
        } else {
            LEFT + plot_width / 2.0
        }
    };
    let height = TOP + panels.len() as f64 * (PANEL_HEIGHT + GAP_BETWEEN) - GAP_BETWEEN + 30.0;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="26" font-size="18" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let criterion = serde_json::to_string(&recommended.criterion).unwrap_or_default();
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="46" font-size="13" fill="#444">Recommended: k = {} (by {}). Circles mark each panel's own pick.</text>"##,
        recommended.k,
        escape(criterion.trim_matches('"')).replace('_', " ")
    );

    let step = (results.len() / 16).max(1);
    for (p, panel) in panels.iter().enumerate() {
        let top = TOP + p as f64 * (PANEL_HEIGHT + GAP_BETWEEN) + 24.0;
        let bottom = top + PLOT_HEIGHT;
        let lo = panel
            .points
            .iter()
            .map(|&(_, v, e)| v - e.unwrap_or(0.0))
            .fold(f64::INFINITY, f64::min);
        let hi = panel
            .points
            .iter()
            .map(|&(_, v, e)| v + e.unwrap_or(0.0))
            .fold(f64::NEG_INFINITY, f64::max);
        let marks = ticks(lo, hi);
        let (y_lo, y_hi) = (marks[0], *marks.last().unwrap_or(&hi));
        let y_of = |v: f64| {
            if y_hi > y_lo {
                bottom - (v - y_lo) / (y_hi - y_lo) * PLOT_HEIGHT
            } else {
                (top + bottom) / 2.0
            }
        };
        let _ = writeln!(
            svg,
            r#"<text x="{LEFT}" y="{}" font-size="14" font-weight="bold">{}</text>"#,
            top - 10.0,
            escape(panel.title)
        );
        for &v in &marks {
            let y = y_of(v);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e3e3e3"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text>"##,
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                label(v)
            );
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{LEFT}" y="{top:.1}" width="{plot_width:.1}" height="{PLOT_HEIGHT}" fill="none" stroke="#999"/>"##
        );
        for r in results.iter().step_by(step) {
            let x = x_of(r.k as f64);
            let _ = writeln!(
                svg,
                r##"<text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#555">{}</text>"##,
                bottom + 15.0,
                r.k
            );
        }
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#333">number of segments k</text>"##,
            LEFT + plot_width / 2.0,
            bottom + 31.0
        );
        let x = x_of(recommended.k as f64);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#b00020" stroke-width="1.5" stroke-dasharray="5,4"/>"##
        );
        let path: Vec<String> = panel
            .points
            .iter()
            .map(|&(k, v, _)| format!("{:.1},{:.1}", x_of(k as f64), y_of(v)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
            path.join(" "),
            panel.color
        );
        for &(k, v, error) in &panel.points {
            let (x, y) = (x_of(k as f64), y_of(v));
            if let Some(e) = error {
                let _ = writeln!(
                    svg,
                    r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{}"/>"#,
                    y_of(v - e),
                    y_of(v + e),
                    panel.color
                );
            }
            let _ = writeln!(
                svg,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{}"><title>k = {k}: {}</title></circle>"#,
                panel.color,
                label(v)
            );
            if panel.pick == Some(k) {
                let _ = writeln!(
                    svg,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="8" fill="none" stroke="{}" stroke-width="2"/>"#,
                    panel.color
                );
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::sweep::{Criterion, recommend};

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            ticks(0.12, 0.87),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let t = ticks(1234.0, 98765.0);
        assert!(t[0] <= 1234.0 && *t.last().unwrap() >= 98765.0 && t.len() <= 9);
    }

    #[test]
    fn chart_marks_the_recommendation_and_escapes_text() {
        let results: Vec<KResult> = [(2, 90.0, 0.5), (3, 30.0, 0.8), (4, 25.0, 0.6)]
            .into_iter()
            .map(|(k, inertia, s)| KResult {
                k,
                inertia,
                silhouette: Some(s),
                silhouette_method: "exact",
                davies_bouldin: None,
                calinski_harabasz: None,
                gap: None,
                gap_se: None,
                iterations: 1,
                converged: true,
                seconds: 0.0,
            })
            .collect();
        let recommended = recommend(&results, Criterion::Silhouette);
        let svg = sweep_svg("a <b> & c", &results, &recommended);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert!(svg.contains("Recommended: k = 3 (by silhouette)"));
        // Two panels (no gap), each with its pick circled.
        assert_eq!(svg.matches("r=\"8\"").count(), 2);
        assert!(!svg.contains("Gap statistic"));
    }
}
