//! [`SpecDiff`]: the changes between an old and a new checked spec.

use crate::check::{AllowRule, CheckedSpec, Field, Type};

/// A value before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed<T> {
    pub old: T,
    pub new: T,
}

/// The kinds of top-level items, in the order the canonical spec lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ItemKind {
    Model,
    Exception,
    Method,
    Event,
}

impl ItemKind {
    /// The keyword that declares this kind of item.
    pub fn keyword(self) -> &'static str {
        match self {
            ItemKind::Model => "model",
            ItemKind::Exception => "exception",
            ItemKind::Method => "method",
            ItemKind::Event => "event",
        }
    }

    /// What this kind's members are called: model fields, method and event parameters.
    pub fn member(self) -> &'static str {
        match self {
            ItemKind::Model => "field",
            ItemKind::Exception | ItemKind::Method | ItemKind::Event => "parameter",
        }
    }
}

/// One top-level item that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemChange {
    /// Only in the new spec; `declaration` is its canonical spec text.
    Added {
        kind: ItemKind,
        name: String,
        declaration: String,
    },
    /// Only in the old spec.
    Removed {
        kind: ItemKind,
        name: String,
        declaration: String,
    },
    /// In both, with different members, return type or `@allow` rule.
    Changed {
        kind: ItemKind,
        name: String,
        changes: Vec<MemberChange>,
    },
}

impl ItemChange {
    pub fn kind(&self) -> ItemKind {
        match self {
            ItemChange::Added { kind, .. }
            | ItemChange::Removed { kind, .. }
            | ItemChange::Changed { kind, .. } => *kind,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            ItemChange::Added { name, .. }
            | ItemChange::Removed { name, .. }
            | ItemChange::Changed { name, .. } => name,
        }
    }
}

/// One difference inside a model, method or event. Types are in spec syntax (`*Student`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Added {
        name: String,
        ty: String,
    },
    Removed {
        name: String,
        ty: String,
    },
    Retyped {
        name: String,
        ty: Changed<String>,
    },
    /// The members both versions share are in another order: values are encoded by position,
    /// so this breaks the wire format as surely as a type change.
    Reordered(Changed<Vec<String>>),
    /// A method's return type; `None` is no return value.
    Returns(Changed<Option<String>>),
    /// A method's or event's effective `@allow` rule, as its terms (`root, uid = 1000`);
    /// `None` is no rule: anyone who can connect.
    Allow(Changed<Option<String>>),
}

/// Everything that differs between two specs, in canonical order (kind, then name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecDiff {
    pub namespace: Option<Changed<String>>,
    pub class: Option<Changed<String>>,
    pub socket: Option<Changed<Option<String>>>,
    pub items: Vec<ItemChange>,
    /// The full fingerprints of both specs, equal when nothing changed.
    pub fingerprint: Changed<String>,
}

impl SpecDiff {
    /// Compares `old` with `new`.
    pub fn between<'a>(old: &'a CheckedSpec, new: &'a CheckedSpec) -> SpecDiff {
        let mut items = Vec::new();
        for kind in [
            ItemKind::Model,
            ItemKind::Exception,
            ItemKind::Method,
            ItemKind::Event,
        ] {
            let old_items = shapes(old, kind);
            let new_items = shapes(new, kind);
            let mut names: Vec<&str> = old_items
                .iter()
                .chain(&new_items)
                .map(|shape| shape.name)
                .collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                let find = |shapes: &[Shape<'a>]| shapes.iter().find(|s| s.name == name).cloned();
                match (find(&old_items), find(&new_items)) {
                    (Some(before), Some(after)) => {
                        let changes = before.changes_to(&after);
                        if !changes.is_empty() {
                            items.push(ItemChange::Changed {
                                kind,
                                name: name.to_owned(),
                                changes,
                            });
                        }
                    }
                    (Some(before), None) => items.push(ItemChange::Removed {
                        kind,
                        name: name.to_owned(),
                        declaration: before.declaration(kind),
                    }),
                    (None, Some(after)) => items.push(ItemChange::Added {
                        kind,
                        name: name.to_owned(),
                        declaration: after.declaration(kind),
                    }),
                    (None, None) => {}
                }
            }
        }
        SpecDiff {
            namespace: changed(&old.namespace, &new.namespace),
            class: changed(&old.class, &new.class),
            socket: changed(&old.socket, &new.socket),
            items,
            fingerprint: Changed {
                old: old.fingerprint(),
                new: new.fingerprint(),
            },
        }
    }

    /// True when the specs describe the same protocol (docs and order aside).
    pub fn is_empty(&self) -> bool {
        self.namespace.is_none()
            && self.class.is_none()
            && self.socket.is_none()
            && self.items.is_empty()
    }

    /// Methods only the new spec has: the daemon must implement them.
    pub fn added_methods(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|item| match item {
            ItemChange::Added {
                kind: ItemKind::Method,
                name,
                ..
            } => Some(name.as_str()),
            _ => None,
        })
    }
}

fn changed<T: Clone + PartialEq>(old: &T, new: &T) -> Option<Changed<T>> {
    (old != new).then(|| Changed {
        old: old.clone(),
        new: new.clone(),
    })
}

/// Any item reduced to what the diff compares: its name, members, return type and effective
/// `@allow` rule.
#[derive(Clone)]
struct Shape<'a> {
    name: &'a str,
    members: &'a [Field],
    returns: Option<&'a Type>,
    allow: Option<&'a AllowRule>,
}

fn shapes(spec: &CheckedSpec, kind: ItemKind) -> Vec<Shape<'_>> {
    let shape = |name, members, returns, allow| Shape {
        name,
        members,
        returns,
        allow,
    };
    match kind {
        ItemKind::Model => spec
            .models
            .iter()
            .map(|m| shape(&m.name, &m.fields, None, None))
            .collect(),
        ItemKind::Exception => spec
            .exceptions
            .iter()
            .map(|e| shape(&e.name, &[], None, None))
            .collect(),
        ItemKind::Method => spec
            .methods
            .iter()
            .map(|m| shape(&m.name, &m.params, m.returns.as_ref(), m.allow.as_ref()))
            .collect(),
        ItemKind::Event => spec
            .events
            .iter()
            .map(|e| shape(&e.name, &e.params, None, e.allow.as_ref()))
            .collect(),
    }
}

impl Shape<'_> {
    /// The item in spec syntax, on one line: `method get(id: string): Student`,
    /// `model Student{id: string, age: uint8}`, `@allow(root) method wipe()`.
    fn declaration(&self, kind: ItemKind) -> String {
        let members = self
            .members
            .iter()
            .map(|field| format!("{}: {}", field.name, field.ty.spec_text()))
            .collect::<Vec<_>>()
            .join(", ");
        match kind {
            ItemKind::Model => format!("model {}{{{members}}}", self.name),
            ItemKind::Exception => format!("exception {}", self.name),
            ItemKind::Method | ItemKind::Event => {
                let allow = self
                    .allow
                    .map(|rule| format!("@allow({rule}) "))
                    .unwrap_or_default();
                let mut text = format!("{allow}{} {}({members})", kind.keyword(), self.name);
                if let Some(returns) = self.returns {
                    text += &format!(": {}", returns.spec_text());
                }
                text
            }
        }
    }

    fn changes_to(&self, new: &Shape<'_>) -> Vec<MemberChange> {
        let find = |fields: &[Field], name: &str| {
            fields
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.ty.spec_text())
        };
        let mut changes = Vec::new();
        for field in self.members {
            match find(new.members, &field.name) {
                None => changes.push(MemberChange::Removed {
                    name: field.name.clone(),
                    ty: field.ty.spec_text(),
                }),
                Some(ty) if ty != field.ty.spec_text() => changes.push(MemberChange::Retyped {
                    name: field.name.clone(),
                    ty: Changed {
                        old: field.ty.spec_text(),
                        new: ty,
                    },
                }),
                Some(_) => {}
            }
        }
        for field in new.members {
            if find(self.members, &field.name).is_none() {
                changes.push(MemberChange::Added {
                    name: field.name.clone(),
                    ty: field.ty.spec_text(),
                });
            }
        }
        let shared = |these: &[Field], others: &[Field]| -> Vec<String> {
            these
                .iter()
                .filter(|f| others.iter().any(|o| o.name == f.name))
                .map(|f| f.name.clone())
                .collect()
        };
        if let Some(order) = changed(
            &shared(self.members, new.members),
            &shared(new.members, self.members),
        ) {
            changes.push(MemberChange::Reordered(order));
        }
        if let Some(returns) = changed(
            &self.returns.map(Type::spec_text),
            &new.returns.map(Type::spec_text),
        ) {
            changes.push(MemberChange::Returns(returns));
        }
        if let Some(allow) = changed(
            &self.allow.map(AllowRule::to_string),
            &new.allow.map(AllowRule::to_string),
        ) {
            changes.push(MemberChange::Allow(allow));
        }
        changes
    }
}
