//! A transaction's steps, in order, with its latest run of fresh nodes held in columns.
//!
//! An import creates nodes with uids in sequence and sets each one's properties: two or more
//! steps a node, millions a batch. While the steps keep to that shape they are held as one
//! run (the nodes, then per property the values' slots) and written as one
//! [`Op::CreateNodes`] and one [`Op::SetProps`] per property. Any other step first closes
//! the run.
//!
//! Writing the run's creations before its values reorders steps, which is sound because each
//! value is set on a node of the run after its creation, and the run holds only these two
//! kinds of steps (a second value for the same node and property closes the run instead).

use crate::catalog::{PropId, TypeId};
use crate::record::{Op, PropRun, ValueSlots};

/// The steps of a transaction.
#[derive(Default)]
pub(super) struct Steps {
    /// Steps before the run.
    ops: Vec<Op>,
    run: Option<NodeRun>,
}

/// Nodes `first..first + count` of type `ty`, with values set on them in uid order.
struct NodeRun {
    ty: TypeId,
    first: u64,
    count: u64,
    /// Columns of values. A property whose values skip a node has a column for each stretch
    /// (they hold different nodes, so their order does not matter).
    columns: Vec<Column>,
}

/// Property `prop` of nodes `first..first + slots.len()`: where their values sit.
struct Column {
    prop: PropId,
    first: u64,
    slots: Vec<(u32, u32)>,
}

/// Runs shorter than this are written as single steps (a mutation's few nodes keep the
/// encoding they always had).
const MIN_RUN: u64 = 4;

impl Steps {
    /// Number of steps, as if each creation and value were one.
    pub(super) fn len(&self) -> usize {
        let run = self
            .run
            .as_ref()
            .map_or(0, |r| r.count as usize + r.columns.iter().map(|c| c.slots.len()).sum::<usize>());
        self.ops.len() + run
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.run.is_none()
    }

    /// Node `uid` of type `ty` comes into being.
    pub(super) fn create(&mut self, uid: u64, ty: TypeId) {
        if let Some(run) = &mut self.run
            && run.ty == ty
            && run.first.checked_add(run.count) == Some(uid)
            && uid != u64::MAX
        {
            run.count += 1;
            return;
        }
        self.close_run();
        self.run = Some(NodeRun { ty, first: uid, count: 1, columns: Vec::new() });
    }

    /// Property `prop` of `uid` takes the value at `slot` of the values area.
    pub(super) fn set(&mut self, uid: u64, prop: PropId, slot: (u32, u32)) {
        if let Some(run) = &mut self.run
            && uid >= run.first
            && uid - run.first < run.count
        {
            // The property's latest column takes the value if it ends right before `uid`; past
            // its end (or with none yet) a new column starts; a node it already holds closes
            // the run (a second value replaces the first: steps must stay in order).
            let latest = run.columns.iter_mut().rev().find(|c| c.prop == prop);
            match latest {
                Some(c) if c.first + c.slots.len() as u64 == uid => {
                    c.slots.push(slot);
                    return;
                }
                Some(c) if c.first + (c.slots.len() as u64) < uid => {}
                Some(_) => {
                    self.push(Op::SetProp { uid, prop, at: slot.0, len: slot.1 });
                    return;
                }
                None => {}
            }
            run.columns.push(Column { prop, first: uid, slots: vec![slot] });
            return;
        }
        self.push(Op::SetProp { uid, prop, at: slot.0, len: slot.1 });
    }

    /// Any other step.
    pub(super) fn push(&mut self, op: Op) {
        self.close_run();
        self.ops.push(op);
    }

    /// The steps with the run closed, for reading them in order or changing the last.
    pub(super) fn ops(&mut self) -> &mut Vec<Op> {
        self.close_run();
        &mut self.ops
    }

    /// Every step, in an order equivalent to the one they were taken in.
    pub(super) fn into_ops(mut self) -> Vec<Op> {
        self.close_run();
        self.ops
    }

    fn close_run(&mut self) {
        let Some(run) = self.run.take() else { return };
        if run.count < MIN_RUN {
            // Node by node, each node's values after it, as the steps were taken.
            for uid in (0..run.count).map(|i| run.first + i) {
                self.ops.push(Op::CreateNode { uid, ty: run.ty });
                for c in &run.columns {
                    if let Some(&(at, len)) = uid.checked_sub(c.first).and_then(|i| c.slots.get(i as usize)) {
                        self.ops.push(Op::SetProp { uid, prop: c.prop, at, len });
                    }
                }
            }
            return;
        }
        self.ops.push(Op::CreateNodes { first: run.first, count: run.count, ty: run.ty });
        for Column { prop, first, slots } in run.columns {
            self.ops.push(match slots[..] {
                [(at, len)] => Op::SetProp { uid: first, prop, at, len },
                _ => Op::SetProps(Box::new(PropRun { prop, first, slots: ValueSlots(slots) })),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(uid: u64, prop: PropId, at: u32) -> Op {
        Op::SetProp { uid, prop, at, len: 9 }
    }

    #[test]
    fn fresh_nodes_in_sequence_become_columns() {
        let mut steps = Steps::default();
        for (i, uid) in (10..15).enumerate() {
            steps.create(uid, 2);
            steps.set(uid, 7, (18 * i as u32, 9));
            steps.set(uid, 8, (18 * i as u32 + 9, 9));
        }
        assert_eq!(steps.len(), 15);
        let slots = |from: u32| ValueSlots((0..5).map(|i| (from + 18 * i, 9)).collect());
        assert_eq!(
            steps.into_ops(),
            vec![
                Op::CreateNodes { first: 10, count: 5, ty: 2 },
                Op::SetProps(Box::new(PropRun { prop: 7, first: 10, slots: slots(0) })),
                Op::SetProps(Box::new(PropRun { prop: 8, first: 10, slots: slots(9) })),
            ]
        );
    }

    #[test]
    fn a_short_run_stays_single_steps_in_the_order_taken() {
        let mut steps = Steps::default();
        steps.create(10, 2);
        steps.set(10, 7, (0, 9));
        steps.create(11, 2);
        steps.set(11, 7, (9, 9));
        assert_eq!(
            steps.into_ops(),
            vec![
                Op::CreateNode { uid: 10, ty: 2 },
                set(10, 7, 0),
                Op::CreateNode { uid: 11, ty: 2 },
                set(11, 7, 9)
            ]
        );
    }

    #[test]
    fn steps_that_break_the_shape_close_the_run_first() {
        let mut steps = Steps::default();
        for uid in 1..=4 {
            steps.create(uid, 0);
        }
        // A value skipping node 1 of the run, a second value for node 1, another type, a gap.
        steps.set(2, 5, (0, 9));
        steps.set(1, 6, (9, 9));
        steps.set(1, 6, (18, 9));
        let ops = steps.ops().clone();
        assert_eq!(
            ops,
            vec![Op::CreateNodes { first: 1, count: 4, ty: 0 }, set(2, 5, 0), set(1, 6, 9), set(1, 6, 18)],
            "{ops:?}"
        );
        let mut steps = Steps::default();
        for uid in [1, 2, 3, 4, 5] {
            steps.create(uid, 0);
        }
        steps.create(6, 1);
        steps.create(8, 1);
        steps.push(Op::DeleteNode { uid: 8 });
        let ops = steps.into_ops();
        assert_eq!(
            ops,
            vec![
                Op::CreateNodes { first: 1, count: 5, ty: 0 },
                Op::CreateNode { uid: 6, ty: 1 },
                Op::CreateNode { uid: 8, ty: 1 },
                Op::DeleteNode { uid: 8 },
            ]
        );
    }

    #[test]
    fn values_that_skip_nodes_make_a_column_per_stretch() {
        let mut steps = Steps::default();
        for uid in 1..=6 {
            steps.create(uid, 0);
            if uid != 3 {
                steps.set(uid, 5, (9 * uid as u32, 9));
            }
        }
        steps.set(6, 9, (99, 9));
        let column = |first: u64, uids: std::ops::RangeInclusive<u32>| {
            Op::SetProps(Box::new(PropRun {
                prop: 5,
                first,
                slots: ValueSlots(uids.map(|u| (9 * u, 9)).collect()),
            }))
        };
        assert_eq!(steps.len(), 6 + 5 + 1);
        assert_eq!(
            steps.into_ops(),
            vec![
                Op::CreateNodes { first: 1, count: 6, ty: 0 },
                column(1, 1..=2),
                column(4, 4..=6),
                set(6, 9, 99)
            ]
        );
    }

    #[test]
    fn the_last_uid_ends_a_run() {
        let mut steps = Steps::default();
        steps.create(u64::MAX - 1, 0);
        steps.create(u64::MAX, 0);
        assert_eq!(steps.len(), 2);
        assert!(matches!(steps.into_ops()[..], [Op::CreateNode { .. }, Op::CreateNode { .. }]));
    }
}
