//! Viewer candidates that arrive for the standby session before its answer: kept per viewer
//! id, bounded in candidates per viewer and in viewers. When a new viewer id finds the table
//! full, the oldest id's candidates go: a burst of junk ids can only cost a real viewer the
//! early candidates it sent before the burst, never lock it out for the standby's lifetime.

use std::collections::VecDeque;

use super::{MAX_EARLY_CANDIDATES, MAX_EARLY_VIEWERS};
use crate::signaling::protocol::CandidateInit;

/// What happened to one early candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Yes,
    /// Its viewer already has [`MAX_EARLY_CANDIDATES`].
    ViewerFull,
    /// Kept, and the oldest viewer's candidates were dropped to make room.
    EvictedOldest,
}

#[derive(Debug, Default)]
pub struct EarlyCandidates {
    /// Oldest viewer first.
    by_viewer: VecDeque<(String, Vec<CandidateInit>)>,
}

impl EarlyCandidates {
    pub fn push(&mut self, viewer: String, candidate: CandidateInit) -> Kept {
        if let Some((_, list)) = self.by_viewer.iter_mut().find(|(v, _)| *v == viewer) {
            if list.len() >= MAX_EARLY_CANDIDATES {
                return Kept::ViewerFull;
            }
            list.push(candidate);
            return Kept::Yes;
        }
        let mut kept = Kept::Yes;
        if self.by_viewer.len() >= MAX_EARLY_VIEWERS {
            self.by_viewer.pop_front();
            kept = Kept::EvictedOldest;
        }
        self.by_viewer.push_back((viewer, vec![candidate]));
        kept
    }

    /// `viewer`'s candidates, in arrival order; the rest are forgotten.
    pub fn take(&mut self, viewer: &str) -> Vec<CandidateInit> {
        let list = self
            .by_viewer
            .iter_mut()
            .find(|(v, _)| v == viewer)
            .map(|(_, l)| std::mem::take(l))
            .unwrap_or_default();
        self.by_viewer.clear();
        list
    }

    pub fn clear(&mut self) {
        self.by_viewer.clear();
    }

    /// Viewers with candidates kept.
    #[cfg(test)]
    pub fn viewers(&self) -> usize {
        self.by_viewer.len()
    }

    /// Candidates kept in all.
    #[cfg(test)]
    pub fn candidates(&self) -> usize {
        self.by_viewer.iter().map(|(_, l)| l.len()).sum()
    }
}
