//! Output: a human table by default, or one JSON object per case and line with `--json`, in
//! the shape the issue fixes (`case`, `unit`, `ours`, `baseline`, `ratio`, `better`).

use std::fmt::Write as _;

/// Which direction is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

impl Better {
    fn as_str(self) -> &'static str {
        match self {
            Better::Higher => "higher",
            Better::Lower => "lower",
        }
    }
}

/// The goal the issue sets for a case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// ours / baseline must not exceed this.
    RatioAtMost(f64),
    /// ours / baseline must reach this.
    RatioAtLeast(f64),
    /// ours must stay below this, whatever the baseline.
    Below(f64),
    /// No goal: reported for information.
    None,
}

impl Goal {
    fn describe(self) -> String {
        match self {
            Goal::RatioAtMost(r) => format!("ratio <= {r}"),
            Goal::RatioAtLeast(r) => format!("ratio >= {r}"),
            Goal::Below(v) => format!("< {v}"),
            Goal::None => "-".to_owned(),
        }
    }

    fn met(self, ours: f64, ratio: Option<f64>) -> Option<bool> {
        match self {
            Goal::RatioAtMost(r) => ratio.map(|x| x <= r),
            Goal::RatioAtLeast(r) => ratio.map(|x| x >= r),
            Goal::Below(v) => Some(ours < v),
            Goal::None => None,
        }
    }
}

/// The figures of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: &'static str,
    pub unit: &'static str,
    pub ours: f64,
    pub baseline: Option<f64>,
    pub better: Better,
    pub goal: Goal,
    /// Extra figures for the table (percentiles, drops …); not part of the JSON.
    pub notes: Vec<String>,
}

impl CaseResult {
    pub fn ratio(&self) -> Option<f64> {
        self.baseline
            .map(|b| self.ours / b)
            .filter(|r| r.is_finite())
    }

    /// One line of JSON, keys in the issue's order.
    pub fn json(&self) -> String {
        format!(
            r#"{{"case": "{}", "unit": "{}", "ours": {}, "baseline": {}, "ratio": {}, "better": "{}"}}"#,
            self.case,
            self.unit,
            json_number(Some(self.ours)),
            json_number(self.baseline),
            json_number(self.ratio()),
            self.better.as_str()
        )
    }
}

/// A JSON number rounded to 3 decimals, or `null` when absent or not finite.
fn json_number(value: Option<f64>) -> String {
    match value.filter(|v| v.is_finite()) {
        Some(v) => format!("{}", (v * 1000.0).round() / 1000.0),
        None => "null".to_owned(),
    }
}

/// A figure for people: 4 significant digits at most, no exponent.
fn human(value: f64) -> String {
    match value.abs() {
        v if v >= 1000.0 => format!("{value:.0}"),
        v if v >= 100.0 => format!("{value:.1}"),
        v if v >= 10.0 => format!("{value:.2}"),
        _ => format!("{value:.3}"),
    }
}

/// Renders the human table, then each case's notes.
pub fn table(results: &[CaseResult]) -> String {
    let header = ["case", "unit", "ours", "baseline", "ratio", "goal", "met"];
    let rows: Vec<[String; 7]> = results
        .iter()
        .map(|r| {
            let ratio = r.ratio();
            [
                r.case.to_owned(),
                r.unit.to_owned(),
                human(r.ours),
                r.baseline.map_or("-".to_owned(), human),
                ratio.map_or("-".to_owned(), |x| format!("{x:.2}")),
                r.goal.describe(),
                match r.goal.met(r.ours, ratio) {
                    Some(true) => "yes".to_owned(),
                    Some(false) => "NO".to_owned(),
                    None => "-".to_owned(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Names and units read left-aligned, figures right-aligned.
            if i < 2 {
                let _ = write!(text, "{cell:<w$}  ");
            } else {
                let _ = write!(text, "{cell:>w$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header.map(str::to_owned));
    for row in &rows {
        line(row);
    }
    for r in results {
        for note in &r.notes {
            let _ = writeln!(out, "  {}: {note}", r.case);
        }
    }
    out
}
