//! The markdown body of an agentmd job manifest, `jobs/<origin>/<slug>.md`: a YAML frontmatter
//! block between `---` fences, then the prompt (spec §3.8, §3.9). instar drops the job when the
//! frontmatter is missing, over its size caps, not a YAML mapping, uses an anchor or alias, has a
//! key outside the version's closed set, or gives name/description/notificationMode/toolAllowlist
//! a shape it refuses.
//!
//! instar parses the frontmatter with a full YAML parser (FAILSAFE schema). The doctor reads only
//! the part of YAML that frontmatter uses: top-level `key: value` lines, block and flow
//! collections under them, quoted and block scalars. Where the text goes beyond that, the doctor
//! says nothing rather than guess: a finding here must mean that instar drops the job.

use crate::json::is_js_whitespace;
use crate::version::{boundary, Version};

/// instar's size caps: 16 KB of frontmatter, 64 KB of body, and the whole file at most both plus
/// 1 KB of framing (checked on the file size, before reading).
pub const MAX_FRONTMATTER_BYTES: usize = 16 * 1024;
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const MAX_FILE_BYTES: u64 = (MAX_FRONTMATTER_BYTES + MAX_BODY_BYTES + 1024) as u64;

/// The frontmatter keys every version with manifests accepts.
const KEYS_ALWAYS: &[&str] = &[
    "name",
    "description",
    "toolAllowlist",
    "grounding",
    "notificationMode",
    "viewMetadata",
    "commonBlockers",
];
/// Scheduling vocabulary, decorative in frontmatter (the manifest is the authority), accepted
/// from [`boundary::AGENTMD_FRONTMATTER_SCHEDULING`]; refused before, which drops the job.
const KEYS_SCHEDULING: &[&str] = &[
    "schedule",
    "priority",
    "expectedDurationMinutes",
    "model",
    "enabled",
    "tags",
    "unrestrictedTools",
    "gate",
    "telegramNotify",
    "topicId",
    "machines",
    "supervision",
];

/// Whether the version's closed set of frontmatter keys holds `key`.
pub fn key_allowed(key: &str, version: Version) -> bool {
    KEYS_ALWAYS.contains(&key)
        || (version >= boundary::AGENTMD_FRONTMATTER_SCHEDULING && KEYS_SCHEDULING.contains(&key))
        || (version >= boundary::AGENTMD_FRONTMATTER_MCP_ACCESS && key == "mcpAccess")
        || (version >= boundary::AGENTMD_FRONTMATTER_PER_MACHINE && key == "perMachineIndependent")
}

/// The keys `key_allowed` accepts at `version`, for messages.
pub fn allowed_keys(version: Version) -> Vec<&'static str> {
    KEYS_ALWAYS
        .iter()
        .chain(KEYS_SCHEDULING)
        .chain(["mcpAccess", "perMachineIndependent"].iter())
        .copied()
        .filter(|k| key_allowed(k, version))
        .collect()
}

/// Why instar drops the job for this body, with the byte range (in the file as written) it is
/// about when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub message: String,
    pub span: Option<std::ops::Range<usize>>,
}

fn refuse(message: impl Into<String>) -> Option<Refusal> {
    Some(Refusal {
        message: message.into(),
        span: None,
    })
}

/// instar's verdict on a body file of `len` bytes: `None` when it loads.
pub fn verdict(bytes: &[u8], version: Version) -> Option<Refusal> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return refuse(format!(
            "is {} bytes, over instar's cap of {MAX_FILE_BYTES} for an agentmd file",
            bytes.len()
        ));
    }
    // readFileSync(…, 'utf-8') replaces invalid sequences; so does this.
    let text = String::from_utf8_lossy(bytes);
    let has_cr = text.contains('\r');
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let Some((front, body)) = split(&normalized) else {
        return refuse(
            "has no YAML frontmatter: it must start with a `---` line and close it with another",
        );
    };
    if front.len() > MAX_FRONTMATTER_BYTES {
        return refuse(format!(
            "has {} bytes of frontmatter, over instar's cap of {MAX_FRONTMATTER_BYTES}",
            front.len()
        ));
    }
    if body.len() > MAX_BODY_BYTES {
        return refuse(format!(
            "has a {}-byte body, over instar's cap of {MAX_BODY_BYTES}",
            body.len()
        ));
    }
    let mut refusal = frontmatter(front, version)?;
    // Spans are offsets into the normalized text: meaningful in the file only without CRs.
    refusal.span = refusal
        .span
        .filter(|_| !has_cr)
        .map(|s| s.start + 4..s.end + 4);
    Some(refusal)
}

fn is_fence_line(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.chars().all(is_js_whitespace))
}

/// The frontmatter and the body of a normalized (LF-only) text, or `None` without frontmatter.
/// The text must open with a `---` line; the frontmatter ends at the first later line that is
/// `---` plus whitespace only (an empty frontmatter when that is the very next line).
pub fn split(text: &str) -> Option<(&str, &str)> {
    // instar also lets a text of exactly `---` past its opening test, but then finds no closing
    // fence in the empty rest: no frontmatter either way.
    let after_open = text.strip_prefix("---\n")?;
    let first_line = after_open.split('\n').next().unwrap_or_default();
    if after_open.starts_with("---")
        && (after_open.len() == 3 || after_open.as_bytes()[3] == b'\n' || is_fence_line(first_line))
    {
        if !is_fence_line(first_line) {
            return None;
        }
        let rest = &after_open[first_line.len()..];
        return Some(("", rest.strip_prefix('\n').unwrap_or(rest)));
    }
    // A closing fence: "\n---", then whitespace that reaches a line end or the end of the text.
    let mut from = 0;
    while let Some(at) = after_open[from..].find("\n---").map(|i| i + from) {
        let tail = &after_open[at + 4..];
        let ws_end = tail
            .char_indices()
            .find(|(_, c)| !is_js_whitespace(*c))
            .map_or(tail.len(), |(i, _)| i);
        let run = &tail[..ws_end];
        if ws_end == tail.len() || run.contains('\n') {
            let front = &after_open[..at];
            // The fence takes its line; the body starts on the next one.
            let line_end = tail.find('\n').map_or(tail.len(), |i| i + 1);
            return Some((front, &tail[line_end.min(tail.len())..]));
        }
        from = at + 1;
    }
    None
}

/// A top-level entry of the frontmatter mapping.
#[derive(Debug)]
struct Entry<'a> {
    key: String,
    key_span: std::ops::Range<usize>,
    /// The text after `key:` on its line, comment removed, trimmed.
    inline: &'a str,
    /// Whether indented lines follow (a nested block or a continued scalar).
    has_block: bool,
    /// The first indented line under the key, when it starts a nested list (`- `) or mapping.
    nested: Option<Nested>,
}

/// What the doctor can tell about the frontmatter text (offsets relative to it).
fn frontmatter(text: &str, version: Version) -> Option<Refusal> {
    let entries = match read_entries(text) {
        Shape::Mapping(entries) => entries,
        Shape::NotMapping(what) => {
            return refuse(format!(
                "has frontmatter that is {what}, not a YAML mapping"
            ))
        }
        Shape::Anchor => return refuse("uses a YAML anchor or alias in its frontmatter"),
        Shape::Duplicate(key) => {
            return refuse(format!(
                "gives the frontmatter key {key:?} twice, which the YAML parser refuses"
            ))
        }
        Shape::Unsure => return None,
    };
    for entry in &entries {
        if !key_allowed(&entry.key, version) {
            return Some(Refusal {
                message: format!(
                    "has the frontmatter key {:?}, which instar {version} does not allow ({})",
                    entry.key,
                    allowed_keys(version).join(", ")
                ),
                span: Some(entry.key_span.clone()),
            });
        }
    }
    for entry in &entries {
        if let Some(why) = shape_problem(entry) {
            return Some(Refusal {
                message: format!("has a frontmatter {:?} that {why}", entry.key),
                span: Some(entry.key_span.clone()),
            });
        }
    }
    None
}

/// A scalar written on one line, as YAML reads it: `Some(text)` for a plain or quoted scalar
/// the doctor is sure of, `None` otherwise.
fn inline_scalar(inline: &str) -> Option<String> {
    let first = inline.chars().next()?;
    match first {
        '"' => {
            let inner = inline.strip_prefix('"')?.strip_suffix('"')?;
            (!inner.contains(['"', '\\'])).then(|| inner.to_string())
        }
        '\'' => {
            let inner = inline.strip_prefix('\'')?.strip_suffix('\'')?;
            (!inner.contains('\'')).then(|| inner.to_string())
        }
        '[' | '{' | '|' | '>' | '!' | '&' | '*' | '@' | '`' | '%' => None,
        _ => Some(inline.to_string()),
    }
}

/// validateFrontmatterShape's verdict on one entry, where the doctor is sure of the value.
fn shape_problem(entry: &Entry<'_>) -> Option<&'static str> {
    let empty = entry.inline.is_empty() && !entry.has_block;
    let collection = entry.inline.starts_with(['[', '{']) || entry.nested.is_some();
    match entry.key.as_str() {
        "name" | "description" => {
            if empty {
                return Some("is empty (YAML reads it as null; instar needs a non-empty string)");
            }
            if collection {
                return Some("is a collection; instar needs a non-empty string");
            }
            if entry.has_block && entry.inline.is_empty() {
                return None; // a nested block or a continued scalar: not sure
            }
            let value = inline_scalar(entry.inline)?;
            crate::json::js_trim(&value)
                .is_empty()
                .then_some("is blank; instar needs a non-empty string")
        }
        "notificationMode" => {
            if empty {
                return Some("is empty; instar needs always, on-alert or never");
            }
            if collection {
                return Some("is a collection; instar needs always, on-alert or never");
            }
            if entry.has_block {
                return None;
            }
            let value = inline_scalar(entry.inline)?;
            (!["always", "on-alert", "never"].contains(&value.as_str()))
                .then_some("is not always, on-alert or never")
        }
        "toolAllowlist" => {
            if empty {
                return Some("is empty; instar needs \"*\" or a list of tool names");
            }
            if entry.nested == Some(Nested::Mapping) {
                return Some("is a mapping; instar needs \"*\" or a list of tool names");
            }
            if entry.has_block || collection {
                return None;
            }
            let value = inline_scalar(entry.inline)?;
            (value != "*").then_some("is a single name; instar needs \"*\" or a list of tool names")
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Nested {
    List,
    Mapping,
}

enum Shape<'a> {
    Mapping(Vec<Entry<'a>>),
    NotMapping(&'static str),
    Anchor,
    /// A key given twice, which the YAML parser refuses.
    Duplicate(String),
    Unsure,
}

/// Strips a ` #` comment from a plain value (quoted values are left whole).
fn strip_comment(value: &str) -> &str {
    if value.starts_with(['"', '\'']) {
        return value.trim_end();
    }
    let cut = value
        .char_indices()
        .find(|(i, c)| *c == '#' && (*i == 0 || value[..*i].ends_with([' ', '\t'])))
        .map_or(value.len(), |(i, _)| i);
    value[..cut].trim_end()
}

/// Whether a node starting at `text` is an anchor (`&a`) or an alias (`*a`), after an optional
/// tag. Both make instar drop the job (an anchor is refused; a bare `&`/`*` does not parse).
fn starts_anchor(text: &str) -> bool {
    let text = text.trim_start_matches([' ', '\t']);
    let text = if text.starts_with('!') {
        text.split_once([' ', '\t']).map_or("", |(_, rest)| rest)
    } else {
        text
    };
    text.starts_with(['&', '*'])
}

/// Whether a flow collection (`[…]`, `{…}`) holds an anchor or alias at a node start.
fn flow_has_anchor(text: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut node_start = true;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' if node_start => {
                    quote = Some(c);
                    node_start = false
                }
                '[' | '{' | ',' | ':' => node_start = true,
                ' ' | '\t' | '\n' => {}
                '&' | '*' if node_start => return true,
                _ => node_start = false,
            },
        }
    }
    false
}

/// Reads the top-level structure of the frontmatter.
fn read_entries(text: &str) -> Shape<'_> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut reader = TopLevel::default();
    let mut offset = 0;
    for line in lines.iter() {
        let start = offset;
        offset += line.len() + 1;
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let read = if reader.flow_depth > 0 {
            reader.flow_line(content)
        } else if indent > 0 {
            reader.indented_line(content)
        } else {
            reader.entry_line(content, start, &lines)
        };
        if let Err(shape) = read {
            return shape;
        }
    }
    // No entries (only comments or nothing) too: instar reads it as an empty mapping.
    Shape::Mapping(reader.entries)
}

/// The frontmatter's top-level entries read so far, and what the lines before tell about the
/// next. Each line's reader gives `Err` with the whole shape once one line decides it.
#[derive(Default)]
struct TopLevel<'a> {
    entries: Vec<Entry<'a>>,
    /// Inside a `|` or `>` block scalar: indented lines are literal text.
    block_scalar: bool,
    /// Brackets a flow collection that spans lines still has open.
    flow_depth: i32,
}

impl<'a> TopLevel<'a> {
    /// A line inside a flow collection that spans lines (a column-0 line is fine there).
    fn flow_line(&mut self, content: &str) -> Result<(), Shape<'a>> {
        if flow_has_anchor(content) {
            return Err(Shape::Anchor);
        }
        self.flow_depth += depth_change(content);
        Ok(())
    }

    /// An indented line: it belongs to the last entry (a nested block or a continued scalar).
    fn indented_line(&mut self, content: &str) -> Result<(), Shape<'a>> {
        let Some(last) = self.entries.last_mut() else {
            return Err(Shape::Unsure);
        };
        if !last.has_block && last.inline.is_empty() {
            last.nested = if content.starts_with("- ") || content == "-" {
                Some(Nested::List)
            } else if split_key(content).is_some() {
                Some(Nested::Mapping)
            } else {
                None
            };
        }
        last.has_block = true;
        if self.block_scalar {
            return Ok(()); // literal text: `*bold*` there is no alias
        }
        let node = content
            .strip_prefix("- ")
            .or_else(|| (content == "-").then_some(""))
            .or_else(|| mapping_value(content))
            .unwrap_or("");
        if starts_anchor(node) || content.starts_with(['&', '*']) {
            return Err(Shape::Anchor);
        }
        if node.starts_with(['[', '{']) && flow_has_anchor(node) {
            return Err(Shape::Anchor);
        }
        if node.trim_start().starts_with(['|', '>']) {
            self.block_scalar = true;
        }
        Ok(())
    }

    /// A column-0 line: a new `key: value` entry, or something that is no mapping entry.
    fn entry_line(
        &mut self,
        content: &'a str,
        start: usize,
        lines: &[&str],
    ) -> Result<(), Shape<'a>> {
        self.block_scalar = false;
        if content.starts_with("- ") || content == "-" {
            return Err(if self.entries.is_empty() {
                Shape::NotMapping("a list")
            } else {
                Shape::Unsure
            });
        }
        if content.starts_with(['&', '*', '!', '?', '[', '{', '|', '>', '%', '@', '`']) {
            return Err(Shape::Unsure);
        }
        let Some((key, key_len, rest)) = split_key(content) else {
            return Err(
                if self.entries.is_empty()
                    && lines.iter().filter(|l| !l.trim().is_empty()).count() == 1
                {
                    Shape::NotMapping("a single text value")
                } else {
                    Shape::Unsure
                },
            );
        };
        let value = strip_comment(rest.trim_start_matches([' ', '\t']));
        if starts_anchor(value) {
            return Err(Shape::Anchor);
        }
        if value.starts_with(['[', '{']) {
            if flow_has_anchor(value) {
                return Err(Shape::Anchor);
            }
            self.flow_depth = depth_change(value);
        }
        if value.starts_with(['|', '>']) {
            self.block_scalar = true;
        }
        if self.entries.iter().any(|e| e.key == key) {
            return Err(Shape::Duplicate(key));
        }
        self.entries.push(Entry {
            key,
            key_span: start..start + key_len,
            inline: value,
            has_block: false,
            nested: None,
        });
        Ok(())
    }
}

/// The value after `key: ` in an indented mapping line, if the line is one.
fn mapping_value(content: &str) -> Option<&str> {
    split_key(content).map(|(_, _, rest)| rest.trim_start_matches([' ', '\t']))
}

/// How much a line opens or closes flow collections (outside quotes).
fn depth_change(text: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                '#' => break,
                _ => {}
            },
        }
    }
    depth
}

/// `key: rest` → (key, the key's length in bytes as written, rest). Plain keys end at the first
/// `:` followed by a space or the line end; quoted keys at their closing quote.
fn split_key(content: &str) -> Option<(String, usize, &str)> {
    if let Some(quote) = content.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = content[1..].find(quote)? + 1;
        let key = content[1..close].to_string();
        let after = content[close + 1..].trim_start_matches([' ', '\t']);
        let rest = after.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            return None;
        }
        return Some((key, close + 1, rest));
    }
    let bytes = content.as_bytes();
    let colon = (0..bytes.len()).find(|&i| {
        bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t')
    })?;
    let key = content[..colon].trim_end();
    if key.is_empty() || key.contains(" #") {
        return None;
    }
    Some((key.to_string(), key.len(), &content[colon + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Version;

    const OLD: Version = Version::new(0, 28, 98);
    const HEAD: Version = crate::version::NEWEST_KNOWN;

    fn loads(text: &str, version: Version) -> bool {
        verdict(text.as_bytes(), version).is_none()
    }

    #[test]
    fn frontmatter_must_open_and_close_with_fences() {
        assert!(loads("---\nname: A\n---\nBody.\n", HEAD));
        assert!(loads("---\n---\nBody.\n", HEAD));
        assert!(loads("---\r\nname: A\r\n---\r\nBody.", HEAD));
        assert!(loads("---\nname: A\n---   \nBody.", HEAD));
        assert!(loads("---\nname: A\n---", HEAD));
        for bad in [
            "Body only.\n",
            "\n---\nname: A\n---\n",
            "---\nname: A\nBody without a closing fence.\n",
            "---\nname: A\n--- x\nBody.",
            "--- \nname: A\n---\n",
            "---",
        ] {
            assert!(!loads(bad, HEAD), "{bad:?}");
        }
    }

    #[test]
    fn split_returns_the_frontmatter_and_the_body() {
        assert_eq!(split("---\na: b\n---\nbody"), Some(("a: b", "body")));
        assert_eq!(split("---\n---\nbody"), Some(("", "body")));
    }

    #[test]
    fn scheduling_keys_are_refused_before_the_boundary_and_accepted_from_it() {
        let text = "---\nname: A\nschedule: 0 9 * * *\npriority: high\n---\nBody.";
        let before = Version::new(1, 3, 26);
        let refusal = verdict(text.as_bytes(), before).expect("refused at 1.3.26");
        assert!(refusal.message.contains("\"schedule\""), "{refusal:?}");
        let span = refusal.span.expect("the key is pointed at");
        assert_eq!(&text[span], "schedule");
        assert!(loads(text, boundary::AGENTMD_FRONTMATTER_SCHEDULING));
    }

    #[test]
    fn mcp_access_and_per_machine_keys_follow_their_boundaries() {
        let mcp = "---\nmcpAccess: none\n---\nB";
        assert!(!loads(mcp, Version::new(1, 3, 291)));
        assert!(loads(mcp, boundary::AGENTMD_FRONTMATTER_MCP_ACCESS));
        let per = "---\nperMachineIndependent: true\n---\nB";
        assert!(!loads(per, Version::new(1, 3, 757)));
        assert!(loads(per, boundary::AGENTMD_FRONTMATTER_PER_MACHINE));
    }

    #[test]
    fn unknown_keys_are_refused_at_every_version() {
        for version in [OLD, HEAD] {
            assert!(!loads("---\nname: A\nauthor: me\n---\nB", version));
            assert!(!loads("---\n\"quoted key\": v\n---\nB", version));
        }
    }

    #[test]
    fn anchors_and_aliases_are_refused_but_ampersands_in_text_are_not() {
        for bad in [
            "---\nname: &n A\ndescription: *n\n---\nB",
            "---\ntoolAllowlist: [Bash, &t Read]\n---\nB",
            "---\ntoolAllowlist:\n  - &t Bash\n  - *t\n---\nB",
            "---\ngrounding:\n  requiresIdentity: &x true\n---\nB",
            "---\nname: !!str &n A\n---\nB",
        ] {
            assert!(!loads(bad, HEAD), "{bad:?}");
        }
        for good in [
            "---\nname: \"Bash & Read\"\ndescription: R&D *report*\n---\nB",
            "---\ndescription: |\n  *bold* and &amp;\n---\nB",
            "---\ntoolAllowlist: [\"*\"]\n---\nB",
        ] {
            assert!(loads(good, HEAD), "{good:?}");
        }
    }

    #[test]
    fn frontmatter_that_is_not_a_mapping_is_refused() {
        assert!(!loads("---\n- a\n- b\n---\nB", HEAD));
        assert!(!loads("---\njust text\n---\nB", HEAD));
        assert!(loads("---\n# only a comment\n---\nB", HEAD));
    }

    #[test]
    fn shapes_instar_refuses_are_refused_and_the_rest_loads() {
        for bad in [
            "---\nname:\n---\nB",
            "---\nname: \"  \"\n---\nB",
            "---\ndescription: [a]\n---\nB",
            "---\nnotificationMode: sometimes\n---\nB",
            "---\ntoolAllowlist: Bash\n---\nB",
            "---\nname:\n  sub: x\n---\nB",
            "---\nnotificationMode:\n  - never\n---\nB",
            "---\nname: A\nname: B\n---\nB",
        ] {
            assert!(!loads(bad, HEAD), "{bad:?}");
        }
        for good in [
            "---\nname: 123\nnotificationMode: on-alert # quiet\ntoolAllowlist: \"*\"\n---\nB",
            "---\ndescription: >\n  folded\n  text\ntoolAllowlist:\n  - Bash\n---\nB",
            "---\ngrounding:\n  requiresIdentity: true\n  contextFiles: [a.md]\n---\nB",
        ] {
            assert!(loads(good, HEAD), "{good:?}");
        }
    }

    #[test]
    fn size_caps_apply() {
        let big_body = format!("---\nname: A\n---\n{}", "x".repeat(MAX_BODY_BYTES + 1));
        assert!(!loads(&big_body, HEAD));
        let big_front = format!(
            "---\ndescription: {}\n---\nB",
            "x".repeat(MAX_FRONTMATTER_BYTES)
        );
        assert!(!loads(&big_front, HEAD));
        assert!(loads(
            &format!("---\nname: A\n---\n{}", "x".repeat(MAX_BODY_BYTES)),
            HEAD
        ));
    }
}
