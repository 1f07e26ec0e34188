//! Output: a human table by default, or one JSON object per case and line with `--json`, in
//! the shape the issues fix: `case`, `unit`, the figures (`ours`, `baseline` — the byte-only
//! floor —, `handwritten`, `tarpc`), each ratio of ours to them, `better`, and the goals.

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

/// What ours is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// The byte-only raw baseline (no serde work): a floor no typed RPC reaches.
    Floor,
    /// The hand-written tokio + rmp-serde RPC: the realistic limit.
    Handwritten,
    /// tarpc.
    Tarpc,
}

impl Against {
    fn as_str(self) -> &'static str {
        match self {
            Against::Floor => "floor",
            Against::Handwritten => "handwritten",
            Against::Tarpc => "tarpc",
        }
    }
}

/// A goal the issues set for a case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// ours / the other must not exceed this.
    RatioAtMost(Against, f64),
    /// ours / the other must reach this.
    RatioAtLeast(Against, f64),
    /// ours must stay below this, whatever the others.
    Below(f64),
}

impl Goal {
    fn describe(self) -> String {
        match self {
            Goal::RatioAtMost(a, r) => format!("/{} <= {r}", a.as_str()),
            Goal::RatioAtLeast(a, r) => format!("/{} >= {r}", a.as_str()),
            Goal::Below(v) => format!("< {v}"),
        }
    }

    fn met(self, result: &CaseResult) -> Option<bool> {
        match self {
            Goal::RatioAtMost(a, r) => result.ratio(a).map(|x| x <= r),
            Goal::RatioAtLeast(a, r) => result.ratio(a).map(|x| x >= r),
            Goal::Below(v) => Some(result.ours < v),
        }
    }
}

/// The figures of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: &'static str,
    pub unit: &'static str,
    pub ours: f64,
    /// The byte-only floor.
    pub baseline: Option<f64>,
    pub handwritten: Option<f64>,
    pub tarpc: Option<f64>,
    pub better: Better,
    pub goals: Vec<Goal>,
    /// Extra figures for the table (percentiles, drops …); not part of the JSON.
    pub notes: Vec<String>,
}

impl CaseResult {
    /// A case measured on ours and the floor only (the others are added where they ran).
    pub fn new(case: &'static str, unit: &'static str, better: Better) -> CaseResult {
        CaseResult {
            case,
            unit,
            ours: f64::NAN,
            baseline: None,
            handwritten: None,
            tarpc: None,
            better,
            goals: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn other(&self, against: Against) -> Option<f64> {
        match against {
            Against::Floor => self.baseline,
            Against::Handwritten => self.handwritten,
            Against::Tarpc => self.tarpc,
        }
    }

    /// ours / the other, when the other ran.
    pub fn ratio(&self, against: Against) -> Option<f64> {
        self.other(against)
            .map(|b| self.ours / b)
            .filter(|r| r.is_finite())
    }

    /// One line of JSON: the figures, each ratio, and each goal with whether it is met.
    pub fn json(&self) -> String {
        let goals: Vec<String> = self
            .goals
            .iter()
            .map(|g| {
                let met = g
                    .met(self)
                    .map_or("null", |m| if m { "true" } else { "false" });
                format!(r#"{{"goal": "ours{}", "met": {met}}}"#, g.describe())
            })
            .collect();
        format!(
            r#"{{"case": "{}", "unit": "{}", "ours": {}, "baseline": {}, "handwritten": {}, "tarpc": {}, "ratio": {}, "ratio_handwritten": {}, "ratio_tarpc": {}, "better": "{}", "goals": [{}]}}"#,
            self.case,
            self.unit,
            json_number(Some(self.ours)),
            json_number(self.baseline),
            json_number(self.handwritten),
            json_number(self.tarpc),
            json_number(self.ratio(Against::Floor)),
            json_number(self.ratio(Against::Handwritten)),
            json_number(self.ratio(Against::Tarpc)),
            self.better.as_str(),
            goals.join(", ")
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
pub fn human(value: f64) -> String {
    match value.abs() {
        v if v >= 1000.0 => format!("{value:.0}"),
        v if v >= 100.0 => format!("{value:.1}"),
        v if v >= 10.0 => format!("{value:.2}"),
        _ => format!("{value:.3}"),
    }
}

/// Renders the human table, then each case's notes.
pub fn table(results: &[CaseResult]) -> String {
    let header = [
        "case", "unit", "ours", "handwr.", "tarpc", "floor", "/handwr.", "/tarpc", "/floor",
        "goals",
    ];
    let figure = |v: Option<f64>| v.map_or("-".to_owned(), human);
    let ratio = |v: Option<f64>| v.map_or("-".to_owned(), |x| format!("{x:.2}"));
    let rows: Vec<[String; 10]> = results
        .iter()
        .map(|r| {
            let goals: Vec<String> = r
                .goals
                .iter()
                .map(|g| {
                    let met = match g.met(r) {
                        Some(true) => "yes",
                        Some(false) => "NO",
                        None => "?",
                    };
                    format!("{} {met}", g.describe())
                })
                .collect();
            [
                r.case.to_owned(),
                r.unit.to_owned(),
                human(r.ours),
                figure(r.handwritten),
                figure(r.tarpc),
                figure(r.baseline),
                ratio(r.ratio(Against::Handwritten)),
                ratio(r.ratio(Against::Tarpc)),
                ratio(r.ratio(Against::Floor)),
                if goals.is_empty() {
                    "-".to_owned()
                } else {
                    goals.join("; ")
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
            // Names, units and goals read left-aligned, figures right-aligned.
            if i < 2 || i == cells.len() - 1 {
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
