//! Method names of a protocol's server trait, read from generated source — how sync tells the
//! user which methods a spec change added, without keeping a copy of the previous spec.

use std::collections::BTreeSet;

use syn::{Item, TraitItem};

/// The methods of trait `name` declared anywhere in `sources` (at top level or in inline
/// modules), or `None` when no source declares it or one does not parse.
pub(super) fn server_methods<'s>(
    sources: impl IntoIterator<Item = &'s str>,
    name: &str,
) -> Option<BTreeSet<String>> {
    let mut methods = None;
    for source in sources {
        let file = syn::parse_file(source).ok()?;
        collect(&file.items, name, &mut methods);
    }
    methods
}

fn collect(items: &[Item], name: &str, methods: &mut Option<BTreeSet<String>>) {
    for item in items {
        match item {
            Item::Trait(server) if unraw(&server.ident.to_string()) == name => {
                let found = methods.get_or_insert_with(BTreeSet::new);
                for member in &server.items {
                    if let TraitItem::Fn(function) = member {
                        found.insert(unraw(&function.sig.ident.to_string()).to_owned());
                    }
                }
            }
            Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    collect(items, name, methods);
                }
            }
            _ => {}
        }
    }
}

fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_of_the_named_trait_are_found_in_nested_modules() {
        let source = "pub mod server { pub trait Shop { fn buy(&self); fn r#type(&self) {} } }\n\
                      pub trait Other { fn sell(&self); }";
        let methods = server_methods([source], "Shop").unwrap();
        assert_eq!(methods.into_iter().collect::<Vec<_>>(), ["buy", "type"]);
    }

    #[test]
    fn missing_trait_or_unparsable_source_gives_nothing() {
        assert_eq!(server_methods(["pub struct Shop;"], "Shop"), None);
        assert_eq!(server_methods(["pub trait Shop {"], "Shop"), None);
    }
}
