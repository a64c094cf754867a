//! Extending a chain (van Renesse and Schneider, section 3): a new node, or one whose
//! history is not whole, asks the manager for a place at the tail, copies its
//! predecessor's history, and only then serves. A node restarted on a whole history first
//! asks to resume its place (so that a chain whose every node restarted serves again
//! without a copy to give); told no, it joins. Each request is repeated on the node's
//! resend timer until it is answered, and each answer is safe to receive twice.

use super::node::{ChainBug, ChainNode, Joining, NodeState};
use super::store::latest;
use super::types::{Config, Msg};
use coord_specs::kv::{KvOp, KvRet};
use stateright::actor::{Id, Out};
use std::borrow::Cow;

type M = Msg<KvOp, KvRet>;

impl ChainNode {
    /// A node whose history is not whole (it failed and the chain may have moved on
    /// without it), or not in the chain at epoch 0 (a new node), joins at the tail: it
    /// saves that its history is no longer whole, asks the manager, then copies its
    /// predecessor's history. Its stored history may hold updates the chain never
    /// committed, so it is not trusted (unless the `KeepStale` bug is on).
    pub(super) fn join(&self, state: &mut NodeState, o: &mut Out<Self>) {
        let copied = if self.has_bug(ChainBug::KeepStale) {
            state.history.len()
        } else {
            0
        };
        let epoch = state.config.epoch;
        state.joining = Some(Joining {
            copied,
            asked: epoch,
            resume: false,
        });
        self.save(state, o);
        o.broadcast(&self.managers, &Msg::Join { epoch });
    }

    /// A node restarted on a whole history asks the manager whether it keeps its place,
    /// serving nothing until it is told.
    pub(super) fn resume(&self, state: &mut NodeState, o: &mut Out<Self>) {
        let epoch = state.config.epoch;
        state.joining = Some(Joining {
            copied: 0,
            asked: epoch,
            resume: true,
        });
        o.broadcast(&self.managers, &Msg::Resume { epoch });
    }

    /// The manager's yes to a resuming node: it serves again in `config` (its own epoch,
    /// or a newer one that still names it) with the history it stored, as a node that
    /// adopts a new configuration does.
    pub(super) fn on_resumed(
        &self,
        me: Id,
        state: &mut Cow<NodeState>,
        config: Config,
        o: &mut Out<Self>,
    ) {
        let resuming = state.joining.is_some_and(|j| j.resume);
        if !resuming || !config.members.contains(&me) || config.epoch < state.config.epoch {
            return;
        }
        state.to_mut().joining = None;
        self.install(me, state, config, o);
    }

    /// The joining node's next request. Placed (a member with a predecessor, in an epoch
    /// newer than its last `Join`), it asks its predecessor for the rest of its copy;
    /// otherwise it asks the manager for a place at the tail, at its newest epoch.
    pub(super) fn resume_join(&self, me: Id, state: &mut Cow<NodeState>, o: &mut Out<Self>) {
        let Some(joining) = state.joining else {
            return;
        };
        let config = state.config.clone();
        if joining.resume {
            return match config.members.contains(&me) {
                true => o.broadcast(
                    &self.managers,
                    &Msg::Resume {
                        epoch: joining.asked,
                    },
                ),
                false => self.join(state.to_mut(), o),
            };
        }
        match config.predecessor(me) {
            Some(prev) if config.epoch > joining.asked => {
                let from = joining.copied;
                o.send(prev, Msg::Fetch { config, from });
            }
            _ => {
                let epoch = config.epoch;
                if joining.asked != epoch {
                    let asked = epoch;
                    state.to_mut().joining = Some(Joining { asked, ..joining });
                }
                o.broadcast(&self.managers, &Msg::Join { epoch });
            }
        }
    }

    /// The old tail's side: the joining successor gets the history from `from` on, in
    /// chunks, with how much of it is committed; updates that arrive later are forwarded
    /// after the copy. A repeated `Fetch` (its copy was lost) is answered again. A node
    /// that is itself still joining has no trusted history to give.
    pub(super) fn on_fetch(
        &self,
        me: Id,
        state: &mut Cow<NodeState>,
        src: Id,
        from: usize,
        o: &mut Out<Self>,
    ) {
        let len = state.history.len();
        if state.is_joining() || state.config.successor(me) != Some(src) || from > len {
            return;
        }
        if !state.synced {
            state.to_mut().synced = true;
        }
        let chunk = self.copy_chunk.max(1);
        let mut at = from;
        loop {
            let updates: Vec<_> = state.history.skip(at).iter().take(chunk).cloned().collect();
            let n = updates.len();
            o.send(
                src,
                Msg::Copy {
                    config: state.config.clone(),
                    from: at,
                    updates,
                    total: len,
                    committed: state.committed,
                },
            );
            at += n;
            if at == len {
                break;
            }
        }
    }

    /// The joining node's side: a chunk that continues the copy replaces whatever stale
    /// updates followed the copied prefix (any other chunk is a repeat or out of order,
    /// and ignored); once the node holds all `total` updates it is a full member, and as
    /// the tail it commits them (answering the clients of those its predecessor had not
    /// seen committed).
    pub(super) fn on_copy(&self, me: Id, state: &mut Cow<NodeState>, copy: M, o: &mut Out<Self>) {
        let Msg::Copy {
            from,
            updates,
            total,
            committed,
            ..
        } = copy
        else {
            return;
        };
        let Some(joining) = state.joining.filter(|j| !j.resume && j.copied == from) else {
            return;
        };
        let state = state.to_mut();
        if state.history.len() > from {
            state.history.truncate(from);
            state.cuts += 1;
            state.latest = latest(&state.history);
        }
        for update in updates {
            state.append(update);
        }
        let copied = state.history.len();
        state.joining = (copied < total).then_some(Joining { copied, ..joining });
        self.save(state, o);
        if !state.is_joining() {
            state.commit_to(committed);
            if state.is_tail(me) {
                self.commit_all(me, state, o);
            }
        }
    }
}
