//! Finds models that contain themselves without a list in between (`model Node{ next: Node }`,
//! directly or through other models): such a value could never end.
//!
//! Linear when there is no cycle, which is the case that must be fast.

use std::collections::{HashMap, VecDeque};

use crate::diagnostic::{Diagnostic, ErrorCode, Span, join_list};

/// A model and its members whose type is another model, not in a list.
#[derive(Debug)]
pub(super) struct ModelEdges<'a> {
    pub name: &'a str,
    /// Target model name and the span of the member's type.
    pub contains: Vec<(&'a str, Span)>,
}

/// One diagnostic per cycle of models that contain each other directly.
pub(super) fn find_cycles(models: &[ModelEdges<'_>]) -> Vec<Diagnostic> {
    let index: HashMap<&str, usize> = models
        .iter()
        .enumerate()
        .map(|(i, model)| (model.name, i))
        .collect();
    // successors[i]: (target index, member type span)
    let successors: Vec<Vec<(usize, &Span)>> = models
        .iter()
        .map(|model| {
            model
                .contains
                .iter()
                .filter_map(|(target, span)| index.get(target).map(|&t| (t, span)))
                .collect()
        })
        .collect();
    let on_or_before_cycle = peel_acyclic(&successors);
    let mut covered = vec![false; models.len()];
    let mut diagnostics = Vec::new();
    for start in 0..models.len() {
        if !on_or_before_cycle[start] || covered[start] {
            continue;
        }
        // Models that only lead into a cycle have no way back to themselves.
        if let Some(cycle) = shortest_cycle(start, &successors, &on_or_before_cycle) {
            for &(node, _) in &cycle {
                covered[node] = true;
            }
            diagnostics.push(cycle_diagnostic(models, &cycle));
        }
    }
    diagnostics
}

/// Repeatedly removes models that contain no remaining model; what is left lies on a cycle or
/// leads into one. Returns that set.
fn peel_acyclic(successors: &[Vec<(usize, &Span)>]) -> Vec<bool> {
    let mut remaining_out: Vec<usize> = successors.iter().map(Vec::len).collect();
    let mut predecessors = vec![Vec::new(); successors.len()];
    for (from, targets) in successors.iter().enumerate() {
        for &(to, _) in targets {
            predecessors[to].push(from);
        }
    }
    let mut queue: VecDeque<usize> = (0..successors.len())
        .filter(|&i| remaining_out[i] == 0)
        .collect();
    let mut left = vec![true; successors.len()];
    while let Some(done) = queue.pop_front() {
        left[done] = false;
        for &from in &predecessors[done] {
            remaining_out[from] -= 1;
            if remaining_out[from] == 0 {
                queue.push_back(from);
            }
        }
    }
    left
}

/// The shortest cycle from `start` back to itself, as (model, span of the member leading to
/// the next model) steps, searching only models in `allowed`.
fn shortest_cycle<'s>(
    start: usize,
    successors: &[Vec<(usize, &'s Span)>],
    allowed: &[bool],
) -> Option<Vec<(usize, &'s Span)>> {
    // came_from[n] = (previous model, span of its member pointing at n)
    let mut came_from: Vec<Option<(usize, &Span)>> = vec![None; successors.len()];
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &(next, span) in &successors[node] {
            if !allowed[next] {
                continue;
            }
            if next == start {
                let mut cycle = vec![(node, span)];
                let mut at = node;
                while at != start {
                    let (previous, previous_span) = came_from[at]?;
                    cycle.push((previous, previous_span));
                    at = previous;
                }
                cycle.reverse();
                return Some(cycle);
            }
            if came_from[next].is_none() {
                came_from[next] = Some((node, span));
                queue.push_back(next);
            }
        }
    }
    None
}

fn cycle_diagnostic(models: &[ModelEdges<'_>], cycle: &[(usize, &Span)]) -> Diagnostic {
    let name = |i: usize| models[i].name;
    let step_label = |step: usize| {
        let (from, _) = cycle[step];
        let (to, _) = cycle[(step + 1) % cycle.len()];
        if from == to {
            format!("`{}` contains itself here", name(from))
        } else {
            format!("`{}` contains `{}` here", name(from), name(to))
        }
    };
    let (first, first_span) = cycle[0];
    let message = if cycle.len() == 1 {
        format!(
            "model `{}` contains itself without a list in between",
            name(first)
        )
    } else {
        let names: Vec<String> = cycle
            .iter()
            .map(|&(i, _)| format!("`{}`", name(i)))
            .collect();
        format!(
            "models {} contain each other without a list in between",
            join_list(&names, "and")
        )
    };
    let next = name(cycle[1 % cycle.len()].0);
    let mut diagnostic = Diagnostic::new(
        ErrorCode::RecursiveModel,
        message,
        first_span.clone(),
        step_label(0),
    );
    for (step, &(_, span)) in cycle.iter().enumerate().skip(1) {
        diagnostic = diagnostic.with_label(span.clone(), step_label(step));
    }
    diagnostic.with_help(format!(
        "a value of this model could never end; make a member a list, e.g. `*{next}`, so it can \
         be empty"
    ))
}
