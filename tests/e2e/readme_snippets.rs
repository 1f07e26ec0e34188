//! README.md's code cannot rot: each of its ```rust and ```python blocks is a region of a
//! fixture that the end-to-end tests build and run (`fixtures/`). The line just above such a
//! block names its region, `<!-- snippet: tests/e2e/fixtures/student/daemon/main.rs#daemon -->`;
//! the fixture marks the region with `// ANCHOR: daemon` and `// ANCHOR_END: daemon` lines
//! (`#` in Python), as mdBook does. The block must be the lines between them, less their common
//! indentation (other anchor lines inside are left out). Every other block says what it is
//! (```sh, ```text), and every region appears in the README. Reads files, builds nothing.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::support::checkout_root;

/// Where the regions live, relative to the checkout.
const FIXTURES: &str = "tests/e2e/fixtures";

/// Languages whose blocks must come from a fixture.
const CHECKED_LANGUAGES: [&str; 2] = ["rust", "python"];

#[test]
fn every_rust_and_python_block_of_the_readme_is_a_fixture_region() {
    let readme = fs::read_to_string(checkout_root().join("README.md")).unwrap();
    let problems = readme_problems(&readme, &|path| {
        fs::read_to_string(checkout_root().join(path)).map_err(|err| err.to_string())
    });
    assert!(problems.is_empty(), "README.md:\n{}", problems.join("\n"));
}

#[test]
fn every_fixture_region_is_shown_in_the_readme() {
    let readme = fs::read_to_string(checkout_root().join("README.md")).unwrap();
    let shown: Vec<SnippetRef> = code_blocks(&readme)
        .into_iter()
        .filter_map(|block| block.snippet)
        .collect();
    let mut unshown = Vec::new();
    for path in files_under(&checkout_root().join(FIXTURES)) {
        let relative = path.strip_prefix(checkout_root()).unwrap();
        let relative = relative.to_str().expect("fixture paths are UTF-8");
        // A file that is not text marks no region.
        let Ok(source) = fs::read_to_string(&path) else {
            continue;
        };
        for anchor in anchors(&source) {
            let region = SnippetRef {
                path: relative.to_owned(),
                anchor: anchor.to_owned(),
            };
            if !shown.contains(&region) {
                unshown.push(region.to_string());
            }
        }
    }
    assert!(
        unshown.is_empty(),
        "regions no README.md block shows (show them or drop their ANCHOR lines): {}",
        unshown.join(", ")
    );
}

#[test]
fn region_is_the_lines_between_its_anchors_less_their_indentation() {
    let source = "fn main() {\n    // ANCHOR: outer\n    let a = 1;\n    // ANCHOR: inner\n    \
                  if a > 0 {\n        println!();\n    }\n\n    // ANCHOR_END: inner\n    \
                  // ANCHOR_END: outer\n}\n";
    assert_eq!(
        region(source, "outer").unwrap(),
        "let a = 1;\nif a > 0 {\n    println!();\n}\n\n"
    );
    assert_eq!(
        region(source, "inner").unwrap(),
        "if a > 0 {\n    println!();\n}\n\n"
    );
    assert!(region(source, "missing").is_err());
    let unclosed = "# ANCHOR: open\nx = 1\n";
    assert!(region(unclosed, "open").is_err());
}

#[test]
fn readme_problems_name_the_line_and_show_the_block_expected() {
    let fixture = "// ANCHOR: main\nfn main() {}\n// ANCHOR_END: main\n";
    let read = |path: &str| match path {
        "f.rs" => Ok(fixture.to_owned()),
        _ => Err("No such file or directory".to_owned()),
    };
    let good = "<!-- snippet: f.rs#main -->\n```rust\nfn main() {}\n```\n";
    assert_eq!(readme_problems(good, &read), Vec::<String>::new());

    let readme = "text\n\
                  <!-- snippet: f.rs#main -->\n```rust\nfn main() { now() }\n```\n\
                  ```python\nprint()\n```\n\
                  ```\nplain\n```\n\
                  <!-- snippet: g.rs#main -->\n```rust\n```\n\
                  ```sh\ncargo test\n```\n";
    assert_eq!(
        readme_problems(readme, &read),
        [
            "line 3: the ```rust block is not f.rs#main; it should read:\n\
             ```rust\nfn main() {}\n```",
            "line 6: a ```python block must be a fixture's region, named by a \
             `<!-- snippet: PATH#ANCHOR -->` line just above it",
            "line 9: a block without a language: say what it is (```sh, ```text)",
            "line 13: g.rs#main: cannot read g.rs: No such file or directory",
        ]
    );
}

/// What is wrong with the code blocks of `markdown`, one message per block, each starting
/// with the line of its opening fence. `read` reads a fixture by its path in the checkout.
fn readme_problems(markdown: &str, read: &dyn Fn(&str) -> Result<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for block in code_blocks(markdown) {
        let at = format!("line {}", block.line);
        let Some(snippet) = &block.snippet else {
            if block.language.is_empty() {
                problems.push(format!(
                    "{at}: a block without a language: say what it is (```sh, ```text)"
                ));
            } else if CHECKED_LANGUAGES.contains(&block.language.as_str()) {
                problems.push(format!(
                    "{at}: a ```{} block must be a fixture's region, named by a \
                     `<!-- snippet: PATH#ANCHOR -->` line just above it",
                    block.language
                ));
            }
            continue;
        };
        let expected = read(&snippet.path)
            .map_err(|err| format!("cannot read {}: {err}", snippet.path))
            .and_then(|source| region(&source, &snippet.anchor));
        match expected {
            Err(err) => problems.push(format!("{at}: {snippet}: {err}")),
            Ok(expected) if expected != block.text => {
                let mut problem = format!(
                    "{at}: the ```{} block is not {snippet}; it should read:\n",
                    block.language
                );
                write!(problem, "```{}\n{expected}```", block.language).unwrap();
                problems.push(problem);
            }
            Ok(_) => {}
        }
    }
    problems
}

/// A fenced code block of a Markdown file.
#[derive(Debug)]
struct CodeBlock {
    /// The 1-based line of its opening fence.
    line: usize,
    /// The fence's info string (`rust`), empty when it has none.
    language: String,
    /// The region named on the line just above the fence.
    snippet: Option<SnippetRef>,
    /// Its lines, each ending with a newline.
    text: String,
}

/// `PATH#ANCHOR`: a region of a fixture.
#[derive(Debug, PartialEq)]
struct SnippetRef {
    path: String,
    anchor: String,
}

impl std::fmt::Display for SnippetRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.path, self.anchor)
    }
}

/// The fenced blocks of `markdown`: fences of three backticks at the start of a line.
fn code_blocks(markdown: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut previous = "";
    let mut lines = markdown.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        if let Some(language) = line.strip_prefix("```") {
            let mut text = String::new();
            let closed = lines.by_ref().any(|(_, line)| {
                let end = line.starts_with("```");
                if !end {
                    text.push_str(line);
                    text.push('\n');
                }
                end
            });
            assert!(closed, "line {}: the code block is never closed", index + 1);
            blocks.push(CodeBlock {
                line: index + 1,
                language: language.trim().to_owned(),
                snippet: snippet_ref(previous),
                text,
            });
            previous = "";
        } else {
            previous = line;
        }
    }
    blocks
}

/// The region a `<!-- snippet: PATH#ANCHOR -->` line names.
fn snippet_ref(line: &str) -> Option<SnippetRef> {
    let inner = line
        .trim()
        .strip_prefix("<!-- snippet:")?
        .strip_suffix("-->")?;
    let (path, anchor) = inner.trim().split_once('#')?;
    Some(SnippetRef {
        path: path.to_owned(),
        anchor: anchor.to_owned(),
    })
}

/// An `ANCHOR: name` or `ANCHOR_END: name` comment line, `//` or `#`.
#[derive(Debug, PartialEq)]
enum Marker<'a> {
    Start(&'a str),
    End(&'a str),
}

fn marker(line: &str) -> Option<Marker<'_>> {
    let line = line.trim();
    let comment = line
        .strip_prefix("//")
        .or_else(|| line.strip_prefix('#'))?
        .trim_start();
    if let Some(name) = comment.strip_prefix("ANCHOR:") {
        Some(Marker::Start(name.trim()))
    } else {
        comment
            .strip_prefix("ANCHOR_END:")
            .map(|name| Marker::End(name.trim()))
    }
}

/// The names of the regions `source` marks, in order.
fn anchors(source: &str) -> Vec<&str> {
    source
        .lines()
        .filter_map(|line| match marker(line) {
            Some(Marker::Start(name)) => Some(name),
            _ => None,
        })
        .collect()
}

/// The lines between `ANCHOR: anchor` and `ANCHOR_END: anchor`, without other anchor lines and
/// less the indentation they all share, each ending with a newline.
fn region(source: &str, anchor: &str) -> Result<String, String> {
    let mut lines = source.lines();
    if !lines.any(|line| marker(line) == Some(Marker::Start(anchor))) {
        return Err(format!("no `ANCHOR: {anchor}` line"));
    }
    let mut body = Vec::new();
    let closed = lines.any(|line| match marker(line) {
        Some(Marker::End(name)) if name == anchor => true,
        Some(_) => false,
        None => {
            body.push(line);
            false
        }
    });
    if !closed {
        return Err(format!("no `ANCHOR_END: {anchor}` line after its start"));
    }
    let indent = body
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    Ok(body
        .iter()
        .map(|line| format!("{}\n", line.get(indent..).unwrap_or("").trim_end()))
        .collect())
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
        let path = entry.expect("directory entry is readable").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}
