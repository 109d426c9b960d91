//! The checks that make a request a guest (sizes, pages, nodes, slots) before any plan.

use super::{GuestError, GuestRequest, KIB, MAX_SLOTS};

pub(super) fn validate(req: &GuestRequest) -> Result<(), GuestError> {
    if req.ram == 0 {
        return Err(GuestError::NoRam);
    }
    if req.devices == 0 {
        return Err(GuestError::NoDevice);
    }
    if let Some(b) = req.phys_bits.filter(|b| !(32..=64).contains(b)) {
        return Err(GuestError::BadPhysBits(b));
    }
    let page = req.backing_page;
    if page < 4 * KIB || !page.is_power_of_two() {
        return Err(GuestError::BadPage(page));
    }
    let multiple = |what: String, size: u64| {
        if size % page == 0 {
            Ok(())
        } else {
            Err(GuestError::NotPageMultiple { what, size, page })
        }
    };
    multiple("--ram".into(), req.ram)?;
    if !req.nodes.is_empty() {
        let sum = req
            .nodes
            .iter()
            .try_fold(0u64, |s, &n| s.checked_add(n))
            .unwrap_or(u64::MAX);
        if sum != req.ram {
            return Err(GuestError::NodesMismatch {
                nodes: sum,
                ram: req.ram,
            });
        }
        for (i, &n) in req.nodes.iter().enumerate() {
            if n == 0 {
                return Err(GuestError::BadSize {
                    what: format!("NUMA node {i}"),
                    detail: "0 bytes".into(),
                });
            }
            multiple(format!("NUMA node {i}"), n)?;
        }
    }
    if req.fixed.len() > MAX_SLOTS {
        return Err(GuestError::TooManyFixed(req.fixed.len()));
    }
    for (i, f) in req.fixed.iter().enumerate() {
        let what = format!("fixed RAM region {i}");
        if f.size == 0 {
            return Err(GuestError::BadSize {
                what,
                detail: "0 bytes".into(),
            });
        }
        if f.at.checked_add(f.size - 1).is_none() {
            return Err(GuestError::BadSize {
                what,
                detail: format!("{:#x} + {:#x} bytes runs past 2^64", f.at, f.size),
            });
        }
        multiple(what.clone(), f.size)?;
        if f.at % page != 0 {
            return Err(GuestError::NotPageMultiple {
                what: format!("{what}'s address"),
                size: f.at,
                page,
            });
        }
    }
    if let Some(i) = req.bars.iter().position(|&b| b == 0) {
        return Err(GuestError::BadSize {
            what: format!("BAR {i}"),
            detail: "0 bytes".into(),
        });
    }
    Ok(())
}
