//! Compiling `-e` literals and `-E` regexes into one searcher.
//!
//! One literal uses `memchr::memmem`, a few use one Aho-Corasick
//! automaton, more than 64 use Wu-Manber (see `multi`), and any regex
//! turns the whole set into one multi-pattern regex (literals escaped
//! into it), so each byte is looked at once whatever the mix. Regexes
//! work on bytes, not text: memory is not UTF-8, so `.` matches any byte
//! but `\n`, as with `grep -a` in the C locale.
//!
//! Every pattern has a longest possible match, which bounds how far
//! chunks must overlap so that a match across a chunk boundary is seen
//! whole by exactly one chunk.

use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;

use crate::multi::WuManber;
use regex_automata::meta;
use regex_automata::util::syntax;

/// Up to this many literals the automaton's SIMD prefilter (Teddy) is
/// fast; past it the automaton looks at every byte and Wu-Manber wins.
const TEDDY_LIMIT: usize = 64;

/// Default bound on a regex match that has no bound of its own (`.*`).
pub const DEFAULT_MAX_MATCH_LEN: usize = 256;

/// Why the patterns could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("no pattern given: use -e LITERAL or -E REGEX")]
    Missing,
    #[error("empty pattern: a pattern needs at least one byte")]
    Empty,
    #[error("regex {0:?} can match the empty string, which is everywhere")]
    MatchesEmpty(String),
    #[error("invalid regex {0:?}: {1}")]
    Invalid(String, String),
    #[error("patterns: {0}")]
    Build(String),
}

enum Engine {
    One(Box<memmem::Finder<'static>>),
    Many(AhoCorasick),
    Wide(Box<WuManber>),
    Regex(Box<meta::Regex>),
}

/// The compiled patterns of one run.
pub struct Patterns {
    /// The patterns as the user gave them, indexed by pattern id.
    names: Vec<String>,
    engine: Engine,
    /// Longest possible match in bytes; at least 1.
    max_len: usize,
}

impl Patterns {
    /// Compiles literals and regexes; literals come first in the ids.
    ///
    /// `max_match_len` caps the overlap for regexes whose matches are
    /// unbounded (or longer than it); such matches may be cut short at a
    /// chunk boundary.
    pub fn new(
        literals: &[String],
        regexes: &[String],
        max_match_len: usize,
    ) -> Result<Patterns, PatternError> {
        if literals.is_empty() && regexes.is_empty() {
            return Err(PatternError::Missing);
        }
        if literals.iter().chain(regexes).any(|p| p.is_empty()) {
            return Err(PatternError::Empty);
        }
        let names: Vec<String> =
            literals.iter().chain(regexes).cloned().collect();
        if regexes.is_empty() {
            let max_len = literals.iter().map(|l| l.len()).max().unwrap_or(1);
            let bytes: Vec<Vec<u8>> =
                literals.iter().map(|l| l.as_bytes().to_vec()).collect();
            let wide = if literals.len() > TEDDY_LIMIT {
                WuManber::new(&bytes)
            } else {
                None
            };
            let engine = if let Some(wm) = wide {
                Engine::Wide(Box::new(wm))
            } else if literals.len() == 1 {
                let finder = memmem::Finder::new(literals[0].as_bytes());
                Engine::One(Box::new(finder.into_owned()))
            } else {
                // Leftmost-longest so that, of `key` and `keystore` at the
                // same place, the longer is reported.
                let ac = AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(literals)
                    .map_err(|e| PatternError::Build(e.to_string()))?;
                Engine::Many(ac)
            };
            return Ok(Patterns { names, engine, max_len });
        }

        let mut sources: Vec<String> =
            literals.iter().map(|l| regex_syntax::escape(l)).collect();
        let mut max_len = literals.iter().map(|l| l.len()).max().unwrap_or(1);
        for re in regexes {
            let hir = parser().parse(re).map_err(|e| {
                PatternError::Invalid(re.clone(), one_line(&e.to_string()))
            })?;
            let props = hir.properties();
            if props.minimum_len() == Some(0) {
                return Err(PatternError::MatchesEmpty(re.clone()));
            }
            let bound = props.maximum_len().unwrap_or(max_match_len);
            max_len = max_len.max(bound.min(max_match_len));
            sources.push(re.clone());
        }
        let regex = meta::Regex::builder()
            .syntax(syntax_config())
            .configure(engine_config())
            .build_many(&sources)
            .map_err(|e| PatternError::Build(one_line(&e.to_string())))?;
        Ok(Patterns { names, engine: Engine::Regex(Box::new(regex)), max_len })
    }

    /// The longest match any pattern can make, as bounded above.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// How many patterns there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Never true: construction refuses an empty set.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The pattern with id `id`, as given on the command line.
    pub fn name(&self, id: usize) -> &str {
        &self.names[id]
    }

    /// Calls `found(range, pattern_id)` for each match in `hay` that
    /// starts at or after `from`, left to right, matches not
    /// overlapping. Bytes before `from` are context for regex assertions
    /// such as `\b`; ranges are offsets into `hay`.
    pub fn for_each(
        &self,
        hay: &[u8],
        from: usize,
        mut found: impl FnMut(Range<usize>, usize),
    ) {
        let tail = &hay[from..];
        let shift = |r: Range<usize>| r.start + from..r.end + from;
        match &self.engine {
            Engine::One(finder) => {
                let n = finder.needle().len();
                for at in finder.find_iter(tail) {
                    found(shift(at..at + n), 0);
                }
            }
            Engine::Many(ac) => {
                for m in ac.find_iter(tail) {
                    found(shift(m.range()), m.pattern().as_usize());
                }
            }
            Engine::Wide(wm) => wm.for_each(tail, |r, id| found(shift(r), id)),
            Engine::Regex(re) => {
                let input = regex_automata::Input::new(hay).range(from..);
                for m in re.find_iter(input) {
                    found(m.range(), m.pattern().as_usize());
                }
            }
        }
    }
}

/// Byte-oriented syntax: Unicode classes off so `.` and `\w` work on
/// bytes, and UTF-8 not required of matches.
fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

/// Bounds on the regex engine's memory. Only match spans are needed,
/// never capture groups, and thousands of patterns must fail with an
/// error rather than grow memscan to gigabytes.
fn engine_config() -> meta::Config {
    meta::Config::new()
        .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
        .nfa_size_limit(Some(64 << 20))
        .dfa_size_limit(Some(16 << 20))
        .onepass_size_limit(Some(4 << 20))
        .hybrid_cache_capacity(8 << 20)
}

fn parser() -> regex_syntax::Parser {
    regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build()
}

/// Regex errors come as several lines with a caret; memscan's errors are
/// one line each.
fn one_line(text: &str) -> String {
    let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(text);
    last.trim().trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(p: &Patterns, hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        p.for_each(hay, 0, |r, id| out.push((r.start, r.end, id)));
        out
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_literal_finds_every_occurrence() {
        let p = Patterns::new(&strings(&["topsecret_"]), &[], 256).unwrap();
        let hay = b"xx topsecret_001 \0\0topsecret_002";
        assert_eq!(matches(&p, hay), [(3, 13, 0), (19, 29, 0)]);
        assert_eq!(p.max_len(), 10);
    }

    #[test]
    fn many_literals_report_their_ids() {
        let p =
            Patterns::new(&strings(&["key", "keystore", "pass"]), &[], 256)
                .unwrap();
        let hay = b"keystore pass";
        assert_eq!(matches(&p, hay), [(0, 8, 1), (9, 13, 2)]);
        assert_eq!(p.max_len(), 8);
    }

    #[test]
    fn regex_is_bytewise_and_bounded() {
        let re = "topsecret_[0-9]{3}_[0-9a-f]{32}";
        let p = Patterns::new(&[], &strings(&[re]), 256).unwrap();
        assert_eq!(p.max_len(), 46);
        let mut hay = b"\xff\xfetopsecret_042_".to_vec();
        hay.extend_from_slice(&[b'a'; 32]);
        hay.push(0x80);
        assert_eq!(matches(&p, &hay), [(2, 48, 0)]);

        // `.` crosses invalid UTF-8 bytes, as grep -a does.
        let p = Patterns::new(&[], &strings(&["ab.cd"]), 256).unwrap();
        assert_eq!(matches(&p, b"ab\xffcd"), [(0, 5, 0)]);
    }

    #[test]
    fn unbounded_regex_uses_the_cap() {
        let p = Patterns::new(&[], &strings(&["tok_.*"]), 300).unwrap();
        assert_eq!(p.max_len(), 300);
    }

    #[test]
    fn literals_and_regexes_mix_with_literal_ids_first() {
        let p =
            Patterns::new(&strings(&["a.b"]), &strings(&["x[0-9]+y"]), 256)
                .unwrap();
        // The literal's dot is literal.
        assert_eq!(matches(&p, b"acb a.b x12y"), [(4, 7, 0), (8, 12, 1)]);
    }

    #[test]
    fn bad_patterns_are_clear_errors() {
        assert!(matches!(
            Patterns::new(&[], &[], 256),
            Err(PatternError::Missing)
        ));
        assert!(matches!(
            Patterns::new(&strings(&[""]), &[], 256),
            Err(PatternError::Empty)
        ));
        assert!(matches!(
            Patterns::new(&[], &strings(&["a*"]), 256),
            Err(PatternError::MatchesEmpty(_))
        ));
        let err =
            Patterns::new(&[], &strings(&["(unclosed"]), 256).err().unwrap();
        assert!(matches!(err, PatternError::Invalid(..)));
        assert!(!err.to_string().contains('\n'), "{err}");
    }
}
