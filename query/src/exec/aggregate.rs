//! Aggregate results: `count` and the reductions (`Min`, `Max`, `Sum`, `Avg`) over a set of
//! nodes, null where there is no value.

use quiver_engine::{Dense, Snapshot, ValueView};

use super::{R, filter, write};
use crate::plan::AggSel;

/// The aggregate values of a set of nodes, one per item of `sel`.
pub(super) fn aggregate(snap: &Snapshot, sel: &AggSel, nodes: &[Dense]) -> R<Vec<write::AggValue>> {
    use crate::schema::api::Reduce;
    use write::AggValue;
    let mut out = Vec::with_capacity(sel.items.len());
    for (_, item) in &sel.items {
        out.push(match item {
            crate::plan::AggItem::Typename(t) => AggValue::Text(t.clone()),
            crate::plan::AggItem::Count => AggValue::Int(nodes.len() as i64),
            crate::plan::AggItem::Reduce { props, op, .. } => {
                let mut best: Option<quiver_engine::Value> = None;
                let (mut sum_i, mut sum_f, mut n, mut overflow) = (0i64, 0f64, 0u64, false);
                for &d in nodes {
                    let Some(p) = filter::prop_for(props, snap.node_type(d)) else { continue };
                    let Some(v) = snap.value(d, p)? else { continue };
                    n += 1;
                    match v {
                        ValueView::Int(i) => {
                            sum_f += i as f64;
                            match sum_i.checked_add(i) {
                                Some(s) => sum_i = s,
                                None => overflow = true,
                            }
                        }
                        ValueView::Float(x) => sum_f += x,
                        _ => {}
                    }
                    let better = match (&best, op) {
                        (None, _) => true,
                        (Some(b), Reduce::Min) => b.as_scalar_view().is_some_and(|b| v.total_cmp(&b).is_lt()),
                        (Some(b), Reduce::Max) => b.as_scalar_view().is_some_and(|b| v.total_cmp(&b).is_gt()),
                        _ => false,
                    };
                    if better && matches!(op, Reduce::Min | Reduce::Max) {
                        best = Some(v.to_value());
                    }
                }
                match op {
                    _ if n == 0 => AggValue::Null,
                    Reduce::Min | Reduce::Max => best.map_or(AggValue::Null, AggValue::Value),
                    Reduce::Sum => {
                        let ints = nodes.first().and_then(|&d| {
                            props.iter().find(|(t, _)| *t == snap.node_type(d)).map(|(_, p)| *p)
                        });
                        let is_int = ints.is_some_and(|p| {
                            snap.catalog().property(p).is_ok_and(|p| p.ty == quiver_engine::ScalarType::Int)
                        });
                        if is_int && !overflow { AggValue::Int(sum_i) } else { AggValue::Float(sum_f) }
                    }
                    Reduce::Avg => AggValue::Float(sum_f / n as f64),
                }
            }
        });
    }
    Ok(out)
}
